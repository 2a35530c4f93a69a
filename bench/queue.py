"""Queue figures: no-op job throughput and enqueue→start latency, ours and procrastinate's.

    .venv/bin/python bench/queue.py [--quick]

Every run writes bench/results/queue.json; bench/render_performance.py (``make bench``)
renders docs/performance.md from it.

What it measures, on this machine, in one run (loopback only, every loop bounded):

* **drain throughput** (jobs/s): a backlog of ``--jobs`` pending no-op jobs is enqueued
  first (not timed), then one pagewire ``Worker`` (the real claim loop, leases,
  heartbeat tasks, result recording) with a ``NoopRunner`` in place of the extractor
  child process drains it. The clock stops when every job is ``completed``. Each job
  writes ``job.processing`` and ``job.completed`` events (plus ``job.created`` at
  enqueue, outside the timed part), each through the transactional outbox; the bench
  checks that all three exist for every job. Measured on SQLite and PostgreSQL.
* **enqueue throughput** (jobs/s): the same jobs submitted one per transaction (as the
  API does: job row + ``job.created`` event + NOTIFY), from 8 concurrent producers.
* **enqueue→start latency** (p50/p99/max, ms): the worker idles waiting for wake-ups
  (LISTEN/NOTIFY on PostgreSQL, with the producer on its own connection pool so the
  in-process signal cannot help; the in-process event on SQLite, where the API and the
  worker share one process). A producer enqueues at a steady ``--rate`` jobs/s
  (open loop: each job is submitted at its scheduled time, however late the last
  one is). Latency = from ``enqueue()`` returning (just after COMMIT) to
  ``NoopRunner.run`` starting that job.
* **procrastinate** on the same PostgreSQL server, in its own database, run in a
  subprocess from ``bench/.peers-venv`` (built here with uv; never a project
  dependency): its no-op async task, jobs deferred in batches, one worker draining the
  backlog (``wait=False``) at concurrency 1 and at ours; the better of the two is the
  figure we compare with.

Warm-up rounds (a few hundred jobs) run before every timed part and are excluded.
Logging stays at WARNING on both sides (no per-job log lines).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the standard library's ``queue`` (asyncio's imports need it):
# take bench/ off the import path so ``import queue`` finds the real one.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))

from pagewire.blobs import LocalBlobStore  # noqa: E402
from pagewire.models import JobInput, JobStatus, NewJob  # noqa: E402
from pagewire.settings import Settings  # noqa: E402
from pagewire.store import Store  # noqa: E402
from pagewire.store import tables as t  # noqa: E402
from pagewire.store.migrate import upgrade  # noqa: E402
from pagewire.worker.loop import Worker  # noqa: E402
from pagewire.worker.runner import Outcome, PageCallback, Task  # noqa: E402

PEERS_VENV = ROOT / "bench" / ".peers-venv"
PEER_SCRIPT = ROOT / "bench" / "_queue_peer.py"
PEER_PACKAGES = ("procrastinate", "psycopg[binary]")
PRODUCERS = 8
DEADLINE = 120.0  # no single measured phase may take longer than this


# -- the no-op job ---------------------------------------------------------------


class NoopRunner:
    """Runs a job in-process and does nothing, like procrastinate's no-op task.

    It still honours the runner contract: the result file exists when it says
    ``completed`` (the worker reads it back and stores it inline).
    """

    def __init__(self) -> None:
        self.started: dict[int, float] = {}

    async def run(self, task: Task, on_page: PageCallback) -> Outcome:
        self.started[task.options["seq"]] = time.monotonic()  # system-wide clock
        # As the extractor child does for a small result: it comes back in the message.
        return Outcome(
            "completed", page_count=0, result={"markdown": "", "pages": []}, result_size=29
        )


def noop_job(org_id: str, seq: int) -> NewJob:
    return NewJob(
        org_id=org_id,
        input=JobInput("noop.pdf", None, "application/pdf", "0" * 64, 1, "uploads/noop"),
        options={"seq": seq},
        metadata={},
    )


# -- our side ----------------------------------------------------------------------


@dataclass
class Backend:
    label: str
    url: str  # a plain URL, as in PAGEWIRE_DATABASE_URL; set once its database exists
    data_dir: Path  # the worker's blob volume and per-job work directories

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def _settings(backend: Backend, concurrency: int) -> Settings:
    return Settings(
        data_dir=backend.data_dir,
        database_url=backend.url,
        worker_concurrency=concurrency,
        listen_notify=True,
    )


async def _open_store(backend: Backend, concurrency: int, *, listen: bool) -> Store:
    settings = _settings(backend, concurrency)
    store = Store.from_settings(settings)
    if listen:
        await store.db.start_listening()
    return store


async def _count(store: Store, status: JobStatus) -> int:
    async with store.db.read() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).select_from(t.jobs).where(t.jobs.c.status == status)
                )
            ).scalar_one()
        )


async def _enqueue_many(
    store: Store, org_id: str, seqs: range, committed: dict[int, float] | None = None
) -> float:
    """Enqueue one job per transaction from PRODUCERS concurrent tasks; seconds taken.

    ``committed``: seq → monotonic time its enqueue returned, if given."""
    queue = iter(seqs)

    async def producer() -> None:
        for seq in queue:
            await store.jobs.enqueue(noop_job(org_id, seq))
            if committed is not None:
                committed[seq] = time.monotonic()

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(producer() for _ in range(PRODUCERS))), DEADLINE)
    return time.perf_counter() - started


async def _chunks(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@contextlib.asynccontextmanager
async def _running_worker(
    store: Store, backend: Backend, concurrency: int, runner: NoopRunner
) -> AsyncIterator[Worker]:
    settings = _settings(backend, concurrency)
    blobs = LocalBlobStore(backend.data_dir / "blobs")
    # Every no-op job's input: the worker fetches it into its scratch directory.
    await blobs.put_stream("uploads/noop", _chunks(b"%PDF-1.7"), max_bytes=100)
    worker = Worker(
        store,
        blobs,
        settings,
        runner=runner,
        worker_id="bench",
        concurrency=concurrency,
    )
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 30)


class CompletionCounter:
    """Counts the outcomes the worker records (wrapping ``store.leases.finish``), so the
    bench learns the moment the last job completed without polling the database."""

    def __init__(self, store: Store) -> None:
        self.completed = 0
        self._target = 0
        self._reached = asyncio.Event()
        finish = store.leases.finish

        async def counting_finish(*args: Any, **kwargs: Any) -> Any:
            job = await finish(*args, **kwargs)
            if job is not None and job.status is JobStatus.COMPLETED:
                self.completed += 1
                if self.completed >= self._target:
                    self._reached.set()
            return job

        store.leases.finish = counting_finish  # type: ignore[method-assign]

    async def wait_for(self, target: int, started: float) -> float:
        """Seconds from ``started`` until ``target`` jobs completed in all."""
        self._target = target
        if self.completed < target:
            self._reached.clear()
            await asyncio.wait_for(self._reached.wait(), DEADLINE)
        return time.monotonic() - started


async def _drain_round(
    store: Store,
    counter: CompletionCounter,
    backend: Backend,
    org_id: str,
    first_seq: int,
    jobs: int,
    concurrency: int,
) -> tuple[float, float]:
    """Enqueue a backlog, then time one worker draining it: (enqueue s, drain s)."""
    done_before = counter.completed
    enqueue_s = await _enqueue_many(store, org_id, range(first_seq, first_seq + jobs))
    runner = NoopRunner()
    started = time.monotonic()
    async with _running_worker(store, backend, concurrency, runner):
        drain_s = await counter.wait_for(done_before + jobs, started)
    return enqueue_s, drain_s


class ClaimRounds:
    """Counts the worker's claims (wrapping ``store.leases.claim``): which round took a job."""

    def __init__(self, store: Store) -> None:
        self.rounds = 0
        self.round_of: dict[str, int] = {}
        claim = store.leases.claim

        async def counting_claim(*args: Any, **kwargs: Any) -> Any:
            leases = await claim(*args, **kwargs)
            if leases:
                self.rounds += 1
                for lease in leases:
                    self.round_of[lease.job.id] = self.rounds
            return leases

        store.leases.claim = counting_claim  # type: ignore[method-assign]


async def _fairness_round(
    store: Store,
    counter: CompletionCounter,
    backend: Backend,
    orgs: tuple[str, str],
    first_seq: int,
    jobs: int,
    concurrency: int,
) -> dict[str, float]:
    """Org A's backlog of ``jobs``, then one job of org B; one worker drains them all.

    B's job waits behind A's whole backlog under FIFO claims; with the fair share it
    starts in the worker's first or second claim."""
    a_org, b_org = orgs
    committed: dict[int, float] = {}
    done_before = counter.completed
    await _enqueue_many(store, a_org, range(first_seq, first_seq + jobs), committed)
    b_seq = first_seq + jobs
    b_job, _ = await store.jobs.enqueue(noop_job(b_org, b_seq))
    committed[b_seq] = time.monotonic()
    rounds = ClaimRounds(store)
    runner = NoopRunner()
    started = time.monotonic()
    try:
        async with _running_worker(store, backend, concurrency, runner):
            drain_s = await counter.wait_for(done_before + jobs + 1, started)
    finally:
        del store.leases.claim  # the instance's wrapper: back to the method
    a_waits = [(runner.started[seq] - committed[seq]) * 1000 for seq in range(first_seq, b_seq)]
    return {
        "jobs": jobs + 1,
        "drain_s": drain_s,
        "drain_jobs_per_s": (jobs + 1) / drain_s,
        "claim_rounds": rounds.rounds,
        "b_claim_round": rounds.round_of[b_job.id],
        "b_enqueue_to_start_ms": (runner.started[b_seq] - committed[b_seq]) * 1000,
        "b_after_drain_start_ms": (runner.started[b_seq] - started) * 1000,
        "a_median_enqueue_to_start_ms": statistics.median(a_waits),
    }


async def _open_loop(
    store: Store, org_id: str, first_seq: int, count: int, rate: float
) -> tuple[dict[int, float], float]:
    """Submit ``count`` jobs at ``rate``/s, each at its scheduled time however late the
    previous one is; (seq → monotonic time its enqueue returned, offered-span seconds)."""
    committed: dict[int, float] = {}

    async def submit(seq: int) -> None:
        await store.jobs.enqueue(noop_job(org_id, seq))
        committed[seq] = time.monotonic()

    tasks = []
    t0 = time.monotonic()
    for i in range(count):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(submit(first_seq + i)))
    span = time.monotonic() - t0
    await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    return committed, span


async def _producer_process(url: str, org_id: str, first_seq: int, count: int, rate: float) -> None:
    """``--producer``: an API node of its own (another process, its own pool, no LISTEN)."""
    store = Store.from_settings(Settings(database_url=url, listen_notify=True))
    try:
        await _open_loop(store, org_id, first_seq, min(20, count), rate)  # warm the pool
        committed, span = await _open_loop(store, org_id, first_seq + 20, count, rate)
    finally:
        await store.close()
    print(json.dumps({"committed": committed, "span": span}), flush=True)


async def _latency(
    store: Store,
    counter: CompletionCounter,
    backend: Backend,
    org_id: str,
    first_seq: int,
    args: argparse.Namespace,
    seconds: float,
) -> dict[str, float]:
    """Enqueue→start with the worker idle-waiting for wake-ups.

    SQLite: the producer shares the worker's process and store (the embedded default),
    so the wake-up is the in-process signal. PostgreSQL: the producer is another
    process, as an API node is, so the only wake-up is LISTEN/NOTIFY.
    """
    count = int(args.rate * seconds)
    runner = NoopRunner()
    done_before = counter.completed
    async with _running_worker(store, backend, args.concurrency, runner):
        await asyncio.sleep(0.3)  # let the worker reach its idle wait
        if backend.is_sqlite:
            committed, span = await _open_loop(store, org_id, first_seq, count, args.rate)
        else:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--producer", backend.url, org_id,
                str(first_seq), str(count), str(args.rate),
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(proc.communicate(), DEADLINE)
            if proc.returncode != 0:
                raise RuntimeError(f"the producer process failed ({proc.returncode})")
            report = json.loads(out.decode().strip().splitlines()[-1])
            committed = {int(k): v for k, v in report["committed"].items()}
            span = report["span"]
            count += 20  # its warm-up jobs
        await counter.wait_for(done_before + count, time.monotonic())
    lat = sorted((runner.started[seq] - at) * 1000 for seq, at in committed.items())
    return {
        "jobs": count,
        "measured": len(lat),
        "offered_rate": args.rate,
        "achieved_rate": len(lat) / span if span else 0.0,
        "p50_ms": _pct(lat, 50),
        "p90_ms": _pct(lat, 90),
        "p99_ms": _pct(lat, 99),
        "max_ms": lat[-1],
        "mean_ms": statistics.fmean(lat),
    }


def _pct(values: list[float], p: float) -> float:
    index = min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))
    return values[index]


async def _check_events(store: Store) -> dict[str, int]:
    async with store.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.events.c.type, sa.func.count()).group_by(t.events.c.type)
            )
        ).all()
        jobs = int(
            (await conn.execute(sa.select(sa.func.count()).select_from(t.jobs))).scalar_one()
        )
    counts = {row[0]: int(row[1]) for row in rows}
    for kind in ("job.created", "job.processing", "job.completed"):
        if counts.get(kind) != jobs:
            raise AssertionError(f"{kind}: {counts.get(kind)} events for {jobs} jobs")
    return counts


class Ours:
    """One pagewire setup (a data dir, and a database per round): its drains and latency run.

    Every drain round, and the latency run, gets a fresh database with its own
    warm-up, as every procrastinate run does (``measure_peer``): neither side
    drains into a database the earlier rounds filled. ``admin_url`` names the
    PostgreSQL server to create them on; without it they are SQLite files.
    """

    def __init__(
        self, backend: Backend, args: argparse.Namespace, log: Any, admin_url: str = ""
    ) -> None:
        self.backend, self.args, self.log = backend, args, log
        self.admin_url = admin_url
        self.rounds: list[dict[str, float]] = []
        self.latency: dict[str, float] | None = None
        self.fairness: list[dict[str, float]] = []
        self.seq = 0
        self.databases = 0
        self.events: dict[str, int] = {}
        self.completed = 0
        self._database: contextlib.AbstractAsyncContextManager[str] | None = None

    async def __aenter__(self) -> Ours:
        await self._fresh_database()
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self._close_database()

    async def _fresh_database(self) -> None:
        """Close the current database (its events checked and counted), open a new one."""
        if self._database is not None or self.databases:
            await self._close_database()
        self.databases += 1
        if self.admin_url:
            self._database = scratch_database(self.admin_url, "pagewire_bench")
            self.backend.url = await self._database.__aenter__()
        else:
            self.backend.url = f"sqlite:///{self.backend.data_dir / f'bench-{self.databases}.db'}"
        self.store = await _open_store(self.backend, self.args.concurrency, listen=True)
        await upgrade(self.store.db)
        self.org_id = (await self.store.keys.ensure_org("bench")).id
        self.counter = CompletionCounter(self.store)
        # warm-up: compiled-statement caches, connection pools, the OS page cache
        await self._drain(self.args.warmup)

    async def _close_database(self) -> None:
        if getattr(self, "store", None) is None:
            return
        for kind, count in (await _check_events(self.store)).items():
            self.events[kind] = self.events.get(kind, 0) + count
        completed = await _count(self.store, JobStatus.COMPLETED)
        if completed != self.counter.completed:
            raise AssertionError(f"{completed} completed, {self.counter.completed} seen")
        self.completed += completed
        await self.store.close()
        self.store = None  # type: ignore[assignment]
        if self._database is not None:
            await self._database.__aexit__(None, None, None)
            self._database = None

    async def _drain(self, jobs: int) -> tuple[float, float]:
        first, self.seq = self.seq, self.seq + jobs
        return await _drain_round(
            self.store,
            self.counter,
            self.backend,
            self.org_id,
            first,
            jobs,
            self.args.concurrency,
        )

    async def drain_round(self) -> None:
        if self.rounds:
            await self._fresh_database()
        jobs = self.args.jobs
        enqueue_s, drain_s = await self._drain(jobs)
        self.rounds.append({"enqueue_s": enqueue_s, "drain_s": drain_s})
        self.log(
            f"  pagewire, {self.backend.label}, round {len(self.rounds)}: "
            f"enqueue {jobs / enqueue_s:,.0f} jobs/s, drain {jobs / drain_s:,.0f} jobs/s"
        )

    async def fairness_round(self) -> None:
        """Org A's big backlog, then org B's one job; and, each in a fresh database, the
        same backlog of one organization alone (the FIFO drain it is compared with)."""
        jobs = self.args.fair_jobs
        if jobs <= 0:
            return
        await self._fresh_database()
        _, fifo_s = await self._drain(jobs)
        await self._fresh_database()
        other = (await self.store.keys.ensure_org("bench-b")).id
        first, self.seq = self.seq, self.seq + jobs + 1
        fair = await _fairness_round(
            self.store,
            self.counter,
            self.backend,
            (self.org_id, other),
            first,
            jobs,
            self.args.concurrency,
        )
        fair["fifo_jobs_per_s"] = jobs / fifo_s
        fair["vs_fifo"] = fair["drain_jobs_per_s"] / fair["fifo_jobs_per_s"]
        self.fairness.append(fair)
        self.log(
            f"  pagewire, {self.backend.label}, fair share: B's job started in claim "
            f"{fair['b_claim_round']} of {fair['claim_rounds']}, "
            f"{fair['b_enqueue_to_start_ms']:.0f} ms after its enqueue "
            f"({fair['b_after_drain_start_ms']:.0f} ms into the drain; A's median "
            f"{fair['a_median_enqueue_to_start_ms']:,.0f} ms); drain "
            f"{fair['drain_jobs_per_s']:,.0f} jobs/s vs {fair['fifo_jobs_per_s']:,.0f} "
            f"for one organization's backlog ({fair['vs_fifo']:.0%})"
        )

    async def measure_latency(self) -> None:
        if self.args.seconds <= 0:
            return
        await self._fresh_database()  # not the drains' dead rows: a steady state
        await _latency(self.store, self.counter, self.backend, self.org_id, 0, self.args, 0.5)
        lat = await _latency(
            self.store, self.counter, self.backend, self.org_id, 10**6, self.args, self.args.seconds
        )
        self.latency = lat
        self.log(
            f"  pagewire, {self.backend.label}, enqueue→start at {self.args.rate:g}/s: "
            f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms"
        )

    async def figures(self) -> dict[str, Any]:
        await self._close_database()
        events, completed = self.events, self.completed
        drains = sorted(self.args.jobs / r["drain_s"] for r in self.rounds)
        enqueues = sorted(self.args.jobs / r["enqueue_s"] for r in self.rounds)
        return {
            "label": self.backend.label,
            "drain_jobs_per_s": statistics.median(drains),
            "drain_all": drains,
            "rounds": len(drains),
            "enqueue_jobs_per_s": statistics.median(enqueues),
            "latency": self.latency,
            "fairness": self.fairness,
            "events": events,
            "jobs_total": completed,
        }


# -- PostgreSQL scratch databases --------------------------------------------------


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(admin_url: str, database: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{database}"


@contextlib.asynccontextmanager
async def scratch_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(admin_url, name)
    finally:
        await _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- procrastinate's side ----------------------------------------------------------


def peer_python(log: Any) -> Path | None:
    """The peers' venv, built with uv on first use; None (and why) when it can't be."""
    python = PEERS_VENV / "bin" / "python"
    probe = [str(python), "-c", "import procrastinate, psycopg"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    uv = ROOT / ".venv" / "bin" / "uv"
    try:
        if not python.exists():
            subprocess.run([str(uv), "venv", str(PEERS_VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(uv), "pip", "install", "--python", str(python), *PEER_PACKAGES],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        log(f"!! could not build {PEERS_VENV} for procrastinate: {error} {detail.decode()[-500:]}")
        return None
    return python


async def measure_peer(
    python: Path, admin_url: str, concurrency: int, args: argparse.Namespace, log: Any
) -> dict[str, Any] | None:
    """One procrastinate drain, in a fresh database of its own; None when it failed."""
    async with scratch_database(admin_url, "pagewire_bench_peer") as url:
        proc = await asyncio.create_subprocess_exec(
            str(python),
            str(PEER_SCRIPT),
            url,
            str(args.peer_jobs),
            str(concurrency),
            str(args.warmup),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), DEADLINE + 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            log(f"!! procrastinate run (concurrency {concurrency}) timed out")
            return None
    if proc.returncode != 0:
        log(f"!! procrastinate run failed: {err.decode()[-1500:]}")
        return None
    run: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    log(
        f"  procrastinate {run['procrastinate']}, concurrency {concurrency}: "
        f"drain {run['jobs_per_second']:,.0f} jobs/s"
    )
    return run


def summarize_peer(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Median per concurrency; the better concurrency is the one we compare with."""
    if not runs:
        return None
    by_concurrency: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        by_concurrency.setdefault(run["concurrency"], []).append(run)
    summary = []
    for _, group in sorted(by_concurrency.items()):
        rates = sorted(r["jobs_per_second"] for r in group)
        summary.append({**group[0], "jobs_per_second": statistics.median(rates), "all": rates})
    return {"best": max(summary, key=lambda r: r["jobs_per_second"]), "runs": summary}


# -- report ------------------------------------------------------------------------


def render(results: dict[str, Any], args: argparse.Namespace, command: str) -> str:
    ours, peer = results["ours"], results.get("peer")
    base = peer["best"]["jobs_per_second"] if peer else None
    rows = [
        "| setup | drain (jobs/s) | vs procrastinate | enqueue (jobs/s) "
        f"| enqueue→start p50 @ {args.rate:g}/s | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for f in ours:
        lat = f["latency"]
        ratio = (
            f"{f['drain_jobs_per_s'] / base:.1f} x" if base and "SQLite" not in f["label"] else ""
        )
        timing = (
            f"{lat['p50_ms']:.1f} ms | {lat['p99_ms']:.1f} ms | {lat['max_ms']:.1f} ms"
            if lat
            else "n/a | n/a | n/a"
        )
        rows.append(
            f"| pagewire, {f['label']} | {f['drain_jobs_per_s']:,.0f} | {ratio} "
            f"| {f['enqueue_jobs_per_s']:,.0f} | {timing} |"
        )
    if peer is not None:
        for run in peer["runs"]:
            rows.append(
                f"| procrastinate {run['procrastinate']}, PostgreSQL, concurrency "
                f"{run['concurrency']} | {run['jobs_per_second']:,.0f} | "
                f"{run['jobs_per_second'] / base:.1f} x | "
                f"{run['jobs'] / run['defer_seconds']:,.0f} (batches of 1,000) | n/a | n/a | n/a |"
            )
    load = results["load"]
    lines = [
        "## Queue",
        "",
        f"Measured {results['when']} on {results['machine']}, with the machine's load "
        f"average {load['before']:.1f} before and {load['after']:.1f} after (other work was "
        "running: compare rows of one run, not runs). Reproduce with "
        f"`{command}` (`bench/.peers-venv` is built "
        "with uv on first use; a few minutes).",
        "",
        *rows,
        "",
    ]
    if peer is None:
        lines += ["procrastinate could not be measured in this run (see the bench's output).", ""]
    else:
        lines += [
            f"procrastinate: {peer['best']['procrastinate']} with psycopg "
            f"{peer['best']['psycopg']} (Python {peer['best']['python']}), in its own venv; "
            "the ratio column divides by its better run.",
            "",
        ]
    lines += _render_fairness(ours, args)
    lines += [
        "What the figures include:",
        "",
        f"- **drain**: a backlog of {args.jobs:,} pending no-op jobs drained by one worker "
        f"process (concurrency {args.concurrency}; the median of "
        f"{', '.join(str(f['rounds']) + ' (' + f['label'] + ')' for f in ours)} rounds; "
        "on PostgreSQL our rounds alternate with procrastinate's). For "
        "pagewire that is the real `Worker`: batch claims with leases, a heartbeat task and "
        "the job's small result returned in memory and stored inline (as the extractor "
        "child returns results up to 256 KB through its pipe), the "
        "lease-guarded finish, and every job's `job.processing` and `job.completed` events "
        "written through the transactional outbox in those same transactions (the bench "
        "checks that all three events exist for every job). A `NoopRunner` stands in for "
        "the extractor child process. procrastinate runs its no-op `async` task "
        f"in-process ({args.peer_jobs:,} jobs per run); it writes no files, and no events "
        "of its own, but its schema's triggers write a `procrastinate_events` row at each "
        "of a job's status changes.",
        "- **the same database treatment on both sides**: every drain round, ours and "
        "procrastinate's, runs in a fresh database of its own (schema applied, then a "
        "warm-up) that is dropped after it; the latency run gets a fresh one too. Neither "
        "side drains into tables earlier rounds filled with dead rows.",
        "- **data dir on disk / on tmpfs**: where `PAGEWIRE_DATA_DIR` (the blob volume, "
        "of uploads and large results) lives: the system temp directory on this "
        "machine's ext4 disk, or `/dev/shm`. The database is the same PostgreSQL server "
        "either way; no-op jobs touch no file, so the two should agree.",
        f"- **enqueue**: one job per transaction from {PRODUCERS} concurrent producers, each "
        "with its `job.created` event and wake-up, as the API submits. procrastinate's is "
        "`batch_defer_async`, not comparable, shown for completeness.",
        f"- **enqueue→start**: {args.rate:g} jobs/s offered for {args.seconds:g} s (open "
        "loop) to an idle worker, from `enqueue()` returning (just after COMMIT) to the "
        "runner starting that job, on one system-wide monotonic clock. It includes the "
        "wake-up, the claim transaction with its `job.processing` event, and scheduling. "
        "SQLite: producer and worker share one process and store (the embedded default), "
        "woken by the in-process signal. PostgreSQL: the producer is a separate process "
        "with its own pool, as an API node is, so the only wake-up is LISTEN/NOTIFY.",
        "- Warm-up rounds are excluded. Python logging at WARNING on both sides (no per-job "
        "log lines). PostgreSQL runs on the same machine (loopback), `synchronous_commit` on.",
        "",
    ]
    return "\n".join(lines)


def _render_fairness(ours: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    runs = [(f["label"], run) for f in ours for run in f.get("fairness", [])]
    if not runs:
        return []
    rows = [
        "### Fair share between organizations",
        "",
        f"Organization A enqueues {args.fair_jobs:,} no-op jobs, then organization B one; "
        "then one worker (concurrency "
        f"{args.concurrency}) drains all of them. Under FIFO claims B's job would start "
        "last. The drain is compared with the same backlog of one organization alone, "
        "each in a fresh database of the same run.",
        "",
        "| setup | B's job: claim round (of all) | B: enqueue→start | into the drain "
        "| A: median enqueue→start | drain (jobs/s) | one org's drain | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in runs:
        rows.append(
            f"| pagewire, {label} | {r['b_claim_round']} (of {r['claim_rounds']}) "
            f"| {r['b_enqueue_to_start_ms']:,.0f} ms | {r['b_after_drain_start_ms']:,.0f} ms "
            f"| {r['a_median_enqueue_to_start_ms']:,.0f} ms | {r['drain_jobs_per_s']:,.0f} "
            f"| {r['fifo_jobs_per_s']:,.0f} | {r['vs_fifo']:.0%} |"
        )
    return [*rows, ""]


def summary(results: dict[str, Any], args: argparse.Namespace) -> list[dict[str, str]]:
    """The page's summary rows, from this run's figures."""
    rows = []
    peer = results.get("peer")
    on_pg = [f for f in results["ours"] if "SQLite" not in f["label"]]
    if peer and on_pg:
        base = peer["best"]["jobs_per_second"]
        ratios = [f["drain_jobs_per_s"] / base for f in on_pg]
        ours = ", ".join(f"{f['drain_jobs_per_s']:,.0f}" for f in on_pg)
        rows.append(
            {
                "figure": "queue drain on PostgreSQL vs procrastinate (each round in a fresh "
                "database, both sides)",
                "target": "≥ 5x",
                "measured": f"{min(ratios):.1f}-{max(ratios):.1f}x ({ours} vs {base:,.0f} jobs/s)",
            }
        )
    fair = [(f["label"], r) for f in results["ours"] for r in f.get("fairness", [])]
    if fair:
        rows.append(
            {
                "figure": f"fair share: one job of B after A's {args.fair_jobs:,}; drain vs "
                "one organization's",
                "target": "B starts within 2 claim rounds; drain within 10%",
                "measured": "; ".join(
                    f"round {r['b_claim_round']}, {r['vs_fifo']:.0%} ({label})" for label, r in fair
                ),
            }
        )
    latency = [
        f"{f['latency']['p99_ms']:.1f} ms ({f['label']})" for f in results["ours"] if f["latency"]
    ]
    if latency:
        rows.append(
            {
                "figure": f"queue enqueue→start p99 at {args.rate:g} jobs/s",
                "target": "≤ 20 ms",
                "measured": ", ".join(latency),
            }
        )
    return rows


async def main(args: argparse.Namespace) -> int:
    if args.producer:
        url, org_id, first, count, rate = args.producer
        await _producer_process(url, org_id, int(first), int(count), float(rate))
        return 0
    logging.basicConfig(level=logging.WARNING)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", flush=True)

    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        "load": {"before": os.getloadavg()[0]},
        "args": {k: v for k, v in vars(args).items() if k != "producer"},
        "ours": [],
    }
    log(f"load average {results['load']['before']:.2f} on {os.cpu_count()} cores")
    with contextlib.ExitStack() as dirs:
        async with contextlib.AsyncExitStack() as stack:
            tmp = Path(dirs.enter_context(tempfile.TemporaryDirectory(prefix="pagewire-bench-")))
            log("pagewire on SQLite (data dir on disk)")
            (tmp / "sqlite").mkdir()
            sqlite = Backend("SQLite", "", tmp / "sqlite")
            async with Ours(sqlite, args, log) as ours:
                for _ in range(args.rounds):
                    await ours.drain_round()
                await ours.measure_latency()
                await ours.fairness_round()
                results["ours"].append(await ours.figures())

            admin = args.postgres
            try:
                await _pg_admin(admin, "SELECT 1")
            except Exception as error:
                log(f"!! PostgreSQL at {admin} is not reachable ({error}); SQLite figures only")
                admin = ""
            if admin:
                setups = [Backend("PostgreSQL, data dir on disk", "", tmp / "postgres")]
                shm = Path("/dev/shm")
                if shm.is_dir() and os.access(shm, os.W_OK):
                    fast = dirs.enter_context(tempfile.TemporaryDirectory(prefix="pb-", dir=shm))
                    setups.append(Backend("PostgreSQL, data dir on tmpfs", "", Path(fast)))
                log("pagewire on PostgreSQL, rounds interleaved with procrastinate's")
                pgs = []
                for setup in setups:
                    pgs.append(await stack.enter_async_context(Ours(setup, args, log, admin)))
                python = None if args.no_peer else peer_python(log)
                if python is None and not args.no_peer:
                    log("!! procrastinate not measured: its venv could not be built (see above)")
                peer_runs = []
                for _ in range(args.rounds):
                    for concurrency in sorted({1, args.concurrency}):
                        for pg in pgs:
                            await pg.drain_round()
                        if python is not None:
                            run = await measure_peer(python, admin, concurrency, args, log)
                            if run is not None:
                                peer_runs.append(run)
                for pg in pgs:
                    await pg.measure_latency()
                    await pg.fairness_round()
                    results["ours"].append(await pg.figures())
                results["peer"] = summarize_peer(peer_runs)
    results["load"]["after"] = os.getloadavg()[0]

    section = render(results, args, ".venv/bin/python bench/queue.py")
    print()
    print(section)
    sys.path.append(str(ROOT / "bench"))  # last: its queue.py must not shadow the stdlib's
    import _results

    written = _results.write(
        "queue",
        title="Queue",
        command=".venv/bin/python bench/queue.py",
        section=section.removeprefix("## Queue").strip(),
        figures=results,
        summary=summary(results, args),
        load_before=results["load"]["before"],
        quick=args.quick,
    )
    log(f"wrote {written.relative_to(ROOT)}")
    log(f"done; load average {results['load']['after']:.2f}")
    return 0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--postgres",
        default=os.environ.get(
            "PAGEWIRE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="admin URL; scratch databases are created and dropped there",
    )
    p.add_argument("--jobs", type=int, default=2000, help="backlog per drain round")
    p.add_argument("--peer-jobs", type=int, default=1500, help="procrastinate's backlog")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--rate", type=float, default=200.0, help="jobs/s offered for latency")
    p.add_argument("--seconds", type=float, default=5.0, help="latency run length")
    p.add_argument(
        "--fair-jobs", type=int, default=10_000, help="org A's backlog in the fair-share run"
    )
    p.add_argument("--no-peer", action="store_true", help="skip procrastinate")
    p.add_argument(
        "--quick", action="store_true", help="a check that the bench works: a few jobs, 1 round"
    )
    p.add_argument("--producer", nargs=5, help=argparse.SUPPRESS)  # the latency producer
    args = p.parse_args()
    if args.quick:
        args.jobs, args.peer_jobs, args.rounds, args.warmup, args.seconds = 200, 200, 1, 50, 1.0
        args.fair_jobs = 500
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
