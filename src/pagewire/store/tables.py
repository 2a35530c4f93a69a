"""The schema, as SQLAlchemy Core tables. Alembic migrations (``migrations/``) create it.

Times are seconds since the epoch (double precision) on both engines, set from the
database's own clock (``db_now``), so leases are judged by one clock however many
machines run workers, and interval arithmetic is plain addition on both dialects.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Time = sa.Double
Id = sa.String(40)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Time, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    # sha256 of the key: keys are 32 random bytes, so an unsalted fast hash is enough
    # and lets a request find its key with one indexed lookup.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(24), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("revoked_at", Time),
    sa.Column("last_used_at", Time),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("lease_token", sa.String(40)),
    sa.Column("lease_expires_at", Time),
    sa.Column("worker_id", sa.String(120)),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.text("false")),
    # input
    sa.Column("file_name", sa.String(512)),
    sa.Column("file_url", sa.Text),
    sa.Column("media_type", sa.String(200)),
    sa.Column("sha256", sa.String(64)),
    sa.Column("size", sa.BigInteger),
    sa.Column("blob_key", sa.String(200)),
    sa.Column("options", Json, nullable=False),
    sa.Column("metadata", Json, nullable=False),
    sa.Column("request", Json, nullable=False),
    sa.Column("idempotency_key", sa.String(255)),
    sa.Column("idempotency_fingerprint", sa.String(64)),
    # progress and outcome
    sa.Column("pages_done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pages_total", sa.Integer),
    sa.Column("page_count", sa.Integer),
    sa.Column("result", Json),
    sa.Column("result_blob_key", sa.String(200)),
    sa.Column("result_size", sa.BigInteger),
    sa.Column("error", Json),
    # the last event's per-job sequence number
    sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("started_at", Time),
    sa.Column("finished_at", Time),
    # 0011: a shard (a page range of a long document, store/shards.py) names its job
    sa.Column("parent_id", Id),
    sa.UniqueConstraint("org_id", "idempotency_key", name="uq_jobs_org_idempotency_key"),
    sa.Index(
        "ix_jobs_pending",
        sa.text("priority DESC"),
        "id",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    # Fair share (store/fair_claim.py): the organizations with pending jobs, skipped
    # through one probe each, each one's next jobs in its own priority order, and
    # (ix_jobs_running_org) how many of its jobs are processing.
    sa.Index(
        "ix_jobs_pending_org",
        "org_id",
        sa.text("priority DESC"),
        "id",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    sa.Index(
        "ix_jobs_running_org",
        "org_id",
        postgresql_where=sa.text("status = 'processing'"),
        sqlite_where=sa.text("status = 'processing'"),
    ),
    sa.Index(
        "ix_jobs_leases",
        "lease_expires_at",
        postgresql_where=sa.text("status = 'processing'"),
        sqlite_where=sa.text("status = 'processing'"),
    ),
    sa.Index("ix_jobs_org_id", "org_id", "id"),
    sa.Index("ix_jobs_parent", "parent_id"),
)

endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("event_types", Json),  # null: every event type
    sa.Column("headers", Json, nullable=False),
    sa.Column("rate_limit", sa.Integer),  # deliveries per second; null: no limit
    # 0007: the rate limit's token bucket, shared by every dispatcher: the tokens left
    # when a claim last took some, and when (null: full).
    sa.Column("rate_tokens", sa.Double),
    sa.Column("rate_refilled_at", Time),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("disabled_reason", sa.Text),
    # Sealed (pagewire.security.encryption): "pw1:<key id>:<base64url>", never the whsec_ secret;
    # in headers, each value is sealed and the names stay readable.
    sa.Column("secret", sa.String(200), nullable=False),
    sa.Column("previous_secret", sa.String(200)),
    sa.Column("previous_secret_expires_at", Time),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    # 0002: the first failed attempt since the last success (null: healthy), judged
    # by the database's clock; an endpoint failing for long enough is disabled.
    sa.Column("failing_since", Time),
    sa.Column("disabled_at", Time),
    sa.Index("ix_endpoints_org_id", "org_id", "id"),
)

events = sa.Table(
    "events",
    metadata,
    # msg_...: the webhook-id of every delivery of this event, on every retry
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("job_id", Id),
    sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Index("ix_events_org_id", "org_id", "id"),
    sa.Index("ix_events_job_id", "job_id"),
)

# 0006: on PostgreSQL its pages are half filled (fillfactor 50), so a lease, which
# writes no indexed column, is a HOT update.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("event_id", Id, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("endpoint_id", Id, sa.ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    sa.Column("org_id", Id, nullable=False),
    sa.Column("job_id", Id),
    sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
    # pending (due at next_attempt_at), succeeded, failed (gave up)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Time),
    sa.Column("lease_token", sa.String(40)),
    sa.Column("lease_expires_at", Time),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    sa.Column("finished_at", Time),
    sa.Index(
        "ix_deliveries_due",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_deliveries_order", "endpoint_id", "job_id", "sequence"),
    sa.Index("ix_deliveries_event_id", "event_id"),
    # 0002: each endpoint's due deliveries, so a claim takes a few per endpoint
    # (fairness) without reading one endpoint's whole backlog.
    sa.Index(
        "ix_deliveries_endpoint_due",
        "endpoint_id",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    # 0002: "is an earlier event of this job still pending for this endpoint?",
    # asked for every candidate of every claim; only pending rows are indexed.
    sa.Index(
        "ix_deliveries_pending_order",
        "job_id",
        "endpoint_id",
        "sequence",
        postgresql_where=sa.text("status = 'pending' AND job_id IS NOT NULL"),
        sqlite_where=sa.text("status = 'pending' AND job_id IS NOT NULL"),
    ),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column(
        "delivery_id", Id, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("org_id", Id, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("latency_ms", sa.Double),
    sa.Column("response_body", sa.Text),
    sa.Column("error", sa.Text),
    # 0010: the HTTP library's own text when no answer came (error says it in words)
    sa.Column("error_detail", sa.Text),
    sa.Index("ix_attempts_delivery_id", "delivery_id", "created_at"),
)

# 0003: the webhook portal. A link (POST /webhook) starts at most one session, once;
# a session lasts until it expires or its user signs out. Both are judged by the
# database's clock, like leases.
portal_links = sa.Table(
    "portal_links",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("used_at", Time),
)

portal_sessions = sa.Table(
    "portal_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("link_id", Id, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("revoked_at", Time),
)

# 0005: the Idempotency-Key of the webhook API's POSTs (/extract keys its jobs instead).
# One row per organization and key: in progress while status_code is null, then the
# response as it was sent, replayed to a retry of the same request for 24 h; the
# retention sweep deletes older rows. A stored response may hold an endpoint's secret
# (create, rotate-secret): it is sealed (pagewire.security.encryption), and only ever goes back
# to the organization it was already shown to; never log it.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("org_id", Id, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    # "METHOD /path sha256-of-the-canonical-body"
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer),
    # the JSON text exactly as sent (jsonb would reorder its keys on a replay)
    sa.Column("response_body", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.PrimaryKeyConstraint("org_id", "key", name="pk_idempotency_keys"),
    sa.Index("ix_idempotency_keys_created_at", "created_at"),
)

# 0008: facts about the database itself, by name: each encryption key's check value
# ("encryption_key_check.<key id>": a constant sealed with that key, so a start with a
# wrong key fails instead of misreading secrets), and "encryption_legacy_sealed" once
# the values stored before encryption at rest have been sealed.
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
)

# 0009: token buckets shared by every process (store/ratelimits.py): the API's
# per-organization request limit, "org:<id>". A bucket's tokens as of refilled_at
# (the database's clock); the limit and burst come from the settings of the taker.
rate_buckets = sa.Table(
    "rate_buckets",
    metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("tokens", sa.Double, nullable=False),
    sa.Column("refilled_at", sa.Double, nullable=False),
)
