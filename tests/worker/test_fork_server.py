"""The extractor's fork server: each job's child forked from a process that imported the
extractor once, and what a job sees of it is what a spawned child gave (worker/forkserver.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
import uvloop

import hostile_child
from pagewire.worker.runner import Outcome, ProcessRunner, Task
from unit.extract import groundtruth
from unit.extract.extract_helpers import needs_tesseract

pytestmark = pytest.mark.skipif(
    not hostile_child.runner().zygote_command, reason="fork serving needs Linux"
)

SECRETS = {
    "PAGEWIRE_DATABASE_URL": "postgresql://pagewire:hunter2@db.internal/pagewire",
    "PAGEWIRE_ENCRYPTION_KEYS": "k1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==",
    "PAGEWIRE_SECRET_KEY": "portal-signing-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-access-key",
}


def task(path: Path, tmp_path: Path, **fields: Any) -> Task:
    values: dict[str, Any] = {
        "input_path": path,
        "media_type": "application/pdf",
        "options": {},
        "output_path": tmp_path / f"result-{os.urandom(4).hex()}.json",
        "max_pages": 1000,
        "memory_limit_mb": 1024,
        "time_limit": 60.0,
        **fields,
    }
    return Task(**values)


async def go_on(done: int, total: int) -> bool:
    return True


def result_of(outcome: Outcome, job: Task) -> dict[str, Any]:
    assert outcome.status == "completed", outcome
    return outcome.result or json.loads(job.output_path.read_bytes())


def children_of(pid: int) -> list[psutil.Process]:
    """Its children, the dead ones not yet reaped (zombies) included."""
    return psutil.Process(pid).children()


@pytest.fixture
def zygote_runners() -> Any:
    """Runners made by a test, their fork servers stopped at its end."""
    made: list[ProcessRunner] = []

    def make(hook: str | None = None, *, prefork: bool = True) -> ProcessRunner:
        made.append(runner := hostile_child.runner(hook, prefork=prefork))
        return runner

    yield make
    for runner in made:
        runner.close()


# -- the same child, forked ------------------------------------------------------------


@pytest.mark.parametrize("document", ["filing", pytest.param("scan", marks=needs_tesseract)])
async def test_a_forked_child_gives_the_same_result_as_a_spawned_one(
    zygote_runners: Any, sample_pdf: Path, tmp_path: Path, document: str
) -> None:
    path, options = sample_pdf, {}
    if document == "scan":  # page 4 has no text layer: tesseract runs under the child
        path = tmp_path / "ground-truth.pdf"
        groundtruth.build(path)
        options = {"pages": "3-4"}
    forked, spawned = zygote_runners(), zygote_runners(prefork=False)

    by_fork = await forked.run(job := task(path, tmp_path, options=options), go_on)
    by_spawn = await spawned.run(job2 := task(path, tmp_path, options=options), go_on)

    assert forked.zygote_pid is not None and spawned.zygote_pid is None
    assert json.dumps(result_of(by_fork, job)) == json.dumps(result_of(by_spawn, job2))
    # each child says what it cost; the forked one did not start an interpreter
    assert by_fork.cpu_seconds and by_spawn.cpu_seconds and by_fork.peak_rss_mb
    if document == "scan":
        assert result_of(by_fork, job)["pages"][1]["ocr"] is True


async def test_jobs_at_once_share_one_fork_server(
    zygote_runners: Any, sample_pdf: Path, tmp_path: Path
) -> None:
    runner = zygote_runners()
    assert await runner.start()
    zygote = runner.zygote_pid
    ranges = ["1", "2-3", "4-6", "17"]

    outcomes = await asyncio.gather(
        *(runner.run(task(sample_pdf, tmp_path, options={"pages": r}), go_on) for r in ranges)
    )

    pages = [[p["number"] for p in (o.result or {})["pages"]] for o in outcomes]
    assert pages == [[1], [2, 3], [4, 5, 6], [17]]
    assert runner.zygote_pid == zygote
    zygotes = [p for p in children_of(os.getpid()) if "pagewire.extract.zygote" in p.cmdline()]
    assert [p.pid for p in zygotes] == [zygote]


# -- hostile children, forked ---------------------------------------------------------


async def test_a_cancel_mid_job_kills_the_forked_child(
    zygote_runners: Any, sample_pdf: Path, tmp_path: Path
) -> None:
    runner = zygote_runners("slow:0.2")
    seen: list[psutil.Process] = []

    async def stop_after_a_page(done: int, total: int) -> bool:
        assert runner.zygote_pid is not None
        seen.extend(children_of(runner.zygote_pid))
        return done < 1

    outcome = await runner.run(task(sample_pdf, tmp_path), stop_after_a_page)

    assert outcome.status == "canceled"
    [child] = {p.pid: p for p in seen}.values()
    assert not child.is_running()  # killed and reaped, not left reading pages
    assert runner.zygote_pid is not None  # the fork server serves the next job


async def test_a_hanging_forked_child_is_killed_at_the_time_limit(
    zygote_runners: Any, sample_pdf: Path, tmp_path: Path
) -> None:
    runner = zygote_runners("hang")

    outcome = await runner.run(task(sample_pdf, tmp_path, time_limit=1.0), go_on)

    assert outcome.status == "failed" and outcome.error
    assert outcome.error["code"] == "timeout"
    assert runner.zygote_pid is not None and children_of(runner.zygote_pid) == []


@pytest.mark.parametrize(
    ("hook", "codes"),
    [
        ("crash", {"extractor_crashed"}),
        ("memory", {"memory_limit_exceeded", "extractor_killed"}),
    ],
)
async def test_a_forked_child_that_crashes_or_blows_its_memory_fails_only_its_job(
    zygote_runners: Any, sample_pdf: Path, tmp_path: Path, hook: str, codes: set[str]
) -> None:
    runner = zygote_runners(hook)

    outcome = await runner.run(task(sample_pdf, tmp_path, memory_limit_mb=300), go_on)

    assert outcome.status == "failed" and outcome.error
    assert outcome.error["code"] in codes, outcome
    assert runner.zygote_pid is not None  # the fork server is unharmed


# -- the fork server dies --------------------------------------------------------------


async def test_a_fork_server_killed_between_jobs_is_replaced_by_the_next_job(
    harness: Any, sample_pdf: Path
) -> None:
    async with harness.worker() as worker:
        first = await harness.finished(await harness.submit(sample_pdf.read_bytes(), pages="1"))
        killed = worker.runner.zygote_pid
        os.kill(killed, signal.SIGKILL)
        psutil.Process(killed).wait(10)
        second = await harness.finished(await harness.submit(sample_pdf.read_bytes(), pages="2"))
        replacement = worker.runner.zygote_pid

    assert first["status"] == "completed" and second["status"] == "completed", second
    assert replacement is not None and replacement != killed


async def test_a_fork_server_killed_during_a_job_fails_that_job_and_the_worker_goes_on(
    harness: Any, sample_pdf: Path
) -> None:
    async with harness.worker(hostile="slow:0.3") as worker:
        job_id = await harness.submit(sample_pdf.read_bytes())
        await harness.wait_for(job_id, lambda j: j["progress"]["pages_done"] >= 1)
        zygote = worker.runner.zygote_pid
        [child] = children_of(zygote)
        os.kill(zygote, signal.SIGKILL)
        failed = await harness.finished(job_id)
        next_job = await harness.finished(await harness.submit(sample_pdf.read_bytes(), pages="1"))

    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "extractor_killed"
    assert "fork server stopped" in failed["error"]["message"]
    assert psutil.wait_procs([child], timeout=10)[1] == []  # killed with its fork server
    assert next_job["status"] == "completed"


async def test_jobs_still_run_when_the_fork_server_cannot_start(
    sample_pdf: Path, tmp_path: Path
) -> None:
    broken = [sys.executable, "-c", "raise SystemExit('no extractor here')"]
    runner = ProcessRunner(hostile_child.command("slow:0"), zygote_command=broken)

    outcomes = [await runner.run(task(sample_pdf, tmp_path, options={"pages": "1"}), go_on)]
    outcomes.append(await runner.run(task(sample_pdf, tmp_path, options={"pages": "2"}), go_on))
    runner.close()

    assert [o.status for o in outcomes] == ["completed", "completed"]  # spawned instead


# -- what a job leaves, and what its child sees -----------------------------------------


def process_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])  # the CLI's worker runs on uvloop
def test_jobs_leave_no_zombie_and_no_open_descriptor(
    sample_pdf: Path, tmp_path: Path, loop: str
) -> None:
    # Session fixtures (a moto server, a service for the CLI tests) may be our children
    # too: only what this test starts must be gone at its end.
    children_before = set(children_of(os.getpid()))
    runner = hostile_child.runner()

    async def stop_at_open(done: int, total: int) -> bool:
        return False

    async def jobs() -> tuple[set[str], set[str]]:
        job = task(sample_pdf, tmp_path, options={"pages": "1"})
        assert (await runner.run(job, go_on)).status == "completed"
        await asyncio.sleep(0)  # a transport closed last is released at the next turn
        before = process_descriptors()  # the loop's own are open by now (uvloop's lazily)
        for n in range(8):
            outcome = await runner.run(job, go_on if n % 2 else stop_at_open)
            assert outcome.status == ("completed" if n % 2 else "canceled")
        await asyncio.sleep(0)
        return before, process_descriptors()

    try:
        before, after = (uvloop.run if loop == "uvloop" else asyncio.run)(jobs())
        zygote = runner.zygote_pid
        assert zygote is not None and children_of(zygote) == []  # every child reaped
    finally:
        runner.close()

    assert after == before
    assert set(children_of(os.getpid())) == children_before  # the fork server was reaped too


@pytest.mark.parametrize("prefork", [True, False], ids=["forked", "spawned"])
async def test_a_child_finds_no_secret_in_its_environment(
    zygote_runners: Any,
    sample_pdf: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefork: bool,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    report = tmp_path / "report.json"
    runner = zygote_runners(f"report:{report}", prefork=prefork)

    outcome = await runner.run(task(sample_pdf, tmp_path, options={"pages": "1"}), go_on)

    assert outcome.status == "completed"
    environ = json.loads(report.read_text())["environ"]
    assert any(entry.startswith("PATH=") for entry in environ)  # tesseract is still found
    leaked = [e for e in environ if any(e.startswith(n) or v in e for n, v in SECRETS.items())]
    assert leaked == []


@pytest.mark.parametrize("prefork", [True, False], ids=["forked", "spawned"])
async def test_a_child_has_no_descriptor_but_its_own_pipes(
    zygote_runners: Any, sample_pdf: Path, tmp_path: Path, prefork: bool
) -> None:
    report = tmp_path / "report.json"
    runner = zygote_runners(f"report:{report}", prefork=prefork)

    await runner.run(task(sample_pdf, tmp_path, options={"pages": "1"}), go_on)

    descriptors = json.loads(report.read_text())["descriptors"]
    assert sorted(descriptors) == ["0", "1", "2"], descriptors
    assert all(target.startswith("pipe:") for target in descriptors.values())
