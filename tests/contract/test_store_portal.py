"""The webhook portal's SQL (links, sessions, summaries), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pagewire.errors import Unauthenticated
from pagewire.models import AttemptRecord
from pagewire.store.portal import PortalStore
from support import Tenant
from webhooks.support import emit


async def test_a_link_opens_one_session_even_when_two_visits_race(
    store: Any, tenant: Tenant
) -> None:
    portal = PortalStore(store.db)
    link = await portal.create_link(tenant.org_id, ttl_seconds=60)

    outcomes = await asyncio.gather(
        *(portal.start_session(link.id, tenant.org_id, ttl_seconds=60) for _ in range(4)),
        return_exceptions=True,
    )

    sessions = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, Unauthenticated)]
    assert len(sessions) == 1 and len(refused) == 3
    assert {e.code for e in refused} == {"portal_link_used"}
    assert (await portal.live_session(sessions[0].id, tenant.org_id)).org_id == tenant.org_id


async def test_links_and_sessions_belong_to_one_organization(
    store: Any, tenant: Tenant, other_tenant: Tenant
) -> None:
    portal = PortalStore(store.db)
    link = await portal.create_link(tenant.org_id, ttl_seconds=60)

    with pytest.raises(Unauthenticated) as wrong_org:
        await portal.start_session(link.id, other_tenant.org_id, ttl_seconds=60)
    session = await portal.start_session(link.id, tenant.org_id, ttl_seconds=60)
    with pytest.raises(Unauthenticated):
        await portal.live_session(session.id, other_tenant.org_id)

    assert wrong_org.value.code == "portal_link_unknown"


async def test_expired_links_and_ended_sessions_are_refused(store: Any, tenant: Tenant) -> None:
    portal = PortalStore(store.db)
    expired = await portal.create_link(tenant.org_id, ttl_seconds=-1)
    link = await portal.create_link(tenant.org_id, ttl_seconds=60)
    session = await portal.start_session(link.id, tenant.org_id, ttl_seconds=60)
    short = await portal.start_session(
        (await portal.create_link(tenant.org_id, ttl_seconds=60)).id,
        tenant.org_id,
        ttl_seconds=-1,
    )

    with pytest.raises(Unauthenticated) as too_late:
        await portal.start_session(expired.id, tenant.org_id, ttl_seconds=60)
    await portal.end_session(session.id)
    for ended in (session, short):
        with pytest.raises(Unauthenticated) as refused:
            await portal.live_session(ended.id, tenant.org_id)
        assert refused.value.code == "portal_session_ended"

    assert too_late.value.code == "portal_link_expired"


async def test_prune_drops_ended_sessions_and_long_expired_links(
    store: Any, tenant: Tenant
) -> None:
    portal = PortalStore(store.db)
    open_link = await portal.create_link(tenant.org_id, ttl_seconds=60)
    just_expired = await portal.create_link(tenant.org_id, ttl_seconds=-1)
    long_expired = await portal.create_link(tenant.org_id, ttl_seconds=-2 * 86400)
    live = await portal.start_session(
        (await portal.create_link(tenant.org_id, ttl_seconds=60)).id, tenant.org_id, ttl_seconds=60
    )
    signed_out = await portal.start_session(
        (await portal.create_link(tenant.org_id, ttl_seconds=60)).id, tenant.org_id, ttl_seconds=60
    )
    await portal.end_session(signed_out.id)

    assert await portal.prune() == 2  # the signed-out session and the long-expired link

    assert (await portal.live_session(live.id, tenant.org_id)).id == live.id
    with pytest.raises(Unauthenticated) as late:
        await portal.start_session(just_expired.id, tenant.org_id, ttl_seconds=60)
    with pytest.raises(Unauthenticated) as gone:
        await portal.start_session(long_expired.id, tenant.org_id, ttl_seconds=60)
    assert late.value.code == "portal_link_expired" and gone.value.code == "portal_link_unknown"
    assert (await portal.start_session(open_link.id, tenant.org_id, ttl_seconds=60)).org_id


async def test_endpoint_health_and_recent_deliveries_count_only_the_organizations_own(
    store: Any, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await store.webhooks.create_endpoint(tenant.org_id, "https://a.example.com/h")
    quiet = await store.webhooks.create_endpoint(tenant.org_id, "https://b.example.com/h")
    theirs = await store.webhooks.create_endpoint(other_tenant.org_id, "https://c.example.com/h")
    for org in (tenant.org_id, tenant.org_id, tenant.org_id, other_tenant.org_id):
        await emit(store, org, type_="job.completed", job_id=None)
    claimed = await store.deliveries.claim_deliveries(10, lease_seconds=30, per_endpoint=10)
    codes = iter([200, 500, None, 200, 200])
    await store.deliveries.record_attempts(
        [
            AttemptRecord(
                delivery=c,
                verdict="succeeded" if code == 200 else "retry",
                status_code=code,
                latency_ms=3.0,
                error=None if code else "connection refused",
                retry_in=60,
            )
            for c, code in zip(
                [c for c in claimed if c.endpoint_id in (mine.id, theirs.id)], codes, strict=False
            )
        ]
    )

    health = await store.stats.endpoint_health(tenant.org_id, [mine.id, quiet.id, theirs.id])
    recent = await store.webhooks.recent_deliveries(tenant.org_id, mine.id)
    hidden = await store.webhooks.recent_deliveries(tenant.org_id, theirs.id)

    assert set(health) == {mine.id}  # the quiet one has no attempts; theirs is not ours
    assert health[mine.id].attempts == 3 and health[mine.id].succeeded == 1
    assert health[mine.id].success_rate == pytest.approx(1 / 3)
    assert health[mine.id].last_attempt_at is not None
    assert len(recent) == 3 and {d.event_type for d in recent} == {"job.completed"}
    assert hidden == []
