"""procrastinate's side of ``bench/queue.py``; runs in ``bench/.peers-venv``, never in ours.

Usage (``bench/queue.py`` calls it): ``python _queue_peer.py DSN JOBS CONCURRENCY WARMUP``.
Applies procrastinate's schema to the (fresh, empty) database ``DSN``, defers ``WARMUP``
no-op jobs and drains them (not timed), then defers ``JOBS`` no-op jobs and times one
worker draining them (``wait=False``: it returns once the queue is empty). Prints one
JSON line: versions and the measured figures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from importlib import metadata
from pathlib import Path

# bench/ holds a queue.py: keep it from shadowing the standard library's ``queue``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


async def main(dsn: str, jobs: int, concurrency: int, warmup: int) -> dict[str, object]:
    import procrastinate

    logging.basicConfig(level=logging.WARNING)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            # pagewire's pool is 10 (+10 overflow); max_connections is often 100
            conninfo=dsn,
            min_size=min(concurrency + 2, 10),
            max_size=min(concurrency + 4, 20),
        )
    )

    @app.task(name="noop")
    async def noop() -> None:
        return None

    async def drain(count: int) -> tuple[float, float]:
        started = time.perf_counter()
        for offset in range(0, count, 1000):
            await noop.batch_defer_async(*({} for _ in range(min(1000, count - offset))))
        deferred = time.perf_counter()
        await asyncio.wait_for(
            app.run_worker_async(
                concurrency=concurrency,
                wait=False,
                install_signal_handlers=False,
                listen_notify=False,  # wait=False drains the queue; nothing to wait for
                fetch_job_polling_interval=0.05,
            ),
            timeout=120,
        )
        drained = time.perf_counter()
        return deferred - started, drained - deferred

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        await drain(warmup)
        defer_seconds, drain_seconds = await drain(jobs)
        async with app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
            cur = await conn.execute(
                "SELECT status, count(*) FROM procrastinate_jobs GROUP BY status"
            )
            by_status = {status: n for status, n in await cur.fetchall()}
    return {
        "procrastinate": metadata.version("procrastinate"),
        "psycopg": metadata.version("psycopg"),
        "python": sys.version.split()[0],
        "jobs": jobs,
        "concurrency": concurrency,
        "defer_seconds": defer_seconds,
        "drain_seconds": drain_seconds,
        "jobs_per_second": jobs / drain_seconds,
        "by_status": by_status,
    }


if __name__ == "__main__":
    dsn, jobs, concurrency, warmup = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(asyncio.run(main(dsn, jobs, concurrency, warmup))))
