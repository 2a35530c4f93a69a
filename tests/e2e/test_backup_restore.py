"""Back up a running SQLite node, restore it into a fresh data directory, and serve the
old results (docs/deploy.md, "Backups").

The backup is taken as the docs say: the database first (``sqlite3`` online backup,
while ``pagewire serve`` runs), then the blob directory and the key files. Restored
into a new directory, a new ``pagewire serve`` answers ``GET /job/{id}`` with the same
result, streams the same stored result object, and still opens the endpoint's sealed
webhook secret.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Service
from .test_serve import new_key, submit, wait_all

pytestmark = pytest.mark.e2e

# What a SQLite node's data directory holds besides the database: the stored objects,
# the key that seals webhook secrets at rest, and the key that signs portal links.
BESIDE_THE_DATABASE = ("blobs", "encryption_keys", "secret_key")


def back_up(data_dir: Path, into: Path) -> None:
    """Database first (a consistent copy while the server writes), then the rest:
    every row's object was written before the row, so it is in the later copy."""
    into.mkdir()
    source = sqlite3.connect(data_dir / "pagewire.db")
    target = sqlite3.connect(into / "pagewire.db")
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    for name in BESIDE_THE_DATABASE:
        path = data_dir / name
        if path.is_dir():
            shutil.copytree(path, into / name)
        elif path.exists():  # secret_key is made when the portal first signs a link
            shutil.copy2(path, into / name)


def node(data_dir: Path) -> Service:
    # No PAGEWIRE_DATABASE_URL: the database is the data directory's pagewire.db.
    data_dir.mkdir()
    # Every result becomes a stored object, so serving it needs the restored blobs.
    return Service(data_dir, "", {"PAGEWIRE_INLINE_RESULT_LIMIT_BYTES": "1000"})


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_restored_backup_serves_the_old_results(
    backend: Any, tmp_path: Path, corpus_dir: Path
) -> None:
    old = node(tmp_path / "old")
    restored = node(tmp_path / "restored")
    try:
        old.serve()
        headers = new_key(old)
        with httpx.Client(base_url=old.base_url, headers=headers, timeout=30) as client:
            endpoint = client.post(
                "/webhook/endpoints",
                json={"url": "http://127.0.0.1:9/hook", "event_types": ["webhook.test"]},
            )
            assert endpoint.status_code == 201, endpoint.text
            job_ids = [
                submit(client, corpus_dir / "ca9-appeal-15p.pdf", pages="1-2"),
                submit(client, corpus_dir / "missouri-appeals-5p.pdf"),
            ]
            before = wait_all(client, job_ids, {"completed", "failed"}, 120)
            assert [j["status"] for j in before] == ["completed", "completed"], before
            assert all(j["result"]["is_url"] for j in before)
            results_before = [client.get(f"/job/{j}/result").json() for j in job_ids]

            back_up(old.data_dir, tmp_path / "backup")  # while the old node runs
        assert (tmp_path / "backup" / "encryption_keys").exists()
        old.stop_all()
        shutil.rmtree(old.data_dir)  # nothing of the old node is left to lean on

        for item in (tmp_path / "backup").iterdir():
            target = restored.data_dir / item.name
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, target)
        restored.serve()
        with httpx.Client(base_url=restored.base_url, headers=headers, timeout=30) as client:
            after = [client.get(f"/job/{j}").json() for j in job_ids]
            results_after = [client.get(f"/job/{j}/result") for j in job_ids]
            secret = client.get(f"/webhook/endpoints/{endpoint.json()['id']}/secret")
    finally:
        old.stop_all()
        restored.stop_all()

    # The same jobs, the same results (the markdown, page by page), the same secret.
    assert [(j["job_id"], j["status"], j["input"]) for j in after] == [
        (j["job_id"], j["status"], j["input"]) for j in before
    ]
    assert [r.status_code for r in results_after] == [200, 200]
    assert [r.json() for r in results_after] == results_before
    assert all(r["markdown"] for r in results_before)
    assert secret.status_code == 200 and secret.json()["secret"] == endpoint.json()["secret"]
