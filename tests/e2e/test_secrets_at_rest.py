"""Secrets at rest on a real ``pagewire serve``: nothing on disk gives a secret away.

After endpoints with custom headers, an idempotent create, a secret rotation and a
job whose webhook was delivered and verified, the data directory's files (SQLite:
the database, its WAL and SHM; blobs and results on both backends) hold no signing
secret, no header value and no key bytes; on PostgreSQL the columns hold no
plaintext. The data directory is 0700 and pagewire's files in it 0600. A wrong
key stops the start with a message naming the setting.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from pagewire.security.encryption import KEY_FILE, parse_keys
from pagewire.settings import Settings
from pagewire.store import tables as t
from pagewire.store.db import Database
from support import SQLITE_ONLY
from webhooks.support import Received, Receiver, verifies

pytestmark = pytest.mark.e2e

HEADER_VALUE = "Bearer customer-token-7f3a9c21e6"


def secret_forms(secret: str) -> list[bytes]:
    """A whsec_ secret as it could appear on disk: whole, its base64 part, its raw key."""
    encoded = secret.removeprefix("whsec_")
    return [secret.encode(), encoded.encode(), base64.b64decode(encoded)]


def key_forms(key_file_text: str) -> list[bytes]:
    keys = parse_keys(key_file_text, source="test")
    return [k.key for k in keys] + [base64.b64encode(k.key) for k in keys]


def leaks(files: list[Path], needles: dict[str, bytes], *, skip: set[str]) -> list[str]:
    found = []
    for path in files:
        if path.name in skip:
            continue
        data = path.read_bytes()
        found += [f"{name} in {path.name}" for name, needle in needles.items() if needle in data]
    return found


async def stored_columns(database_url: str) -> list[str]:
    """Every stored secret, header value and replayable response, as the database has them."""
    db = Database(Settings(database_url=database_url).resolved_database_url)
    try:
        async with db.read() as conn:
            e = t.endpoints.c
            values: list[str] = []
            for secret, previous, headers in await conn.execute(
                sa.select(e.secret, e.previous_secret, sa.cast(e.headers, sa.Text))
            ):
                values += [secret, previous or "", headers]
            bodies = await conn.execute(sa.select(t.idempotency_keys.c.response_body))
            values += [body or "" for (body,) in bodies]
            return values
    finally:
        await db.close()


async def completed(receiver: Receiver) -> Received:
    """The job.completed webhook, once it arrived (job.created and others come first)."""
    count = 1
    while True:
        arrived = await receiver.wait_for(count, timeout=90)
        done = [r for r in arrived if r.payload["type"] == "job.completed"]
        if done:
            return done[0]
        count = len(arrived) + 1


def pagewire(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A ``pagewire`` command that may fail: its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "pagewire.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def private(path: Path) -> bool:
    """Nobody but the owner may read it."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


async def test_no_secret_header_value_or_key_is_on_disk_and_files_are_private(
    service_factory: Any, backend: Any, sample_pdf: Path
) -> None:
    service = service_factory(PAGEWIRE_ALLOW_HTTP_WEBHOOKS="true", PAGEWIRE_POLL_SECONDS="0.1")
    service.cli("migrate")
    created = json.loads(service.cli("keys", "create", "--org", "e2e", "--json"))
    auth = {"x-api-key": created["api_key"]}
    receiver = await Receiver().start()
    service.serve()
    try:
        async with httpx.AsyncClient(base_url=service.base_url, headers=auth, timeout=30) as client:
            hook = {"url": receiver.url, "headers": {"Authorization": HEADER_VALUE}}
            keyed = {"Idempotency-Key": "create-1"}
            first = (await client.post("/webhook/endpoints", json=hook, headers=keyed)).json()
            retry = await client.post("/webhook/endpoints", json=hook, headers=keyed)
            # The retry replays the first answer, secret included (the point of the key).
            assert retry.headers["idempotent-replayed"] == "true"
            assert retry.json()["secret"] == first["secret"]
            rotated = await client.post(f"/webhook/endpoints/{first['id']}/rotate-secret")
            new_secret = rotated.json()["secret"]
            assert new_secret != first["secret"]

            with sample_pdf.open("rb") as f:
                submitted = await client.post(
                    "/extract", files={"file": (sample_pdf.name, f)}, data={"async": "true"}
                )
            assert submitted.status_code == 202, submitted.text
            delivered = await completed(receiver)

        # Signed with the right secrets, read back from their sealed form: the new one,
        # and the old one during its grace period.
        assert verifies(delivered, new_secret) and verifies(delivered, first["secret"])
        assert delivered.headers["authorization"] == HEADER_VALUE

        key_file = service.data_dir / KEY_FILE
        files = sorted(p for p in service.data_dir.rglob("*") if p.is_file())
        needles: dict[str, bytes] = {"header value": HEADER_VALUE.encode()}
        for name, secret in (("secret", new_secret), ("previous secret", first["secret"])):
            for n, form in enumerate(secret_forms(secret)):
                needles[f"{name} (form {n})"] = form
        if backend.name == "sqlite":
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # docs/operations.md
            for n, form in enumerate(key_forms(key_file.read_text())):
                needles[f"key (form {n})"] = form
            database = Path(backend.url.removeprefix("sqlite:///"))
            sqlite_files = [database.with_name(database.name + end) for end in ("", "-wal", "-shm")]
            assert all(p.is_file() for p in sqlite_files)
            files += sqlite_files
        else:
            assert not key_file.exists()  # PostgreSQL: the setting, never a file
            stored = await stored_columns(backend.url)
            assert stored and not [
                name for name, needle in needles.items() for v in stored if needle in v.encode()
            ]
        process_logs = {p.name for p in service.data_dir.glob("process-*.log")}
        assert leaks(files, needles, skip={KEY_FILE}) == []

        # File modes: the directory and every file pagewire wrote in it (the test's own
        # process logs aside), the database's WAL and SHM and the job's result included.
        assert stat.S_IMODE(service.data_dir.stat().st_mode) == 0o700
        written = [p for p in files if p.name not in process_logs]
        assert any(p.parent.name != service.data_dir.name for p in written)  # blobs too
        assert [str(p) for p in written if not private(p)] == []
        assert all(private(p) for p in service.data_dir.rglob("*") if p.is_dir())
    finally:
        await receiver.close()
        service.stop_all()


def test_a_wrong_encryption_key_stops_the_start_with_a_clear_message(
    service_factory: Any, backend: Any
) -> None:
    service = service_factory()
    service.cli("migrate")  # the first start seals with a key
    # Another key id than the database's; then its id with other bytes.
    if backend.name == "sqlite":
        key_id = parse_keys((service.data_dir / KEY_FILE).read_text(), source="x")[0].id
    else:
        key_id = "test1"
    random_key = base64.b64encode(os.urandom(32)).decode()
    wrong = {"PAGEWIRE_ENCRYPTION_KEYS": f"other:{random_key}"}
    impostor = {"PAGEWIRE_ENCRYPTION_KEYS": f"{key_id}:{random_key}"}
    malformed = {"PAGEWIRE_ENCRYPTION_KEYS": f"{key_id}:not-base64"}
    for env, words in (
        (wrong, "which PAGEWIRE_ENCRYPTION_KEYS does not list"),
        (impostor, "is not the key this database's secrets were sealed with"),
        (malformed, "is not base64 of 32 bytes"),
    ):
        for command in (["migrate"], ["serve", "--port", "0"]):
            result = pagewire(*command, env={**service.env, **env})
            # One line naming the setting, and the documented exit code (docs/cli.md).
            assert result.returncode == 2, (command, result.stderr[-2000:])
            assert words in result.stderr and "Traceback" not in result.stderr, command
    if backend.name == "postgres":
        missing = {k: v for k, v in service.env.items() if k != "PAGEWIRE_ENCRYPTION_KEYS"}
        result = pagewire("migrate", env=missing)
        assert result.returncode == 2 and "PAGEWIRE_ENCRYPTION_KEYS is not set" in result.stderr


@SQLITE_ONLY  # the key file is the embedded default's
def test_a_lost_key_file_is_an_error_not_a_new_key(service_factory: Any, backend: Any) -> None:
    service = service_factory()
    service.cli("migrate")
    (service.data_dir / KEY_FILE).unlink()
    result = pagewire("migrate", env=service.env)
    assert result.returncode == 2
    assert "is missing and PAGEWIRE_ENCRYPTION_KEYS is not set" in result.stderr
    assert not (service.data_dir / KEY_FILE).exists()
