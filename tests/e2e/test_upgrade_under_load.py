"""A running cluster upgrades without losing work (docs/deploy.md, "Upgrades").

The previous release is the build just before the newest migration (taken from git):
its API node, worker and dispatcher run on PostgreSQL at its schema (head - 1) and
take jobs while this build's ``pagewire migrate`` brings the database to head. Then
the nodes are rolled in the documented order (API, workers, dispatchers) to this
build, jobs still coming in. At the end every job completed, and every job's events
reached the receiver once each (by ``webhook-id``), signed with the endpoint's secret,
in ``sequence`` order. Jobs are submitted from a thread: it never waits for any step.
"""

from __future__ import annotations

import asyncio
import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import standardwebhooks
from alembic.script import Script, ScriptDirectory

from pagewire.settings import Settings
from pagewire.store.db import Database
from pagewire.store.migrate import alembic_config, head_revision

from .conftest import Service
from .test_migrations_required import at_revision
from .test_serve import new_key, submit, wait_all, wait_logged

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EVENTS = ["job.created", "job.processing", "job.completed", "job.failed"]
EXPECTED = [("job.created", 1), ("job.processing", 2), ("job.completed", 3)]
# Releases whose upgrade stops the previous release's dispatchers before `pagewire
# migrate` (docs/deploy.md, "Upgrades"): 0008 seals the endpoints' secrets at rest,
# which a dispatcher of the release before cannot read (it sends nothing until replaced).
STOP_DISPATCHERS_FIRST = {"0008"}


def newest_migration() -> Script:
    script = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision())
    assert script is not None
    return script


def previous_build(into: Path) -> Path:
    """The source tree of the commit before the newest migration was added: the release
    a cluster runs when it is told to upgrade to this one (its ``src`` directory).

    Along the main line only (``--first-parent``): a migration written on a branch is
    added to main by a merge, and the tree before that merge is the release before;
    the branch's own parent commit may lack migrations main had meanwhile."""
    git = ["git", "-C", str(REPO)]
    added = subprocess.run(
        [
            *git,
            "log",
            "--first-parent",
            "--diff-filter=A",
            "--format=%H",
            "--",
            newest_migration().path,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert added, f"{newest_migration().path} is not in this checkout's git history"
    archive = subprocess.run(
        [*git, "archive", f"{added[-1]}^", "src"], check=True, capture_output=True
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


class Receiver(http.server.ThreadingHTTPServer):
    """A webhook receiver as the docs tell users to write one: it verifies the
    signature (401 otherwise, so the sender retries) and keeps each event once."""

    def __init__(self) -> None:
        self.secret = ""
        self.lock = threading.Lock()
        self.accepted: dict[str, dict[str, Any]] = {}  # webhook-id -> payload
        self.arrivals: list[str] = []  # webhook-ids, in the order first accepted
        self.duplicates = 0
        self.rejected = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = standardwebhooks.Webhook(receiver.secret).verify(body, headers)
                except standardwebhooks.WebhookVerificationError:
                    with receiver.lock:
                        receiver.rejected += 1
                    self.send_response(401)
                else:
                    with receiver.lock:
                        webhook_id = headers["webhook-id"]
                        if webhook_id in receiver.accepted:
                            receiver.duplicates += 1
                        else:
                            receiver.accepted[webhook_id] = payload
                            receiver.arrivals.append(webhook_id)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def events_by_job(self) -> dict[str, list[tuple[str, int]]]:
        with self.lock:
            payloads = [self.accepted[w] for w in self.arrivals]
        by_job: dict[str, list[tuple[str, int]]] = {}
        for p in payloads:
            by_job.setdefault(p["data"]["job_id"], []).append((p["type"], p["data"]["sequence"]))
        return by_job


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class Submitter(threading.Thread):
    """Submits a one-page job after another to whichever API node is current."""

    def __init__(self, document: Path, headers: dict[str, str], base_url: str) -> None:
        super().__init__(daemon=True)
        self.document = document
        self.headers = headers
        self.base_url = base_url
        self.job_ids: list[str] = []
        self.errors: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30) as c:
                    self.job_ids.append(submit(c, self.document, pages="1"))
            except (AssertionError, httpx.HTTPError) as error:  # counted, then judged
                self.errors.append(f"{self.base_url}: {error}")
            self.stopped.wait(0.25)  # a steady trickle, not a flood on a shared machine

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` more jobs than now were accepted."""
        target = len(self.job_ids) + count
        deadline = time.monotonic() + timeout
        while len(self.job_ids) < target:
            assert time.monotonic() < deadline, self.errors
            time.sleep(0.02)


def wait_announced(
    receiver: Receiver, job_ids: list[str], dispatcher: Service
) -> dict[str, list[tuple[str, int]]]:
    """Until each job's events reached the receiver (as many as :data:`EXPECTED`)."""
    deadline = time.monotonic() + 120
    while any(
        len((by_job := receiver.events_by_job()).get(j, [])) < len(EXPECTED) for j in job_ids
    ):
        assert time.monotonic() < deadline, (
            f"{len(receiver.arrivals)} accepted, {receiver.rejected} refused\n{dispatcher.logs()}"
        )
        time.sleep(0.1)
    return by_job


def statuses(service: Service, headers: dict[str, str], job_ids: list[str]) -> list[str]:
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        return [client.get(f"/job/{j}").json()["status"] for j in job_ids]


@pytest.mark.timeout(420)
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_migrate_to_head_while_the_previous_release_runs_then_roll_the_nodes(
    service_factory: Any,
    backend: Any,
    tmp_path: Path,
    corpus_dir: Path,
    receiver: Receiver,
) -> None:
    old_src = previous_build(tmp_path / "previous")
    old_env = {"PYTHONPATH": str(old_src)}  # ahead of the installed (this) build
    document = corpus_dir / "azd-order-pleading-paper-5p.pdf"
    old_api, old_worker, old_dispatcher, new_api, new_worker, new_dispatcher = (
        service_factory() for _ in range(6)
    )
    for node in (old_api, old_worker, old_dispatcher):
        node.env.update(old_env)
    # One data directory (uploads, results) for all: the local blob store, on a shared disk.
    shared = tmp_path / "shared-data"
    for node in (old_api, old_worker, old_dispatcher, new_api, new_worker, new_dispatcher):
        node.env["PAGEWIRE_DATA_DIR"] = str(shared)

    # The previous release, at its own head (one migration short of this build's).
    previous = newest_migration().down_revision
    assert isinstance(previous, str)
    at_revision(backend.url, previous)
    old_api.serve("--no-worker", "--no-dispatch")
    headers = new_key(old_api)
    with httpx.Client(base_url=old_api.base_url, headers=headers, timeout=30) as client:
        endpoint = client.post(
            "/webhook/endpoints", json={"url": receiver.url, "event_types": EVENTS}
        )
        assert endpoint.status_code == 201, endpoint.text
        receiver.secret = endpoint.json()["secret"]
    old_worker.start("worker", "--concurrency", "2")
    old_dispatcher.start("dispatch")

    submitter = Submitter(document, headers, old_api.base_url)
    submitter.start()
    try:
        submitter.wait_for(5)
        if head_revision() in STOP_DISPATCHERS_FIRST:  # the documented exception
            old_dispatcher.stop_all()
        # This build's migrate, while the previous release's nodes work.
        migrated = new_api.cli("migrate")
        assert f"database at revision {head_revision()}" in migrated
        submitter.wait_for(5)
        # The previous release's nodes still take and run jobs at head ...
        before_roll = list(submitter.job_ids)
        deadline = time.monotonic() + 120
        while set(now := statuses(old_api, headers, before_roll)) != {"completed"}:
            assert time.monotonic() < deadline, (now, old_worker.logs())
            time.sleep(0.2)
        if head_revision() not in STOP_DISPATCHERS_FIRST:
            # ... and its dispatcher, the only one running, announces them.
            wait_announced(receiver, before_roll, old_dispatcher)

        # Roll: API nodes, then workers, then dispatchers; each new one before the old stops.
        new_api.serve("--no-worker", "--no-dispatch")
        submitter.base_url = new_api.base_url
        old_api.stop_all()
        submitter.wait_for(3)
        new_worker.start("worker", "--concurrency", "2")
        old_worker.stop_all()
        submitter.wait_for(3)
        new_dispatcher.start("dispatch")
        old_dispatcher.stop_all()
        submitter.wait_for(5)
    finally:
        submitter.stopped.set()
        submitter.join(30)

    job_ids = submitter.job_ids
    with httpx.Client(base_url=new_api.base_url, headers=headers, timeout=30) as client:
        jobs = wait_all(client, job_ids, {"completed", "failed", "canceled"}, 180)
    assert submitter.errors == []
    assert [j["job_id"] for j in jobs if j["status"] != "completed"] == []

    # Every job's three events (created, processing, completed), once each, in order.
    by_job = wait_announced(receiver, job_ids, new_dispatcher)
    assert {j: by_job[j] for j in job_ids} == {j: EXPECTED for j in job_ids}
    assert set(by_job) == set(job_ids)
    assert receiver.duplicates == 0
    assert receiver.rejected == 0, "a delivery was signed with the wrong secret"


def stamp_later_release(database_url: str, revision: str) -> None:
    """The database as a later release's ``pagewire migrate`` leaves it: at a revision
    this build has never heard of (its tables are this build's, plus what it added)."""

    async def stamp() -> None:
        db = Database(Settings(database_url=database_url).resolved_database_url)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(
                    sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
                )
        finally:
            await db.close()

    asyncio.run(stamp())


def test_a_node_of_this_release_keeps_running_on_a_database_a_later_release_migrated(
    service_factory: Any,
) -> None:
    """Rolling to the next release: after its ``migrate``, this release's API nodes stay
    ready (a balancer keeps them), and its workers and dispatchers still (re)start."""
    node = service_factory()
    node.cli("migrate")
    stamp_later_release(node.env["PAGEWIRE_DATABASE_URL"], "9999_a_later_release")

    node.serve()  # serve migrates at start: not past what it knows, and not backwards
    ready = httpx.get(f"{node.base_url}/readyz", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    worker = node.start("worker")
    dispatcher = node.start("dispatch")
    wait_logged(node, "worker started", 2)  # serve's own, and the worker process's
    wait_logged(node, "dispatcher started", 2)
    assert worker.poll() is None and dispatcher.poll() is None
    assert "database at revision 9999_a_later_release" in node.cli("migrate")
