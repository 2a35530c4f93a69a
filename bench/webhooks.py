"""Webhook figures: deliveries/s, commit→receipt latency, isolation, and the bare-loop peer.

    .venv/bin/python bench/webhooks.py [--postgres-admin URL] [--quick]

What it measures, on this machine, in one run (loopback only, every phase bounded):

* **bare loop** (requests/s): the same HTTP client (aiohttp, one session) POSTing the
  same payload with a webhook's headers (fixed values of the same sizes) to the same
  receiver at the same concurrency, with nothing else: no database, no signing. It is the ceiling of this machine for this client.
* **drain throughput** (deliveries/s): ``--events`` events are written to the outbox
  first (not timed), then one ``Dispatcher`` (the real claim loop, leases, signing,
  SSRF-guarded connector, batched attempt recording) delivers them. The clock stops
  when the receiver has answered the last one; the bench then checks that every
  delivery is recorded ``succeeded``. On SQLite and PostgreSQL.
* **commit→receipt latency** (p50/p99/max): a producer writes one event per
  transaction at a steady ``--rate`` per second (open loop), on its own connection
  pool; latency runs from just after its COMMIT to the receiver's arrival time for
  that ``webhook-id`` (the same clock: one machine).
* **one dead endpoint beside nine**: nine healthy endpoints, each event going to all
  of them, alone and then beside a tenth that is a black hole: it accepts connections
  and never answers (the worst kind of dead: every attempt holds a slot until the
  timeout), with 32 messages of its own. Both runs use the same shortened timeout
  (``--dead-timeout``) and retry schedule, so the dead endpoint's attempts time out
  and retry within the run. Figure: the nine endpoints' deliveries/s in both runs, and the dead one's attempts.

Every run writes bench/results/webhooks.json (``--quick``: a few events, to check the
bench works; marked so, and refused by bench/render_performance.py).

The receiver (bench/_webhook_receiver.py) is a fast HTTP/1.1 server in its own
process, httptools on uvloop: it records each webhook-id's arrival time and answers
204. It shares the cores with the sender, so it should cost as little as a
receiver can. Logging is at WARNING on our side.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds a queue.py, which would shadow the standard library's (asyncio needs it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))

import aiohttp  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from pagewire.dispatch.dispatcher import Dispatcher  # noqa: E402
from pagewire.dispatch.sender import USER_AGENT  # noqa: E402
from pagewire.ids import new_id  # noqa: E402
from pagewire.models import NewEvent  # noqa: E402
from pagewire.security.encryption import new_key_entry  # noqa: E402
from pagewire.settings import Settings  # noqa: E402
from pagewire.store import Store, outbox  # noqa: E402
from pagewire.store import tables as t  # noqa: E402
from pagewire.store.migrate import upgrade  # noqa: E402

DEADLINE = 120.0
# CPU seconds this process spent per request (bare loop) or per delivery (drain),
# from the last run of each: the figure the machine's other load does not move much.
# The receiver's too (its process id in RECEIVER_PID once it runs).
CPU: dict[str, float] = {}
RECEIVER_PID: list[int] = []
PAYLOAD_DATA = {
    "status": "completed",
    "sequence": 3,
    "metadata": {"user_id": "u_123", "record": "inv-2026-0042"},
    "page_count": 17,
}


# -- the receiver (its own process: bench/_webhook_receiver.py) -------------------


class ReceiverProcess:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-P",
                str(Path(__file__).with_name("_webhook_receiver.py")),
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{self.url}/stats") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError("the receiver did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


async def receiver_count(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/stats") as r:
        return int((await r.json())["count"])


async def receiver_times(session: aiohttp.ClientSession, url: str) -> dict[str, float]:
    async with session.get(f"{url}/stats?times=1") as r:
        return dict(await r.json())


async def receiver_reset(session: aiohttp.ClientSession, url: str) -> None:
    async with session.post(f"{url}/reset") as r:
        await r.read()


async def wait_count(session: aiohttp.ClientSession, url: str, count: int) -> float:
    """Poll until the receiver saw ``count`` distinct ids; returns when (monotonic)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if await receiver_count(session, url) >= count:
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise RuntimeError(f"only {await receiver_count(session, url)} of {count} arrived in time")


# -- databases ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(kind: str, admin_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database (a SQLite file, or a scratch PostgreSQL database)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import asyncpg

    name = f"pagewire_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# Seals the endpoints' secrets (docs/security.md), shared by the bench and its dispatchers.
ENCRYPTION_KEYS = new_key_entry()


def bench_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "encryption_keys": ENCRYPTION_KEYS,
        "allow_private_urls": True,
        "webhook_retry_schedule": "0,5,300",
        "drain_seconds": 1.0,
        "poll_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(**values)


async def make_endpoints(store: Store, urls: list[str]) -> tuple[str, list[str]]:
    org = await store.keys.ensure_org(f"bench-{uuid.uuid4().hex[:6]}")
    ids = [(await store.webhooks.create_endpoint(org.id, url)).id for url in urls]
    return org.id, ids


def payload(job_id: str) -> dict[str, Any]:
    return {
        "type": "job.completed",
        "timestamp": "2026-11-28T23:00:00.000Z",
        "data": {"job_id": job_id, **PAYLOAD_DATA, "url": f"http://127.0.0.1/job/{job_id}"},
    }


async def backlog(store: Store, org_id: str, count: int) -> None:
    """``count`` events in the outbox, 500 per transaction (not timed)."""
    for start in range(0, count, 500):
        events = []
        for _ in range(min(500, count - start)):
            job_id = new_id("job")
            events.append(
                NewEvent(org_id, "job.completed", payload(job_id), job_id=job_id, sequence=3)
            )
        async with store.db.write() as conn:
            await outbox.append(store.db, conn, events, now=await store.db.current_time())


async def dead_backlog(store: Store, org_id: str, endpoint_id: str, count: int) -> None:
    """``count`` test events for the dead endpoint only (not timed)."""
    events = [
        NewEvent(
            org_id,
            "webhook.test",
            {"type": "webhook.test", "timestamp": "2026-11-28T23:00:00.000Z", "data": {}},
            only_endpoint_id=endpoint_id,
        )
        for _ in range(count)
    ]
    async with store.db.write() as conn:
        await outbox.append(store.db, conn, events, now=await store.db.current_time())


async def switch_endpoints(store: Store, *, on: bool) -> None:
    """Let the dispatchers claim (``on``) or not, and wake them."""
    async with store.db.write() as conn:
        await conn.execute(t.endpoints.update().values(enabled=on))
        await store.db.notify(conn, "pagewire_deliveries")


async def pending(store: Store) -> int:
    async with store.db.read() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).where(t.deliveries.c.status != "succeeded")
                )
            ).scalar_one()
        )


@contextlib.asynccontextmanager
async def dispatching(store: Store, settings: Settings, **kwargs: Any) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher(store, settings, **kwargs)
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 30)


# -- the phases -------------------------------------------------------------------


async def bare_loop(url: str, count: int, concurrency: int) -> float:
    body = json.dumps(payload(new_id("job"))).encode()
    # The headers of a webhook, of the same sizes, but nothing computed: no signing.
    signature = "v1," + base64.b64encode(os.urandom(32)).decode()
    timestamp = str(int(time.time()))
    sent = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            nonlocal sent
            while sent < count:
                sent += 1
                headers = {
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                    "webhook-id": new_id("msg"),
                    "webhook-timestamp": timestamp,
                    "webhook-signature": signature,
                }
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()

        received = process_cpu_seconds(RECEIVER_PID[0]) if RECEIVER_PID else 0.0
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        CPU["bare"] = (time.process_time() - cpu) / count
        if RECEIVER_PID:
            CPU["bare_receiver"] = (process_cpu_seconds(RECEIVER_PID[0]) - received) / count
        return count / (time.perf_counter() - started)


async def bare_in_processes(url: str, count: int, concurrency: int, processes: int) -> float:
    """The bare loop in ``processes`` processes at once, ``count`` requests each: what
    this client can do with every core, requests/s from a common start to the last end."""
    start_at = time.time() + 3.0  # after every child has imported what it needs
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            __file__,
            "--bare-child",
            url,
            "--bare-start-at",
            str(start_at),
            "--events",
            str(count),
            "--concurrency",
            str(concurrency),
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    ends = []
    for child in children:
        out, _ = await child.communicate()
        if child.returncode != 0:
            raise RuntimeError("a bare-loop process failed")
        ends.append(float(out.decode().split()[-1]))
    return count * processes / (max(ends) - start_at)


async def bare_child(url: str, start_at: float, count: int, concurrency: int) -> None:
    await asyncio.sleep(max(0.0, start_at - time.time()))
    await bare_loop(url, count, concurrency)
    print(time.time(), flush=True)


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds one process (the receiver) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float | None:
    """CPU seconds used so far by this machine's PostgreSQL processes (None elsewhere)."""
    total, ticks, found = 0, os.sysconf("SC_CLK_TCK"), False
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if not (proc / "comm").read_text().startswith("postgres"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime + stime
        found = True
    return total / ticks if found else None


async def drain(
    url: str, receiver: ReceiverProcess, http: aiohttp.ClientSession, count: int, concurrency: int
) -> float:
    settings = bench_settings(
        url, webhook_concurrency=concurrency, webhook_per_endpoint_concurrency=concurrency
    )
    store = Store.from_settings(settings)
    try:
        await upgrade(store.db)
        org_id, _ = await make_endpoints(store, [f"{receiver.url}/hook"])
        await backlog(store, org_id, count)
        await receiver_reset(http, receiver.url)
        pg_before = None if store.db.dialect.name == "sqlite" else postgres_cpu_seconds()
        received = process_cpu_seconds(receiver.proc.pid)
        started, cpu = time.monotonic(), time.process_time()
        async with dispatching(store, settings):
            finished = await wait_count(http, receiver.url, count)
            CPU["drain"] = (time.process_time() - cpu) / count
            # How much of the drain the dispatcher's thread was running: short of 100%,
            # it waited (for a claim, a wake-up) with requests it could have sent.
            CPU["drain_busy"] = (time.process_time() - cpu) / (finished - started)
            CPU["drain_receiver"] = (process_cpu_seconds(receiver.proc.pid) - received) / count
            pg_after = postgres_cpu_seconds()
            if pg_before is not None and pg_after is not None:
                CPU["postgres"] = (pg_after - pg_before) / count
            while await pending(store):
                await asyncio.sleep(0.05)
        return count / (finished - started)
    finally:
        await store.close()


async def drain_processes(
    url: str,
    receiver: ReceiverProcess,
    http: aiohttp.ClientSession,
    count: int,
    concurrency: int,
    processes: int,
) -> float:
    """The same drain by ``processes`` real ``pagewire dispatch`` processes of
    ``concurrency`` each (the PostgreSQL scale-out: they split the work with SKIP
    LOCKED). Compared with a bare loop of the same total concurrency."""
    settings = bench_settings(url)
    store = Store.from_settings(settings)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await upgrade(store.db)
        org_id, _ = await make_endpoints(store, [f"{receiver.url}/hook"])
        await backlog(store, org_id, count)
        # The endpoint is switched off until every process has started: start-up
        # (imports, connecting) is neither delivery time nor delivery CPU, and all
        # start together. (Switched in SQL: the API's disable would fail the backlog.)
        await switch_endpoints(store, on=False)
        await receiver_reset(http, receiver.url)
        env = {
            **os.environ,
            "PAGEWIRE_DATABASE_URL": url,
            "PAGEWIRE_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
            "PAGEWIRE_ALLOW_PRIVATE_URLS": "true",
            "PAGEWIRE_WEBHOOK_CONCURRENCY": str(concurrency),
            "PAGEWIRE_WEBHOOK_PER_ENDPOINT_CONCURRENCY": str(concurrency),
            "PAGEWIRE_LOG_LEVEL": "INFO",
            "PAGEWIRE_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT / "src"),
        }
        with tempfile.TemporaryDirectory() as tmp:
            logs = [Path(tmp) / f"dispatch-{i}.log" for i in range(processes)]
            for log in logs:
                with log.open("wb") as out:
                    procs.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "pagewire.cli", "dispatch"],
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                        )
                    )
            deadline = time.monotonic() + 60
            while not all("dispatcher started" in log.read_text() for log in logs):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("the dispatch processes did not start")
                await asyncio.sleep(0.05)
        cpu = sum(process_cpu_seconds(p.pid) for p in procs)
        pg_before = postgres_cpu_seconds()
        started = time.time()
        await switch_endpoints(store, on=True)  # and a NOTIFY wakes them
        await wait_count(http, receiver.url, count)
        done = time.time()
        CPU["processes"] = (sum(process_cpu_seconds(p.pid) for p in procs) - cpu) / count
        pg_after = postgres_cpu_seconds()
        if pg_before is not None and pg_after is not None:
            CPU["processes_postgres"] = (pg_after - pg_before) / count
        return count / (done - started)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        await store.close()


async def latency(
    url: str, receiver: ReceiverProcess, http: aiohttp.ClientSession, rate: float, seconds: float
) -> list[float]:
    settings = bench_settings(url)
    store = Store.from_settings(settings)
    # PostgreSQL: the producer has its own pool, so wake-ups must come through NOTIFY.
    # SQLite: the API and the dispatcher share one process and one store (embedded mode).
    producer = store if store.db.dialect.name == "sqlite" else Store.from_settings(settings)
    try:
        await upgrade(store.db)
        await store.db.start_listening()
        org_id, _ = await make_endpoints(store, [f"{receiver.url}/hook"])
        committed: dict[str, float] = {}
        async with dispatching(store, settings):
            await backlog(producer, org_id, 50)  # warm-up, not counted
            await wait_count(http, receiver.url, 50)
            await receiver_reset(http, receiver.url)
            start = time.monotonic()
            count = int(rate * seconds)
            for i in range(count):
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                job_id = new_id("job")
                event = NewEvent(org_id, "job.completed", payload(job_id), job_id=job_id)
                now = await producer.db.current_time()
                async with producer.db.write() as conn:
                    [event_id] = await outbox.append(producer.db, conn, [event], now=now)
                committed[event_id] = time.time()
            await wait_count(http, receiver.url, count)
            deadline = time.monotonic() + DEADLINE
            while not set(committed) <= set(times := await receiver_times(http, receiver.url)):
                if time.monotonic() > deadline:
                    raise RuntimeError("some events never arrived")
                await asyncio.sleep(0.05)
        return sorted((times[e] - c) * 1000 for e, c in committed.items())
    finally:
        if producer is not store:
            await producer.close()
        await store.close()


# The dead-endpoint runs: the same short timeout and retry schedule for both, so that
# within a run of a few seconds the dead endpoint's attempts do time out and retry.
DEAD_RETRY_SCHEDULE = "0,0.5,1,2,4"
# The dead endpoint's own messages: few enough that, at the concurrency the dispatcher
# gives a failing endpoint, their retries come within a run of seconds.
DEAD_EVENTS = 32


async def ten_endpoints(
    url: str,
    receiver: ReceiverProcess,
    http: aiohttp.ClientSession,
    events: int,
    dead: bool,
    timeout: float,
) -> tuple[float, dict[str, float]]:
    """Deliveries/s to nine healthy endpoints: alone, or beside a dead tenth.

    The baseline has no tenth endpoint at all (a healthy tenth would do work the
    dead one does not), so both runs deliver exactly the same nine endpoints' events;
    the only difference is the dead endpoint's attempts. Also returns how many of
    those attempts were made and how many of its deliveries were retried.
    """
    settings = bench_settings(
        url,
        webhook_timeout_seconds=timeout,
        webhook_lease_seconds=max(60.0, 4 * timeout),
        webhook_retry_schedule=DEAD_RETRY_SCHEDULE,
    )
    store = Store.from_settings(settings)
    try:
        await upgrade(store.db)
        urls = [f"{receiver.url}/hook?n={i}" for i in range(9)]
        org_id, _ = await make_endpoints(store, urls)
        if dead:
            # Its own DEAD_EVENTS messages, not the whole stream: a backlog of 20,000
            # first attempts would keep its retries (served after them, in order) out of
            # any run of seconds, and the run must show timeouts *and* retries.
            dead_endpoint = await store.webhooks.create_endpoint(
                org_id, f"{receiver.url}/dead", event_types=["webhook.test"]
            )
            await dead_backlog(store, org_id, dead_endpoint.id, DEAD_EVENTS)
        await backlog(store, org_id, events)
        await receiver_reset(http, receiver.url)
        started = time.monotonic()
        async with dispatching(store, settings):
            # The receiver counts distinct webhook-ids; count healthy deliveries in the store.
            deadline = started + DEADLINE
            while True:
                async with store.db.read() as conn:
                    done = (
                        await conn.execute(
                            sa.select(sa.func.count()).where(
                                t.deliveries.c.status == "succeeded",
                                t.deliveries.c.endpoint_id.in_(
                                    sa.select(t.endpoints.c.id).where(
                                        t.endpoints.c.url.like("%/hook?n=%")
                                    )
                                ),
                            )
                        )
                    ).scalar_one()
                if done >= 9 * events or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
        await receiver_reset(http, receiver.url)
        dead_side = {"seconds": elapsed, "attempts": 0.0, "retried": 0.0}
        if dead:
            d = t.deliveries.c
            on_dead = d.endpoint_id.in_(
                sa.select(t.endpoints.c.id).where(t.endpoints.c.url.like("%/dead"))
            )
            async with store.db.read() as conn:
                dead_side["attempts"] = float(
                    (
                        await conn.execute(sa.select(sa.func.sum(d.attempts)).where(on_dead))
                    ).scalar_one()
                    or 0
                )
                dead_side["retried"] = float(
                    (
                        await conn.execute(
                            sa.select(sa.func.count()).where(on_dead, d.attempts > 1)
                        )
                    ).scalar_one()
                )
        return done / elapsed, dead_side
    finally:
        await store.close()


# -- the run ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


async def rounds(
    kind: str,
    args: argparse.Namespace,
    hook: str,
    bare_concurrency: int,
    run_drain: Callable[[str], Awaitable[float]],
    suffix: str,
) -> dict[str, Any]:
    """``args.rounds`` of (bare loop, drain, bare loop): medians of the rates, the
    ratios and the CPU figures, keyed ``drain{suffix}``, ``bare{suffix}``, ..."""
    drains, bares, ratios = [], [], []
    cpu: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        before = await bare_loop(hook, args.events, bare_concurrency)
        async with database(kind, args.postgres_admin) as url:
            rate = await run_drain(url)
        after = await bare_loop(hook, args.events, bare_concurrency)
        bare = (before + after) / 2
        drains.append(rate)
        bares.append(bare)
        ratios.append(rate / bare)
        for name, value in CPU.items():
            cpu.setdefault(name, []).append(value)
        print(
            f"{kind}: drain{suffix} {rate:,.0f} deliveries/s, bare loop (concurrency "
            f"{bare_concurrency}) {before:,.0f} and {after:,.0f} requests/s",
            flush=True,
        )
    median = statistics.median
    figures: dict[str, Any] = {
        f"drain{suffix}": median(drains),
        f"bare{suffix}": median(bares),
        f"ratio{suffix}": median(ratios),
        f"ratio{suffix}_range": (min(ratios), max(ratios)),
    }
    names = {
        "": {
            "drain": "cpu_drain_us",
            "drain_busy": "busy_drain",
            "bare": "cpu_bare_us",
            "drain_receiver": "cpu_drain_receiver_us",
            "bare_receiver": "cpu_bare_receiver_us",
            "postgres": "cpu_postgres_us",
        },
        "_processes": {
            "processes": "cpu_processes_us",
            "processes_postgres": "cpu_processes_postgres_us",
        },
    }[suffix]
    for name, key in names.items():
        if cpu.get(name):
            figures[key] = median(cpu[name]) * (1 if key.startswith("busy") else 1e6)
    CPU.clear()
    return figures


async def main(args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING)
    receiver = ReceiverProcess()
    RECEIVER_PID.append(receiver.proc.pid)
    results: dict[str, Any] = {"backends": {}}
    try:
        async with aiohttp.ClientSession() as http:
            await receiver.ready(http)
            hook = f"{receiver.url}/hook"
            await bare_loop(hook, 2000, args.concurrency)  # warm-up
            for kind in args.backends:
                async with database(kind, args.postgres_admin) as url:
                    figures: dict[str, Any] = {}
                    await drain(url, receiver, http, 1000, args.concurrency)  # warm-up

                # The machine is shared and its speed wanders: each round runs the bare
                # loop right before and after the drain and compares the drain with
                # their mean; the figures are the medians over the rounds.
                async def one_dispatcher(url: str) -> float:
                    return await drain(url, receiver, http, args.events, args.concurrency)

                figures.update(await rounds(kind, args, hook, args.concurrency, one_dispatcher, ""))
                if kind == "postgres" and args.processes > 1:
                    # Each process has the concurrency of one dispatcher (its batches
                    # grow with it); the bare loop gets the same total in flight.
                    async def several(url: str) -> float:
                        return await drain_processes(
                            url, receiver, http, args.events, args.concurrency, args.processes
                        )

                    total = args.processes * args.concurrency
                    figures.update(await rounds(kind, args, hook, total, several, "_processes"))
                    # And the bare loop with as many processes: the client on every core.
                    spread = [
                        await bare_in_processes(hook, args.events, args.concurrency, args.processes)
                        for _ in range(args.rounds)
                    ]
                    figures["bare_in_processes"] = statistics.median(spread)
                    print(
                        f"{kind}: bare loop in {args.processes} processes "
                        + ", ".join(f"{rate:,.0f}" for rate in spread)
                        + " requests/s",
                        flush=True,
                    )
                async with database(kind, args.postgres_admin) as url:
                    lat = await latency(url, receiver, http, args.rate, args.seconds)
                    figures["latency"] = {
                        "p50": percentile(lat, 0.50),
                        "p99": percentile(lat, 0.99),
                        "max": lat[-1],
                        "count": len(lat),
                    }
                    print(f"{kind}: latency {figures['latency']}", flush=True)
                per = args.events // 10
                # Alternated and repeated, so the machine's other load falls on both alike.
                runs: dict[bool, list[float]] = {False: [], True: []}
                dead_sides: list[dict[str, float]] = []
                for _ in range(args.repeats):
                    for dead in (False, True):
                        async with database(kind, args.postgres_admin) as url:
                            rate, side = await ten_endpoints(
                                url, receiver, http, per, dead, args.dead_timeout
                            )
                        runs[dead].append(rate)
                        if dead:
                            dead_sides.append(side)
                figures["ten_healthy"] = statistics.mean(runs[False])
                figures["one_dead"] = statistics.mean(runs[True])
                figures["dead_attempts"] = statistics.mean(s["attempts"] for s in dead_sides)
                figures["dead_retried"] = statistics.mean(s["retried"] for s in dead_sides)
                figures["dead_run_seconds"] = statistics.mean(s["seconds"] for s in dead_sides)
                print(
                    f"{kind}: nine healthy endpoints alone {figures['ten_healthy']:,.0f}/s, "
                    f"beside a dead tenth {figures['one_dead']:,.0f}/s "
                    f"({figures['dead_attempts']:.0f} attempts to it, "
                    f"{figures['dead_retried']:.0f} deliveries retried)",
                    flush=True,
                )
                results["backends"][kind] = figures
    finally:
        receiver.stop()
    return results


def total_cpu(figures: dict[str, Any]) -> float:
    """The drain's CPU per delivery over every process it keeps busy, µs."""
    return float(
        figures["cpu_drain_us"]
        + figures["cpu_drain_receiver_us"]
        + figures.get("cpu_postgres_us", 0.0)
    )


def share(figures: dict[str, Any], suffix: str) -> str:
    """The drain's median share of the bare loop, and its range over the rounds."""
    low, high = figures[f"ratio{suffix}_range"]
    return f"{figures[f'ratio{suffix}']:.0%} of bare; {low:.0%}-{high:.0%}"


def table(results: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        "| figure | SQLite | PostgreSQL | target |",
        "|---|---|---|---|",
    ]

    def row(
        name: str, fmt: Any, target: str, kinds: tuple[str, ...] = ("sqlite", "postgres")
    ) -> None:
        cells = []
        for kind in ("sqlite", "postgres"):
            figures = results["backends"].get(kind)
            cells.append(fmt(figures) if figures and kind in kinds else "")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {target} |")

    row(
        f"drain, deliveries/s ({args.events:,} events, one dispatcher, concurrency "
        f"{args.concurrency}, and per-endpoint concurrency raised to {args.concurrency} from "
        f"the default 16, as the drain has one endpoint; medians of {args.rounds} rounds, and "
        "the range of the share)",
        lambda f: f"{f['drain']:,.0f} ({share(f, '')})",
        "≥ 1,500/s and ≥ 60% of bare on PostgreSQL",
    )
    row(
        "bare aiohttp loop, same receiver and concurrency, requests/s (each round: the mean "
        "of before and after)",
        lambda f: f"{f['bare']:,.0f}",
        "the peer",
    )
    row(
        "CPU of the sending process per delivery: dispatcher / bare loop, µs (medians)",
        lambda f: f"{f['cpu_drain_us']:.0f} / {f['cpu_bare_us']:.0f}",
        "",
    )
    row(
        "the dispatcher's thread busy during the drain (its CPU time / the drain's time)",
        lambda f: f"{f['busy_drain']:.0%}" if "busy_drain" in f else "",
        "",
    )
    row(
        "CPU of PostgreSQL's processes per delivery during the drain, µs",
        lambda f: f"{f['cpu_postgres_us']:.0f}" if "cpu_postgres_us" in f else "",
        "",
        ("postgres",),
    )
    row(
        "CPU of the receiver per delivery: drain / bare loop, µs",
        lambda f: f"{f['cpu_drain_receiver_us']:.0f} / {f['cpu_bare_receiver_us']:.0f}",
        "",
    )
    cores = os.cpu_count() or 1
    row(
        f"all processes' CPU per delivery in the drain (dispatcher, receiver, PostgreSQL), "
        f"µs → the most any number of dispatchers could reach with all {cores} cores busy",
        lambda f: (
            f"{total_cpu(f):.0f} → {cores / total_cpu(f) * 1e6:,.0f}/s "
            f"({cores / total_cpu(f) * 1e6 / f['bare']:.0%} of bare)"
        ),
        "",
    )
    if args.processes > 1:
        row(
            f"drain, deliveries/s, {args.processes} `pagewire dispatch` processes of "
            f"concurrency {args.concurrency} → bare loop of concurrency "
            f"{args.processes * args.concurrency} (medians of {args.rounds} rounds)",
            lambda f: (
                f"{f['drain_processes']:,.0f} → {f['bare_processes']:,.0f} "
                f"({share(f, '_processes')})"
                if "drain_processes" in f
                else ""
            ),
            "",
            ("postgres",),
        )
        row(
            f"bare loop in {args.processes} processes of concurrency {args.concurrency}, "
            f"requests/s (the client on every core; median of {args.rounds}) → the "
            f"{args.processes} dispatch processes' share of it",
            lambda f: (
                f"{f['bare_in_processes']:,.0f} → "
                f"{f['drain_processes'] / f['bare_in_processes']:.0%}"
                if "bare_in_processes" in f
                else ""
            ),
            "",
            ("postgres",),
        )
        row(
            f"CPU per delivery of the {args.processes} dispatch processes together / of "
            "PostgreSQL, µs (once all have started)",
            lambda f: (
                f"{f['cpu_processes_us']:.0f} / {f.get('cpu_processes_postgres_us', 0):.0f}"
                if "cpu_processes_us" in f
                else ""
            ),
            "",
            ("postgres",),
        )
    row(
        f"commit→receipt p50 / p99 / max, ms (steady {args.rate:g} events/s)",
        lambda f: (
            f"{f['latency']['p50']:.1f} / {f['latency']['p99']:.1f} / {f['latency']['max']:.1f}"
        ),
        "p99 ≤ 100 ms",
    )
    row(
        f"nine healthy endpoints, deliveries/s: alone → beside a dead tenth (mean of "
        f"{args.repeats} alternated runs each; both runs with a {args.dead_timeout:g} s webhook "
        f"timeout and retries after {DEAD_RETRY_SCHEDULE.replace(',', ', ')} s, instead of "
        "the default 15 s timeout, so that the dead endpoint's attempts time out and retry "
        f"within the run; the dead endpoint has {DEAD_EVENTS} messages of its own, the nine "
        "the same stream in both runs)",
        lambda f: (
            f"{f['ten_healthy']:,.0f} → {f['one_dead']:,.0f} "
            f"({f['one_dead'] / f['ten_healthy']:.0%}; {f['dead_attempts']:.0f} attempts to "
            f"the dead endpoint, {f['dead_retried']:.0f} deliveries retried, in "
            f"{f['dead_run_seconds']:.1f} s"
            + (
                "; **too short for its retries: raise --events**"
                if f["dead_run_seconds"] < 5 * args.dead_timeout or not f["dead_retried"]
                else ""
            )
            + ")"
        ),
        "≥ 95% kept",
    )
    return "\n".join(lines)


INTRO = """\
`bench/webhooks.py` (`.venv/bin/python bench/webhooks.py`) measures the
dispatcher against a fast receiver in its own process, on loopback (httptools on
uvloop, `bench/_webhook_receiver.py`: it shares the two cores with the sender, so it
should cost as little as a receiver can), and in the same run a bare aiohttp loop
(one session, the same payload and the same webhook headers of the same sizes, the
same concurrency, the same receiver, no database and no signing): the ceiling of
this machine for this client. *Drain*: a backlog of events is written first, then one
`Dispatcher` (claims, leases, signing, the SSRF-guarded connector, batched attempt
recording) delivers it; the clock stops at the last arrival. *commit→receipt*: one
event per transaction at a steady rate, from just after COMMIT to the receiver's
arrival time for that `webhook-id` (on PostgreSQL the producer has its own pool, so
wake-ups come through LISTEN/NOTIFY). *Dead endpoint*: nine healthy endpoints, each
event to all of them; their deliveries/s alone, then beside a tenth endpoint that is a
black hole (it accepts connections and never answers: every attempt holds a slot until
the timeout) with messages of its own. Both runs use the same shortened timeout and
retry schedule (given in the table), so that the dead endpoint's attempts time out
and are retried within the run, and the table counts them. (Given the whole stream,
its first attempts, served in order, would keep every retry out of a run of seconds.)
"""

NOTES = """\
### Reading the figures

* The machine is shared with other work (its load average is printed with the
  figures) and its speed wanders by a third within minutes, so each drain is
  compared with the mean of bare loops run right before and after it, in several
  rounds (`--rounds`); the table gives the medians, and the range of the drain's
  share of the bare loop over the rounds. The CPU rows move much less with the
  load than the rates do.
* One dispatcher against the bare loop. Both are bound by their own process, a
  single thread on one core, so the drain's share of the bare loop is about the
  ratio of the two CPU figures (first CPU row) times how busy the dispatcher's
  thread was (the next row). The dispatcher does everything the bare loop does
  plus its claims, leases, signing and records: 1.4x a bare request's CPU. Until
  2026-11-29 it was 1.8-2.1x and the dispatcher also sat idle a fifth of the time,
  which kept it at 40-60% of the bare loop:
  - its claim loop slept in `asyncio.wait` over three tasks and woke two or three
    event-loop turns late, each turn milliseconds long under load (the senders'
    callbacks for dozens of responses). It now sleeps on one future that whatever
    brings work resolves (room to claim, a recorded batch, a NOTIFY, a timer);
  - it held two rounds of its senders' work and claimed when one had room, so
    the senders ran dry during each claim (6-8 ms at 8,000 deliveries/s, whatever
    its size). It holds four rounds now;
  - its two statements, the claim and the record of a batch, cost about 320 µs of
    CPU each through SQLAlchemy's `AsyncConnection` beside their rows' work; they
    now run on asyncpg connections kept for them (`store/driver.py`): 55 µs.
  With the HTTP stubbed out, its own work is now about 18 µs per delivery (the
  claim 4-5 µs, the record 6-7 µs, the rest signing and bookkeeping), where it was
  30-40 µs. On SQLite the database's own work runs in the dispatcher's thread (the
  embedded default runs its statements in the event loop, `store/sqlite_inloop.py`),
  so a delivery costs it about twice a bare request, and it reaches about half the
  bare loop's rate; the issue sets no figure there.
* Several dispatchers (`--processes N`, real `pagewire dispatch` processes sharing
  the work through `FOR UPDATE SKIP LOCKED`) are bound instead by all the cores
  together: the "most any number of dispatchers could reach" row, every process's
  CPU per delivery against the cores. Each process has the concurrency of one
  dispatcher (a process's claims and record batches grow with its concurrency:
  two processes of 32 cost a fifth more CPU per delivery than two of 64, and
  PostgreSQL a quarter more), and
  they are compared with a bare loop of the same total concurrency, which, bound
  by its one process, runs no faster at 128 than at 64. That compares two
  processes with one, so the table also gives the bare loop in as many processes
  (the client on every core). Against that, the dispatchers reach about half:
  PostgreSQL and the receiver take their part of the same two cores, and each
  delivery costs its dispatcher 1.4x a bare request. The processes start with
  their endpoint switched off and are released together, so start-up is not
  counted.
* The receiver (`bench/_webhook_receiver.py`) shares the two cores with the
  sender: an aiohttp application costs 55-65 µs of CPU per request, as much as
  PostgreSQL, and left the dispatchers a third less of the machine. A receiver
  written for the job costs 10-15 µs; a customer's server is another machine.
* Where the dispatcher's time goes (py-spy): about two thirds is the aiohttp request
  and the event loop, as in the bare loop; the rest is signing (an HMAC copied from
  one keyed per secret), the lanes (a fixed pool of senders takes deliveries from
  them: a task per delivery waiting on semaphores cost 40% more CPU per request),
  and the batched claims and records. The objects alive when the loop starts are
  frozen out of the garbage collector's passes (8% less CPU). A claim is
  one statement (choice, lock, lease and read in CTEs; 64-128 deliveries), and a
  batch of records that all succeeded is one statement too. A lease writes no
  indexed column and the table's pages are half filled (migration 0006), so
  PostgreSQL updates the row in place (HOT): 7 µs per lease instead of 39 µs.
* A claim costs the same however long one endpoint's backlog is: each enabled
  endpoint's due index is probed for at most its share (a LATERAL subquery on
  PostgreSQL; per-endpoint subqueries gathered as JSON on SQLite). The per-job order
  check uses a partial index of pending deliveries and is spelled so that a planner
  without statistics (a new table) cannot pick the endpoint index instead.
* A dead or slow endpoint holds at most `PAGEWIRE_WEBHOOK_PER_ENDPOINT_CONCURRENCY`
  of the senders (and four times that in claimed deliveries); the other endpoints keep
  the rest. `tests/webhooks` checks the latency side: with a dead and a slow endpoint
  beside it, a healthy endpoint's events arrive long before a slow request's
  timeout could have freed a slot for them.
"""


def summary(results: dict[str, Any], args: argparse.Namespace) -> list[dict[str, str]]:
    """The page's summary rows, from this run's figures."""
    pg = results["backends"].get("postgres", {})
    lite = results["backends"].get("sqlite", {})
    rows = []
    if pg:
        rows.append(
            {
                "figure": "webhook deliveries/s on PostgreSQL (one dispatcher, per-endpoint "
                f"concurrency {args.concurrency})",
                "target": "≥ 1,500/s and ≥ 60% of the bare client loop",
                "measured": f"{pg['drain']:,.0f}/s, {share(pg, '')}",
            }
        )
    latency = [
        f"{f['latency']['p99']:.1f} ms ({name})"
        for name, f in (("PostgreSQL", pg), ("SQLite", lite))
        if f
    ]
    if latency:
        rows.append(
            {
                "figure": f"webhook commit→receipt p99 at {args.rate:g} events/s",
                "target": "≤ 100 ms",
                "measured": ", ".join(latency),
            }
        )
    kept = [
        f"{f['one_dead'] / f['ten_healthy']:.0%} ({name}; {f['dead_attempts']:.0f} attempts "
        "to the dead one)"
        for name, f in (("PostgreSQL", pg), ("SQLite", lite))
        if f
    ]
    if kept:
        rows.append(
            {
                "figure": "nine healthy endpoints' throughput beside a dead tenth, against "
                f"alone ({args.dead_timeout:g} s timeout in both)",
                "target": "≥ 95%",
                "measured": ", ".join(kept),
            }
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument(
        "--processes", type=int, default=1, help="also drain with N dispatch processes (PG)"
    )
    parser.add_argument(
        "--postgres-admin",
        default=os.environ.get(
            "PAGEWIRE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--repeats", type=int, default=4, help="dead-endpoint runs of each kind")
    parser.add_argument(
        "--dead-timeout",
        type=float,
        default=0.25,
        help="webhook timeout of both dead-endpoint runs (s): short enough to time out in a run",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a check that the bench works: a few events"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="drain rounds (bare, drain, bare): medians"
    )
    parser.add_argument("--bare-child", help=argparse.SUPPRESS)
    parser.add_argument("--bare-start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_child:
        import uvloop

        uvloop.run(bare_child(args.bare_child, args.bare_start_at, args.events, args.concurrency))
        sys.exit(0)
    import uvloop

    if args.quick:
        args.events, args.rounds, args.repeats, args.seconds = 500, 1, 1, 1.0
        args.dead_timeout = 0.05  # a run of a fraction of a second still sees retries
    sys.path.append(str(ROOT / "bench"))  # last: its queue.py must not shadow the stdlib's
    import _results

    load_before = _results.load_average()
    figures = uvloop.run(main(args))
    text = table(figures, args)
    print()
    print(text)
    written = _results.write(
        "webhooks",
        title="Webhooks",
        command=".venv/bin/python bench/webhooks.py",
        section=f"{INTRO}\n{text}\n\n{NOTES}",
        figures=figures,
        summary=summary(figures, args),
        load_before=load_before,
        quick=args.quick,
    )
    print(f"wrote {written}")
