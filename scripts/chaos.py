"""A chaos run: real pagewire processes, killed at random while they work; then the count.

    python scripts/chaos.py [--db postgres|sqlite] [--jobs N] [--seed S] [--replay FILE]

On loopback, with a fresh database: ``pagewire serve --no-worker --no-dispatch``,
two ``pagewire worker`` and two ``pagewire dispatch`` processes, and a verifying
webhook receiver in this process. N small real PDFs (1-3 pages, a few broken on
purpose) are submitted while a schedule of faults runs: SIGKILLs of the API,
workers and dispatchers (each restarted after a moment), bursts of
``pg_terminate_backend`` on every connection of the database (PostgreSQL only),
and stretches where the receiver is down. Then everything is brought back, the
run settles (every job final, every delivery succeeded or given up, bounded in
time), and one table says what happened (definitions: ``_chaos_report.py``).
It exits 1 when a row that must be 0 is not.

The seed, the documents' plan and the schedule of faults are written to a JSON file
with the table; ``--replay FILE`` runs the same plan and schedule again.
Every loop here is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import io
import json
import logging
import os
import random
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from pagewire.security.encryption import new_key_entry

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _chaos_fleet import Fleet, connection_burst, create_database, database_url, drop_database
from _chaos_receiver import Receiver
from _chaos_report import (
    failures,
    infrastructure_failures,
    judge,
    render,
    snapshot,
    unsettled,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# Short leases and retries so a run settles in minutes; many attempts per job so
# that the run's own kill rate cannot exhaust them (a job killed with its worker
# that often is the schedule's doing, not a finding).
ENV = {
    "PAGEWIRE_ALLOW_PRIVATE_URLS": "true",
    "PAGEWIRE_LOG_FORMAT": "json",
    "PAGEWIRE_LEASE_SECONDS": "4",
    "PAGEWIRE_HEARTBEAT_SECONDS": "1",
    "PAGEWIRE_POLL_SECONDS": "0.5",
    "PAGEWIRE_DRAIN_SECONDS": "5",
    "PAGEWIRE_MAX_ATTEMPTS": "10",
    "PAGEWIRE_WORKER_CONCURRENCY": "2",
    "PAGEWIRE_WEBHOOK_TIMEOUT_SECONDS": "3",
    "PAGEWIRE_WEBHOOK_LEASE_SECONDS": "6",
    # 12 tries over about 75 s: longer than any stretch the receiver is down
    "PAGEWIRE_WEBHOOK_RETRY_SCHEDULE": "0,0.5,1,2,3,5,8,8,8,10,10,10",
    "PAGEWIRE_RATE_LIMIT_PER_SECOND": "0",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the plan -------------------------------------------------------------------------


def make_plan(args: argparse.Namespace, seed: int, processes: list[str]) -> dict[str, Any]:
    """The documents and the fault schedule of a run, from ``seed`` alone."""
    rng = random.Random(seed)
    jobs = [{"pages": rng.randint(1, 3), "broken": rng.random() < 0.05} for _ in range(args.jobs)]
    span = args.duration
    faults: list[dict[str, Any]] = []
    back_at = dict.fromkeys(processes, 0.0)  # when each is running again
    for at in sorted(rng.uniform(2, span) for _ in range(args.kills)):
        # never a process that is still down from its last kill: every kill counts
        name = rng.choice([p for p in processes if back_at[p] < at] or processes)
        restart_after = rng.uniform(0.5, 4)
        back_at[name] = at + restart_after + 1
        faults.append(
            {
                "at": round(at, 2),
                "fault": "kill",
                "process": name,
                "restart_after": round(restart_after, 2),
            }
        )
    if args.db == "postgres":
        for _ in range(args.bursts):
            at = rng.uniform(2, span)
            faults.append({"at": round(at, 2), "fault": "db_burst", "seconds": 2.0})
    for i in range(args.receiver_downs):
        at = span * (i + 1) / (args.receiver_downs + 1)
        faults.append({"at": round(at, 2), "fault": "receiver_down", "seconds": 12.0})
    faults.sort(key=lambda f: f["at"])
    return {
        "seed": seed,
        "db": args.db,
        "duration": span,
        "workers": args.workers,
        "dispatchers": args.dispatchers,
        "jobs": jobs,
        "faults": faults,
    }


def pdf(pages: int, number: int) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    for page in range(1, pages + 1):
        c.drawString(72, 720, f"chaos document {number}, page {page} of {pages}")
        c.drawString(72, 700, "The quick brown fox jumps over the lazy dog. " * 2)
        c.showPage()
    c.save()
    return out.getvalue()


def document(job: dict[str, Any], number: int) -> bytes:
    if job["broken"]:  # a PDF header, then nothing a reader can use
        return b"%PDF-1.7\n" + random.Random(number).randbytes(2048)
    return pdf(job["pages"], number)


# -- the run --------------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace, plan: dict[str, Any], run_dir: Path) -> None:
        self.args = args
        self.plan = plan
        self.run_dir = run_dir
        self.receiver = Receiver()
        self.accepted: dict[str, bool] = {}  # job id -> broken on purpose
        self.refused: list[str] = []  # submissions answered 4xx, or never answered
        self.dispatcher_kills: list[tuple[str, float]] = []
        self.bursts: list[asyncio.Task[None]] = []
        self.done_faults: list[dict[str, Any]] = []
        self.started = time.monotonic()
        self.api_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.api_port}"

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {message}", flush=True)

    async def submit_all(self, client: httpx.AsyncClient) -> None:
        jobs = self.plan["jobs"]
        # spread over the first two thirds of the faults' span, a few at a time
        interval = self.plan["duration"] * 0.66 / max(len(jobs), 1)
        slots = asyncio.Semaphore(4)

        async def one(number: int, job: dict[str, Any]) -> None:
            async with slots:
                await self.submit(client, number, job)

        tasks = []
        for number, job in enumerate(jobs):
            tasks.append(asyncio.create_task(one(number, job)))
            await asyncio.sleep(interval)
        await asyncio.gather(*tasks)

    async def submit(self, client: httpx.AsyncClient, number: int, job: dict[str, Any]) -> None:
        body = document(job, number)
        key = f"chaos-{self.plan['seed']}-{number}"
        for _ in range(240):  # about two minutes of an API that is down, then give up
            try:
                response = await client.post(
                    "/extract",
                    files={"file": (f"doc-{number}.pdf", body, "application/pdf")},
                    data={"async": "true"},
                    headers={"idempotency-key": key},
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
                continue
            if response.status_code == 202:
                self.accepted[response.json()["job_id"]] = job["broken"]
                return
            if response.status_code < 500 and response.status_code != 429:
                self.refused.append(f"{number}: {response.status_code} {response.text[:200]}")
                return
            await asyncio.sleep(0.5)
        self.refused.append(f"{number}: no answer")

    async def run_faults(self) -> None:
        for fault in self.plan["faults"]:
            delay = fault["at"] - (time.monotonic() - self.chaos_started)
            if delay > 0:
                await asyncio.sleep(delay)
            await self.apply(fault)
            self.done_faults.append(fault)
        await asyncio.gather(*self.bursts)

    async def apply(self, fault: dict[str, Any]) -> None:
        kind = fault["fault"]
        if kind == "kill":
            name = fault["process"]
            killed_at = time.time()  # before: a request read during the kill is after it
            if not self.fleet.kill(name):
                self.log(f"{name} is not running: nothing to kill")
                return
            if name.startswith("dispatch"):
                self.dispatcher_kills.append((name, killed_at))
            self.log(f"SIGKILL {name}")
            asyncio.get_running_loop().call_later(
                fault["restart_after"], lambda: self.fleet.alive(name) or self.fleet.start(name)
            )
        elif kind == "db_burst":
            self.bursts.append(asyncio.create_task(self.burst(fault["seconds"])))
        elif kind == "receiver_down":
            self.receiver.up = False
            self.log(f"receiver down for {fault['seconds']} s")

            def back_up() -> None:
                self.receiver.up = True
                self.log("receiver up")

            asyncio.get_running_loop().call_later(fault["seconds"], back_up)

    async def burst(self, seconds: float) -> None:
        killed = await connection_burst(self.args.admin_url, self.db_name, seconds)
        self.bursts_killed += killed
        self.log(f"connection burst: {killed} backends terminated")

    async def settle(self) -> tuple[int, int]:
        self.receiver.up = True
        deadline = time.monotonic() + self.args.settle_timeout
        while True:
            restarted = self.fleet.ensure_up()
            if restarted:
                self.log(f"restarted {restarted}")
            snap = await snapshot(self.database_url, list(self.accepted))
            left = unsettled(snap, list(self.accepted))
            if left == (0, 0) or time.monotonic() > deadline:
                return left
            self.log(f"settling: {left[0]} jobs not final, {left[1]} deliveries pending")
            await asyncio.sleep(3)

    async def main(self) -> int:
        args = self.args
        self.bursts_killed = 0
        if args.db == "postgres":
            self.db_name = await create_database(args.admin_url)
            self.database_url = database_url(args.admin_url, self.db_name)
        else:
            self.database_url = f"sqlite:///{self.run_dir / 'data' / 'pagewire.db'}"
        env = {
            **ENV,
            "PAGEWIRE_DATABASE_URL": self.database_url,
            "PAGEWIRE_DATA_DIR": str(self.run_dir / "data"),
            "PAGEWIRE_PUBLIC_URL": self.base_url,
            # Every process of the fleet shares the key that seals webhook secrets.
            "PAGEWIRE_ENCRYPTION_KEYS": new_key_entry(),
        }
        self.fleet = Fleet(self.run_dir, env, self.api_port, args.workers, args.dispatchers)
        try:
            return await self.chaos()
        finally:
            codes = self.fleet.stop()
            self.log(f"stopped: {codes}")
            await self.receiver.close()
            if args.db == "postgres" and not args.keep:
                await drop_database(args.admin_url, self.db_name)

    async def chaos(self) -> int:
        self.fleet.cli("migrate")
        key = json.loads(self.fleet.cli("keys", "create", "--org", "chaos", "--json"))["api_key"]
        self.receiver.senders = lambda: self.fleet.pids("dispatch")
        await self.receiver.start()
        for name in self.fleet.names:
            self.fleet.start(name)
        headers = {"x-api-key": key}
        async with httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30) as api:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await api.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            created = await api.post("/webhook/endpoints", json={"url": self.receiver.url})
            created.raise_for_status()
            self.receiver.secret = created.json()["secret"]
            self.log(f"{len(self.plan['jobs'])} jobs, {len(self.plan['faults'])} faults")
            self.chaos_started = time.monotonic()
            await asyncio.gather(self.submit_all(api), self.run_faults())
        self.log(f"faults done; {len(self.accepted)} accepted; settling")
        left = await self.settle()
        snap = await snapshot(self.database_url, list(self.accepted))
        table = judge(
            snap,
            self.accepted,
            self.receiver.arrivals,
            self.receiver.bad_signatures,
            self.dispatcher_kills,
            cut_window=float(ENV["PAGEWIRE_WEBHOOK_TIMEOUT_SECONDS"]) + 2,
        )
        table["submissions without an answer"] = sum(1 for r in self.refused if "no answer" in r)
        table["processes that exited on their own"] = len(self.fleet.exits())
        bound = max(10, table["events"] // 20)
        bad = failures(table, bound)
        faults = [f["fault"] for f in self.done_faults]
        summary = {
            "process kills": self.fleet.kills,
            "connection bursts": faults.count("db_burst"),
            "backends terminated": self.bursts_killed,
            "receiver down stretches": faults.count("receiver_down"),
            "requests whose dispatcher was not identified": sum(
                1 for a in self.receiver.arrivals if a.sender is None
            ),
            "unsettled at the end (jobs, deliveries)": list(left),
            "dispatcher kills (name, unix time)": self.dispatcher_kills,
        }
        print()
        print(render(table, bad, bound))
        print()
        print(json.dumps(summary))
        for line in self.refused[:10]:
            print(f"refused submission {line}")
        infra = infrastructure_failures(snap, self.accepted)
        for line in infra[:20]:
            print(f"failed by infrastructure: {line}")
        summary["failed by infrastructure"] = infra
        self.write(table, summary, bad)
        return 1 if bad else 0

    def write(self, table: dict[str, int], summary: dict[str, Any], bad: list[str]) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"chaos-{self.plan['db']}-{stamp}.json"
        record = {
            "date": stamp,
            "plan": self.plan,
            "table": table,
            "summary": summary,
            "failed_rows": bad,
            "run_dir": str(self.run_dir),
        }
        path.write_text(json.dumps(record, indent=1) + "\n")
        arrivals = [dataclasses.asdict(a) for a in self.receiver.arrivals]
        (self.run_dir / "arrivals.json").write_text(json.dumps(arrivals))
        print(f"seed {self.plan['seed']}; plan, faults and table in {path}")
        print(f"replay: python scripts/chaos.py --replay {path}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--seed", type=int, help="default: a random one (printed)")
    parser.add_argument("--replay", type=Path, help="a result file: run its plan again")
    parser.add_argument("--duration", type=float, default=150.0, help="seconds of faults")
    parser.add_argument("--kills", type=int, default=24, help="SIGKILLs of processes")
    parser.add_argument("--bursts", type=int, default=12, help="bursts of connection kills")
    parser.add_argument("--receiver-downs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--settle-timeout", type=float, default=300.0)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "PAGEWIRE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL URL allowed to create databases (default PAGEWIRE_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and run dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replay:
        plan = json.loads(args.replay.read_text())["plan"]
        args.db, args.workers, args.dispatchers = plan["db"], plan["workers"], plan["dispatchers"]
    else:
        seed = args.seed if args.seed is not None else random.randrange(2**31)
        processes = ["api"] + [f"worker-{i}" for i in range(args.workers)]
        processes += [f"dispatch-{i}" for i in range(args.dispatchers)]
        plan = make_plan(args, seed, processes)
    for name in list(os.environ):  # the run decides its own settings
        if name.startswith("PAGEWIRE_") and not name.startswith("PAGEWIRE_TEST_"):
            del os.environ[name]
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # the receiver's drops
    run_dir = Path(tempfile.mkdtemp(prefix=f"pagewire-chaos-{plan['db']}-"))
    print(f"chaos run on {plan['db']}, seed {plan['seed']}, logs in {run_dir / 'logs'}")
    return asyncio.run(Run(args, plan, run_dir).main())


if __name__ == "__main__":
    sys.exit(main())
