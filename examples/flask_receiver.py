"""A pagewire webhook receiver in Flask, with the production checklist done.

    PAGEWIRE_API_KEY=pw_... PAGEWIRE_WEBHOOK_SECRET=whsec_... python examples/flask_receiver.py

(in production, a real server: ``gunicorn 'examples.flask_receiver:create_app()'``),
then register ``http://<this host>:5000/webhooks/pagewire`` as an endpoint. The
handler, in order:

1. verifies the signature on the raw body, before anything else;
2. ignores an event it already handled (the ``webhook-id`` is the same on
   every delivery of one event, so a retry or a resend is harmless);
3. fetches the job itself: the event only says something happened, the job
   record is the truth;
4. records the work in its own database and hands it to a queue, in one step
   (the ``webhook-id`` is the task's key, so recording and de-duplicating are
   the same insert);
5. answers 2xx at once: the slow part (downloading the result, writing the
   document) runs on the worker, far inside the sender's 15 s timeout;
6. logs the job id, its status and the ids of what it wrote, and keeps the
   job's metadata (your own ids, sent at submission) for audit.

A webhook can still be missed (your server was down for three days). Keep the
polling fallback: ``client.jobs.list(status="completed", created_after=...)``
from a periodic task, or ``client.jobs.wait(job_id)`` where you can block.

Here the "database" is SQLite and the queue a thread; in production they are
your database and your task queue (Celery, RQ, ...), with the same shape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator

from flask import Flask, request

from pagewire import Pagewire, PagewireAPIError, WebhookVerificationError

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


class Receiver:
    """The handler's state: the API client, the secret, the database and the work queue."""

    def __init__(self, client: Pagewire, secret: str, db_path: str) -> None:
        self.client = client
        self.secret = secret
        self.db_path = db_path
        self.work: queue.Queue[str] = queue.Queue()
        with self.connect() as db:
            db.executescript(SCHEMA)
            # Work recorded before a crash or restart is not lost: queue it again.
            for (webhook_id,) in db.execute("SELECT webhook_id FROM tasks WHERE state = 'queued'"):
                self.work.put(webhook_id)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (one statement, one transaction), closed after."""
        db = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[str, int]:
        try:
            event = self.client.webhooks.verify(body, headers, self.secret)
        except WebhookVerificationError as error:
            log.warning("refused a webhook: %s", error.message)
            return "invalid signature", 400

        if event.type not in FINAL_EVENTS or event.job_id is None:
            return "", 204  # created/processing: nothing to do until the job ends

        with self.connect() as db:
            seen = db.execute("SELECT 1 FROM tasks WHERE webhook_id = ?", (event.id,)).fetchone()
        if seen:
            log.info("webhook %s for job %s already handled", event.id, event.job_id)
            return "", 200

        try:
            job = self.client.jobs.get_job(job_id=event.job_id)
        except PagewireAPIError as error:
            # Not recorded yet, so answering 503 makes pagewire deliver it again later.
            log.warning("could not fetch job %s: %s", event.job_id, error)
            return "try again", 503

        with self.connect() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO tasks"
                " (webhook_id, job_id, event_type, job_status, metadata, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event.id,
                    job.job_id,
                    event.type,
                    job.status,
                    json.dumps(job.metadata),
                    time.time(),
                ),
            ).rowcount
        if inserted:
            self.work.put(event.id)
            log.info("job %s %s: queued (webhook %s)", job.job_id, job.status, event.id)
        return "", 200

    def run_worker(self, stop: threading.Event) -> None:
        """The slow half: fetch the result and write the document, one task at a time."""
        while not stop.is_set():
            try:
                webhook_id = self.work.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.process(webhook_id)
            except Exception:
                log.exception("task %s failed; it stays queued until the next start", webhook_id)

    def process(self, webhook_id: str) -> None:
        with self.connect() as db:
            job_id, metadata = db.execute(
                "SELECT job_id, metadata FROM tasks WHERE webhook_id = ?", (webhook_id,)
            ).fetchone()
        job = self.client.jobs.get_job(job_id=job_id)
        markdown, pages = None, None
        if job.status == "completed":
            result = self.client.jobs.get_result(job_id)  # follows a result too large to inline
            markdown, pages = result.markdown, result.page_count
        error = f"{job.error.code}: {job.error.message}" if job.error else None
        with self.connect() as db:
            db.execute("BEGIN")
            db.execute(
                "INSERT INTO documents"
                " (job_id, status, page_count, markdown, error, metadata, written_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (job_id) DO UPDATE SET status = excluded.status,"
                " page_count = excluded.page_count, markdown = excluded.markdown,"
                " error = excluded.error, written_at = excluded.written_at",
                (job_id, job.status, pages, markdown, error, metadata, time.time()),
            )
            (document_id,) = db.execute(
                "SELECT id FROM documents WHERE job_id = ?", (job_id,)
            ).fetchone()
            db.execute("UPDATE tasks SET state = 'done' WHERE webhook_id = ?", (webhook_id,))
            db.execute("COMMIT")
        log.info(
            "job %s %s: wrote document %s (metadata %s)", job_id, job.status, document_id, metadata
        )


def create_app(
    client: Pagewire | None = None, secret: str | None = None, db_path: str | None = None
) -> Flask:
    """The Flask app; the defaults come from the environment."""
    receiver = Receiver(
        client or Pagewire(),
        secret or os.environ["PAGEWIRE_WEBHOOK_SECRET"],
        db_path or os.environ.get("RECEIVER_DB", "receiver.db"),
    )
    stop = threading.Event()
    threading.Thread(target=receiver.run_worker, args=(stop,), daemon=True).start()

    app = Flask(__name__)
    app.config["receiver"] = receiver
    app.config["stop_worker"] = stop

    @app.post("/webhooks/pagewire")
    def pagewire_webhook() -> tuple[str, int]:
        # get_data() is the body exactly as sent: the signature covers these bytes.
        return receiver.handle(request.get_data(), dict(request.headers))

    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
