"""A pagewire webhook receiver in FastAPI, with the production checklist done.

    PAGEWIRE_API_KEY=pw_... PAGEWIRE_WEBHOOK_SECRET=whsec_... \\
        uvicorn examples.fastapi_receiver:app --port 5000

then register ``http://<this host>:5000/webhooks/pagewire`` as an endpoint. The
same steps as ``flask_receiver.py``, with ``AsyncPagewire``: verify the raw body
first, ignore an event already handled (same ``webhook-id``), fetch the job
(the truth), record and queue the work in one insert keyed by the
``webhook-id``, answer 2xx at once, and let a background task download the
result and write the document, logging the job id, its status and what it wrote.
Keep a polling fallback for missed webhooks (``client.jobs.list(...)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response

from pagewire import AsyncPagewire, PagewireAPIError, WebhookVerificationError

log = logging.getLogger("receiver")

FINAL_EVENTS = {"job.completed", "job.failed", "job.canceled", "job.expired"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    webhook_id TEXT PRIMARY KEY,   -- one row per event, however often it is delivered
    job_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    job_status TEXT NOT NULL,
    metadata TEXT NOT NULL,        -- the job's metadata, kept for audit
    state TEXT NOT NULL DEFAULT 'queued',
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    page_count INTEGER,
    markdown TEXT,
    error TEXT,
    metadata TEXT NOT NULL,
    written_at REAL NOT NULL
);
"""


class Database:
    """SQLite through a thread, so the event loop never waits on the disk."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _run(self, sql: str, args: tuple[Any, ...]) -> tuple[list[Any], int]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            cursor = db.execute(sql, args)
            return cursor.fetchall(), cursor.rowcount

    def _create(self) -> None:
        with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.executescript(SCHEMA)

    async def create(self) -> None:
        await asyncio.to_thread(self._create)

    async def run(self, sql: str, *args: Any) -> tuple[list[Any], int]:
        return await asyncio.to_thread(self._run, sql, args)


class Receiver:
    def __init__(self, client: AsyncPagewire, secret: str, db: Database) -> None:
        self.client = client
        self.secret = secret
        self.db = db
        self.work: asyncio.Queue[str] = asyncio.Queue()

    async def handle(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            event = self.client.webhooks.verify(body, headers, self.secret)
        except WebhookVerificationError as error:
            log.warning("refused a webhook: %s", error.message)
            return 400
        if event.type not in FINAL_EVENTS or event.job_id is None:
            return 204  # created/processing: nothing to do until the job ends

        seen, _ = await self.db.run("SELECT 1 FROM tasks WHERE webhook_id = ?", event.id)
        if seen:
            log.info("webhook %s for job %s already handled", event.id, event.job_id)
            return 200
        try:
            job = await self.client.jobs.get_job(job_id=event.job_id)
        except PagewireAPIError as error:
            log.warning("could not fetch job %s: %s", event.job_id, error)
            return 503  # not recorded: pagewire delivers it again later
        _, inserted = await self.db.run(
            "INSERT OR IGNORE INTO tasks"
            " (webhook_id, job_id, event_type, job_status, metadata, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            event.id,
            job.job_id,
            event.type,
            job.status,
            json.dumps(job.metadata),
            time.time(),
        )
        if inserted:
            self.work.put_nowait(event.id)
            log.info("job %s %s: queued (webhook %s)", job.job_id, job.status, event.id)
        return 200

    async def run_worker(self) -> None:
        while True:
            webhook_id = await self.work.get()
            try:
                await self.process(webhook_id)
            except Exception:
                log.exception("task %s failed; it stays queued until the next start", webhook_id)

    async def process(self, webhook_id: str) -> None:
        rows, _ = await self.db.run(
            "SELECT job_id, metadata FROM tasks WHERE webhook_id = ?", webhook_id
        )
        job_id, metadata = rows[0]
        job = await self.client.jobs.get_job(job_id=job_id)
        markdown, pages = None, None
        if job.status == "completed":
            result = await self.client.jobs.get_result(job_id)
            markdown, pages = result.markdown, result.page_count
        error = f"{job.error.code}: {job.error.message}" if job.error else None
        await self.db.run(
            "INSERT INTO documents"
            " (job_id, status, page_count, markdown, error, metadata, written_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET status = excluded.status,"
            " page_count = excluded.page_count, markdown = excluded.markdown,"
            " error = excluded.error, written_at = excluded.written_at",
            job_id,
            job.status,
            pages,
            markdown,
            error,
            metadata,
            time.time(),
        )
        await self.db.run("UPDATE tasks SET state = 'done' WHERE webhook_id = ?", webhook_id)
        rows, _ = await self.db.run("SELECT id FROM documents WHERE job_id = ?", job_id)
        log.info(
            "job %s %s: wrote document %s (metadata %s)", job_id, job.status, rows[0][0], metadata
        )


def create_app(
    client: AsyncPagewire | None = None, secret: str | None = None, db_path: str | None = None
) -> FastAPI:
    """The FastAPI app; the defaults come from the environment. It closes ``client`` on exit."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(db_path or os.environ.get("RECEIVER_DB", "receiver.db"))
        await db.create()
        receiver = Receiver(
            client or AsyncPagewire(), secret or os.environ["PAGEWIRE_WEBHOOK_SECRET"], db
        )
        app.state.receiver = receiver
        # Work recorded before a crash or restart is not lost: queue it again.
        queued, _ = await db.run("SELECT webhook_id FROM tasks WHERE state = 'queued'")
        for (webhook_id,) in queued:
            receiver.work.put_nowait(webhook_id)
        worker = asyncio.create_task(receiver.run_worker())
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await receiver.client.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhooks/pagewire")
    async def pagewire_webhook(request: Request) -> Response:
        # The body exactly as sent: the signature covers these bytes, not re-encoded JSON.
        status = await request.app.state.receiver.handle(
            await request.body(), dict(request.headers)
        )
        return Response(status_code=status)

    return app


# For `uvicorn examples.fastapi_receiver:app`: the environment is read at start-up.
app = create_app()
