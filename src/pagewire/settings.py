"""Settings, read from ``PAGEWIRE_*`` environment variables and passed in (never global)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_RETRY_SCHEDULE = "0,5,300,1800,7200,18000,36000,50400,72000,86400"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAGEWIRE_", extra="ignore")

    data_dir: Path = Path("./pagewire-data")
    # Empty means: a SQLite file in the data directory.
    database_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Where `pagewire serve` binds (its --host / --port win).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Where blobs (uploads, large results) live. Empty: DATA_DIR/blobs. "file:///path": a
    # directory that must exist. "s3://bucket/prefix": an S3-compatible bucket, with
    # credentials and region from the standard AWS_* variables.
    blob_url: str = ""
    # An S3-compatible service other than AWS (MinIO, R2, Ceph): its http(s):// URL.
    s3_endpoint_url: str = ""
    allow_private_urls: bool = False
    # Private networks (CIDR) that webhooks and file_url may reach even when private
    # addresses are refused, e.g. an internal file server: ["10.20.0.0/16"].
    allowed_networks: list[str] = []
    # Plain http:// webhook endpoints outside development (https is required otherwise).
    allow_http_webhooks: bool = False

    # Limits
    max_upload_bytes: int = 100 * 1024 * 1024
    # Any request body that is not an upload (JSON, mostly): refused with 413 beyond this.
    max_json_bytes: int = 1024 * 1024
    max_pages: int = 5000
    job_timeout_seconds: float = 3600.0
    job_memory_limit_mb: int = 2048
    max_attempts: int = 3
    inline_result_limit_bytes: int = 1024 * 1024
    sync_wait_seconds: float = 30.0
    file_url_timeout_seconds: float = 60.0

    # API requests per second per organization on each API node (0: no limit), and burst
    rate_limit_per_second: float = 100.0
    rate_limit_burst: float = 200.0

    # Retention (0 keeps forever): finished jobs' results and files, then webhook messages
    job_retention_seconds: float = 30 * 24 * 3600.0
    message_retention_seconds: float = 30 * 24 * 3600.0
    retention_sweep_seconds: float = 300.0

    # Worker
    worker_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 2)
    lease_seconds: float = 30.0
    # A PDF is split into parts that any worker can claim (docs/extraction.md, "Long
    # scans") of about this many pages to OCR (0: never split): small, so that two
    # workers share a 12-page scan evenly (4 parts) ...
    shard_pages: int = 3
    # ... or this many pages with a text layer, which read ~200 times faster: a part
    # costs a child process, worth it only for long documents.
    shard_text_pages: int = Field(default=1000, ge=1)
    heartbeat_seconds: float = 10.0
    # Fork each job's extractor child from a process that imported the extractor once
    # (Linux); off: start a fresh interpreter per job (~0.1 CPU-s more each).
    extractor_prefork: bool = True
    # Confine each job's extractor child with Landlock (docs/security.md, "Documents"):
    # "auto" when the kernel offers it (the worker warns at start when it does not),
    # "required" (the worker refuses to start without it), or "off".
    extractor_sandbox: Literal["auto", "required", "off"] = "auto"
    poll_seconds: float = 1.0
    # Jobs of one organization processing at once, over every worker (0: no cap).
    # Claims share the workers between organizations with pending work either way.
    org_concurrency: int = Field(default=0, ge=0)
    # LISTEN/NOTIFY wake-ups on PostgreSQL; off behind a pooler in transaction mode.
    listen_notify: bool = True
    drain_seconds: float = 30.0

    # Webhooks
    webhook_retry_schedule: str = DEFAULT_RETRY_SCHEDULE
    webhook_timeout_seconds: float = 15.0
    webhook_connect_timeout_seconds: float = 5.0
    secret_rotation_grace_seconds: float = 24 * 3600.0
    # Requests in flight per dispatcher, and per endpoint within it: a slow or dead
    # endpoint can hold at most its own share of the slots.
    webhook_concurrency: int = 128
    webhook_per_endpoint_concurrency: int = 16
    # A claimed delivery is due again after this long (a lost dispatcher loses
    # nothing); longer than the request timeout plus a queued turn behind it.
    webhook_lease_seconds: float = 60.0
    # An endpoint whose every attempt failed for this long is disabled.
    webhook_disable_after_seconds: float = 5 * 86400.0
    # The longest Retry-After (429/502/503/504) the dispatcher honours.
    webhook_max_retry_after_seconds: float = 3600.0

    # Portal: a link from POST /webhook starts one session, once, within this time.
    portal_link_ttl_seconds: float = 3600.0
    portal_session_ttl_seconds: float = 8 * 3600.0
    # Signs portal links, session cookies and CSRF tokens. Empty: generated once and
    # kept in DATA_DIR/secret_key, so links survive restarts and every process sharing
    # the data directory accepts them (set it explicitly when they share only a database).
    secret_key: SecretStr = SecretStr("")
    # Seal webhook secrets, custom header values and replayable responses at rest
    # (AES-256-GCM): "id:base64-of-32-bytes", several separated by commas; the first
    # seals, every one opens (rotation: put a new key first, then `pagewire encryption
    # rotate`). Empty on SQLite: generated once into DATA_DIR/encryption_keys.
    # Required with PostgreSQL: every process must share it. See docs/security.md.
    encryption_keys: SecretStr = SecretStr("")

    # /metrics of `pagewire dispatch` and `pagewire worker` (they have no API): off unless set
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    # Logging: "json", "text", or "auto" (JSON when stderr is not a terminal)
    log_format: str = "auto"
    log_level: str = "INFO"
    # One line per HTTP request (logger pagewire.access); its cost is about 20 us a request
    access_log: bool = True

    # OpenTelemetry traces (the `otel` extra): off unless this is true or an OTLP endpoint
    # is set (OTEL_EXPORTER_OTLP_ENDPOINT); the standard OTEL_* variables configure them
    traces: bool = False

    @field_validator(
        "worker_concurrency", "webhook_concurrency", "webhook_per_endpoint_concurrency"
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("extractor_sandbox", mode="before")
    @classmethod
    def _sandbox_mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("blob_url")
    @classmethod
    def _blob_url(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("s3://"):
            if not value[len("s3://") :].split("/", 1)[0]:
                raise ValueError("an s3:// URL names its bucket: s3://bucket/prefix")
        elif value.startswith("file://"):
            if not value[len("file://") :].startswith("/"):
                raise ValueError("a file:// URL names an absolute directory: file:///path")
        elif value:
            raise ValueError("must be s3://bucket/prefix or file:///path (or empty)")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _s3_endpoint_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, e.g. http://minio:9000")
        return value

    def signing_key(self) -> bytes:
        """``secret_key``, or the data directory's ``secret_key`` file (created 0600 if new)."""
        configured = self.secret_key.get_secret_value().strip()
        if configured:
            return configured.encode()
        return _stored_secret_key(self.data_dir / "secret_key")

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL, with the driver chosen here so users write plain URLs.

        PostgreSQL goes through asyncpg; SQLite through the standard library's sqlite3,
        run on the event loop's thread (``store/sqlite_inloop.py``), whatever driver
        a ``sqlite+...`` URL names.
        """
        url = self.database_url.strip()
        if not url:
            return f"sqlite:///{(self.data_dir / 'pagewire.db').resolve()}"
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url


def _stored_secret_key(path: Path) -> bytes:
    """Read the key file, or create it; a process that loses the race reads the winner's."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        # link() never replaces: the first complete file wins, nobody reads a half-written one.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
    return path.read_bytes().strip()
