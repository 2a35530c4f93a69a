"""Secrets at rest, on SQLite and PostgreSQL: what the database holds is sealed, and the
keys' life cycle (a wrong key, values from before encryption, rotation) holds."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy as sa

from pagewire.ids import new_id
from pagewire.kernel.signing import generate_secret
from pagewire.runtime import open_services
from pagewire.security.encryption import EncryptionKeyError
from pagewire.store import tables as t
from pagewire.store.at_rest import LEGACY_SEALED

E = t.endpoints.c
K = t.idempotency_keys.c
HEADERS = {"Authorization": "Bearer customer-token-51c0", "X-Team": "billing-team-9e"}


def a_key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


async def raw_endpoint(store: Any, endpoint_id: str) -> Any:
    async with store.db.read() as conn:
        return (
            await conn.execute(
                sa.select(E.secret, E.previous_secret, E.headers).where(E.id == endpoint_id)
            )
        ).one()


async def raw_responses(store: Any) -> list[str]:
    async with store.db.read() as conn:
        return [b for (b,) in await conn.execute(sa.select(K.response_body)) if b is not None]


def encryption_rotate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``pagewire encryption rotate``, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pagewire.cli", "encryption", "rotate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def sealed_with(value: str, key_id: str) -> bool:
    return value.startswith(f"pw1:{key_id}:")


async def test_an_endpoints_secrets_and_header_values_are_stored_sealed(
    store: Any, tenant: Any
) -> None:
    created = await store.webhooks.create_endpoint(
        tenant.org_id, "https://example.com/a", headers=HEADERS
    )
    rotated = await store.webhooks.rotate_secret(tenant.org_id, created.id, grace_seconds=60)

    row = await raw_endpoint(store, created.id)
    stored = json.dumps([row.secret, row.previous_secret, row.headers])
    for plaintext in (rotated.secret, created.secret, *HEADERS.values()):
        assert plaintext not in stored and plaintext.removeprefix("whsec_") not in stored
    assert row.secret.startswith("pw1:") and row.previous_secret.startswith("pw1:")
    assert set(row.headers) == set(HEADERS)  # the names stay readable
    assert all(v.startswith("pw1:") for v in row.headers.values())

    found = await store.webhooks.get_endpoint(tenant.org_id, created.id)
    assert (found.secret, found.previous_secret, found.headers) == (
        rotated.secret,
        created.secret,
        HEADERS,
    )


async def test_a_replayed_create_returns_the_secret_that_its_record_does_not_hold(
    api: Any, tenant: Any, store: Any
) -> None:
    keyed = {**tenant.headers, "Idempotency-Key": "create-1"}
    body = {"url": "https://example.com/hook", "headers": HEADERS}
    first = await api.post("/webhook/endpoints", json=body, headers=keyed)
    again = await api.post("/webhook/endpoints", json=body, headers=keyed)

    secret = first.json()["secret"]
    assert again.headers["idempotent-replayed"] == "true" and again.json()["secret"] == secret
    [record] = await raw_responses(store)
    for plaintext in (secret, secret.removeprefix("whsec_"), *HEADERS.values()):
        assert plaintext not in record


async def test_values_stored_in_plaintext_before_are_sealed_at_the_next_start(
    settings: Any, services: Any, tenant: Any
) -> None:
    store = services.store
    endpoint_id, secret, old = new_id("ep"), generate_secret(), generate_secret()
    async with store.db.write() as conn:  # as a pagewire without encryption at rest left them
        await conn.execute(
            t.endpoints.insert().values(
                id=endpoint_id,
                org_id=tenant.org_id,
                url="https://example.com/legacy",
                headers=HEADERS,
                enabled=True,
                secret=secret,
                previous_secret=old,
                previous_secret_expires_at=4e9,
                created_at=0,
                updated_at=0,
            )
        )
        await conn.execute(
            t.idempotency_keys.insert().values(
                org_id=tenant.org_id,
                key="legacy",
                fingerprint="POST /webhook/endpoints x",
                status_code=201,
                response_body=json.dumps({"secret": secret}),
                created_at=store.db.now(),
            )
        )
        await conn.execute(t.settings.delete().where(t.settings.c.name == LEGACY_SEALED))

    async with open_services(settings, listen=False) as restarted:
        row = await raw_endpoint(restarted.store, endpoint_id)
        [record] = await raw_responses(restarted.store)
        assert all(v.startswith("pw1:") for v in (row.secret, row.previous_secret, record))
        assert all(v.startswith("pw1:") for v in row.headers.values())
        assert secret not in record
        found = await restarted.store.webhooks.get_endpoint(tenant.org_id, endpoint_id)
        assert (found.secret, found.previous_secret, found.headers) == (secret, old, HEADERS)
        replay = await restarted.store.idempotency.claim(
            tenant.org_id, "legacy", "POST /webhook/endpoints x"
        )
        assert replay is not None and json.loads(replay.body) == {"secret": secret}


async def test_rotation_moves_every_value_to_the_new_key_and_then_the_old_may_go(
    settings_factory: Any, tmp_path: Any, backend: Any
) -> None:
    first, second = a_key("k1"), a_key("k2")
    async with open_services(settings_factory(encryption_keys=first), listen=False) as s:
        org = await s.store.keys.ensure_org("acme")
        made = await s.store.webhooks.create_endpoint(org.id, "https://x.test/a", headers=HEADERS)
        made = await s.store.webhooks.rotate_secret(org.id, made.id, grace_seconds=3600)
        assert await s.store.idempotency.claim(org.id, "k", "f") is None
        await s.store.idempotency.finish(org.id, "k", 201, json.dumps({"secret": made.secret}))

    # The new key alone cannot start: the database still holds values sealed with k1.
    with pytest.raises(EncryptionKeyError, match=r"'k1'.*does not list: add that key back"):
        async with open_services(settings_factory(encryption_keys=second), listen=False):
            pass

    both = {
        **os.environ,
        "PAGEWIRE_DATABASE_URL": backend.url,
        "PAGEWIRE_DATA_DIR": str(tmp_path / "data"),
        "PAGEWIRE_ENCRYPTION_KEYS": f"{second},{first}",
    }
    rotate = encryption_rotate(both)
    assert "sealed with key k2: 4 values in 1 endpoints, 1 stored responses" in rotate.stdout
    assert "may leave the list now): k1" in rotate.stdout
    again = encryption_rotate(both)
    assert "0 values in 0 endpoints, 0 stored responses" in again.stdout  # idempotent

    async with open_services(settings_factory(encryption_keys=second), listen=False) as s:
        row = await raw_endpoint(s.store, made.id)
        [record] = await raw_responses(s.store)
        values = [row.secret, row.previous_secret, record, *row.headers.values()]
        assert all(sealed_with(v, "k2") for v in values)
        found = await s.store.webhooks.get_endpoint(org.id, made.id)
        assert (found.secret, found.headers) == (made.secret, HEADERS)
        await s.store.deliveries.claim_deliveries(1, lease_seconds=30, per_endpoint=1)


async def test_a_key_with_the_right_id_and_the_wrong_bytes_stops_the_start(
    settings_factory: Any,
) -> None:
    async with open_services(settings_factory(encryption_keys=a_key("k1")), listen=False) as s:
        await s.store.keys.ensure_org("acme")
    with pytest.raises(EncryptionKeyError, match=r"'k1'.*is not the key this database's secrets"):
        async with open_services(settings_factory(encryption_keys=a_key("k1")), listen=False):
            pass


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("k1", "is not 'id:base64'"),
        ("k1:c2hvcnQ=", "is not base64 of 32 bytes"),
        ("k_1:" + base64.b64encode(bytes(32)).decode(), "is not 'id:base64'"),
    ],
)
async def test_a_malformed_key_setting_is_named_without_its_value(
    settings_factory: Any, value: str, words: str
) -> None:
    with pytest.raises(EncryptionKeyError, match=words) as refused:
        async with open_services(settings_factory(encryption_keys=value), listen=False):
            pass
    assert "PAGEWIRE_ENCRYPTION_KEYS" in str(refused.value)
    key_part = value.partition(":")[2]
    assert not key_part or key_part not in str(refused.value)
