"""The CLI's client commands: ``submit``, ``jobs get|list|cancel``, ``listen``.

They are thin wrappers around the SDK (``pagewire.client``), so they need
nothing the server needs, and they read ``PAGEWIRE_API_KEY`` and
``PAGEWIRE_BASE_URL`` just as the SDK does. Exit codes: 0 success, 1 a job that
did not complete or an API error, 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from pagewire.client import (
    APIConnectionError,
    BadRequestError,
    Job,
    Pagewire,
    PagewireAPIError,
    WaitTimeoutError,
    WebhookEvent,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-key", help="overrides PAGEWIRE_API_KEY")
    parser.add_argument("--base-url", help="overrides PAGEWIRE_BASE_URL (http://127.0.0.1:8000)")


def client_from(args: argparse.Namespace) -> Pagewire:
    return Pagewire(api_key=args.api_key, base_url=args.base_url)


def reporting_errors(command: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """API errors become one readable line on stderr and exit code 1, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except APIConnectionError as error:
            print(f"error: {error.message} (is `pagewire serve` running?)", file=sys.stderr)
        except PagewireAPIError as error:
            print(f"error: {error}", file=sys.stderr)
        except WaitTimeoutError as error:
            print(f"error: {error.message}", file=sys.stderr)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        return EXIT_FAILED

    return run


# -- progress -----------------------------------------------------------------


class ProgressBar:
    """``processing [########------------]  7/17 pages`` on stderr.

    On a terminal the line redraws in place; in a log or a pipe each change is
    its own line, so the output stays readable there too.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self._stream = stream or sys.stderr
        self._width = width
        self._live = self._stream.isatty()
        self._drawn = False

    def update(self, job: Job) -> None:
        done, total = job.progress.pages_done, job.progress.pages_total
        if total:
            filled = round(self._width * min(done, total) / total)
            bar = "#" * filled + "-" * (self._width - filled)
            line = f"{job.status:<10} [{bar}] {done:>3}/{total} pages"
        else:
            line = f"{job.status:<10} [{'-' * self._width}]   {done}/? pages"
        if self._live:
            self._stream.write("\r" + line)
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False


def status_line(job: Job, elapsed: float | None = None) -> str:
    """The final line: the job, its status, and what to do about a failure."""
    took = f" in {elapsed:.1f} s" if elapsed is not None else ""
    if job.status == "completed":
        # The pages read, which --pages may have made fewer than the document has.
        return f"job {job.job_id} completed ({job.progress.pages_done} pages){took}"
    if job.error is not None:
        return f"job {job.job_id} {job.status}{took}: {job.error.code}: {job.error.message}"
    return f"job {job.job_id} {job.status}{took}"


def exit_code_for(job: Job) -> int:
    return EXIT_OK if job.status in ("completed", "pending", "processing") else EXIT_FAILED


# -- submit and jobs ------------------------------------------------------------


def parse_metadata(pairs: list[str]) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --metadata takes key=value, not {pair!r}")
        metadata[key] = value
    return metadata


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@reporting_errors
def cmd_submit(args: argparse.Namespace) -> int:
    metadata = parse_metadata(args.metadata or [])
    source: dict[str, Any] = (
        {"file_url": args.source} if _is_url(args.source) else {"file": Path(args.source)}
    )
    with client_from(args) as client:
        started = time.monotonic()
        submission = client.extract(
            **source,
            pages=args.pages,
            metadata=metadata or None,
            chunking=args.chunking,
            idempotency_key=args.idempotency_key,
        )
        if not args.wait:
            if args.json:
                print(json.dumps(asdict(submission)))
            else:
                print(f"job {submission.job_id} {submission.status}")
            return EXIT_OK
        bar = ProgressBar()
        try:
            job = client.jobs.wait(submission.job_id, timeout=args.timeout, on_progress=bar.update)
        finally:
            bar.close()
        if args.output and job.status == "completed":
            result = client.jobs.get_result(job.job_id)
            Path(args.output).write_text(result.markdown, encoding="utf-8")
        if args.json:
            print(json.dumps(job.raw))
        else:
            print(status_line(job, time.monotonic() - started))
            if args.output and job.status == "completed":
                print(f"markdown written to {args.output}")
        return exit_code_for(job)


@reporting_errors
def cmd_jobs_get(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        job = client.jobs.get_job(args.job_id)
    if args.json:
        print(json.dumps(job.raw))
        return EXIT_OK
    total = job.progress.pages_total if job.progress.pages_total is not None else "?"
    rows = [
        ("job", job.job_id),
        ("status", job.status),
        ("progress", f"{job.progress.pages_done}/{total} pages"),
        ("file", job.input.file_name or job.input.file_url or ""),
        ("created", job.created_at.isoformat() if job.created_at else ""),
        ("finished", job.finished_at.isoformat() if job.finished_at else ""),
        ("metadata", json.dumps(job.metadata)),
    ]
    if job.error is not None:
        rows.append(("error", f"{job.error.code}: {job.error.message}"))
    for name, value in rows:
        print(f"{name:<9} {value}")
    return EXIT_OK


@reporting_errors
def cmd_jobs_list(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        jobs = client.jobs.list(status=args.status, page_size=min(args.limit, 100))
        for count, job in enumerate(jobs, start=1):
            if args.json:
                print(json.dumps(job.raw))
            else:
                created = job.created_at.strftime("%Y-%m-%d %H:%M:%S") if job.created_at else ""
                name = job.input.file_name or job.input.file_url or ""
                print(f"{job.job_id}  {job.status:<10}  {created}  {name}")
            if count >= args.limit:
                break
    return EXIT_OK


@reporting_errors
def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        job = client.jobs.cancel_job(args.job_id)
    if job.status == "canceled":
        print(f"job {job.job_id} canceled")
    elif job.cancel_requested:
        print(f"job {job.job_id} {job.status}: cancels at its next page")
    else:
        print(f"job {job.job_id} is already {job.status}")
    return EXIT_OK


# -- listen ---------------------------------------------------------------------


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """``kill`` stops ``listen`` as cleanly as Ctrl-C: the temporary endpoint is removed."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def event_line(event: WebhookEvent) -> str:
    when = event.timestamp.strftime("%H:%M:%S") if event.timestamp else "--:--:--"
    subject = f"  {event.job_id}" if event.job_id else ""
    status = f"  {event.status}" if event.status and event.type.startswith("job.") else ""
    return f"{when}  {event.type:<15}{subject}{status}  [{event.id}]"


@reporting_errors
def cmd_listen(args: argparse.Namespace) -> int:
    from pagewire.client._receiver import LocalReceiver

    event_types = [t for t in (args.events or "").split(",") if t] or None
    with (
        client_from(args) as client,
        _sigterm_as_interrupt(),
        LocalReceiver(port=args.port, forward_to=args.forward_to) as receiver,
    ):
        try:
            endpoint = client.webhooks.create_endpoint(
                receiver.url,
                description="pagewire listen (temporary; removed when it exits)",
                event_types=event_types,
            )
        except BadRequestError as error:
            if error.code != "url_not_allowed":
                raise
            print(
                f"error: the service refuses to call {receiver.url} ({error.message});"
                " start it with PAGEWIRE_ALLOW_PRIVATE_URLS=true (for development only)",
                file=sys.stderr,
            )
            return EXIT_FAILED
        secret = endpoint.secret or client.webhooks.get_endpoint_secret(endpoint.id)
        receiver.set_secret(secret)
        target = f", forwarding to {args.forward_to}" if args.forward_to else ""
        # The banner goes to stderr so that stdout carries events only (pipe it to jq).
        print(
            f"Ready: listening on {receiver.url} as endpoint {endpoint.id}{target}", file=sys.stderr
        )
        print(f"Signing secret: {secret}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
        seen = 0
        try:
            while args.max_events is None or seen < args.max_events:
                delivery = receiver.next_delivery(timeout=0.5)
                if delivery is None:
                    continue
                if delivery.event is None:
                    print(f"refused a delivery: {delivery.error}", file=sys.stderr, flush=True)
                    continue
                seen += 1
                if args.json:
                    print(json.dumps({"webhook_id": delivery.event.id, **delivery.event.raw}))
                else:
                    forwarded = (
                        f"  -> {delivery.forwarded_status}"
                        if delivery.forwarded_status is not None
                        else ""
                    )
                    print(event_line(delivery.event) + forwarded)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass
        finally:
            with contextlib.suppress(PagewireAPIError):
                client.webhooks.delete_endpoint(endpoint.id)
            print(f"removed endpoint {endpoint.id}", file=sys.stderr, flush=True)
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the client commands to the ``pagewire`` parser's subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    add_client_options(common)

    submit = sub.add_parser(
        "submit", parents=[common], help="submit a document (a file or an http(s) URL)"
    )
    submit.add_argument("source", metavar="FILE|URL")
    submit.add_argument("--wait", action="store_true", help="show progress until the job ends")
    submit.add_argument("--pages", help='pages to read, e.g. "1-3,7"')
    submit.add_argument("--chunking", help="page, header or recursive (comma-separated)")
    submit.add_argument(
        "--metadata", action="append", metavar="KEY=VALUE", help="your own key/values (repeat)"
    )
    submit.add_argument("--idempotency-key", help="the same key returns the same job")
    submit.add_argument("--timeout", type=float, help="with --wait: give up after this many s")
    submit.add_argument("-o", "--output", help="with --wait: write the markdown to this file")
    submit.add_argument("--json", action="store_true", help="print the job as JSON")
    submit.set_defaults(func=cmd_submit)

    jobs = sub.add_parser("jobs", help="read, list and cancel jobs").add_subparsers(
        dest="jobs", required=True
    )
    get = jobs.add_parser("get", parents=[common], help="one job")
    get.add_argument("job_id")
    get.add_argument("--json", action="store_true")
    get.set_defaults(func=cmd_jobs_get)
    listing = jobs.add_parser("list", parents=[common], help="jobs, newest first")
    listing.add_argument("--status", help="e.g. failed, or pending,processing")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_jobs_list)
    cancel = jobs.add_parser("cancel", parents=[common], help="cancel a job")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=cmd_jobs_cancel)

    listen = sub.add_parser(
        "listen", parents=[common], help="receive, verify and print webhooks locally"
    )
    listen.add_argument("--forward-to", metavar="URL", help="also POST each event to your app")
    listen.add_argument("--events", help="event types to subscribe to (comma-separated)")
    listen.add_argument("--port", type=int, default=0, help="local port (default: any free one)")
    listen.add_argument("--max-events", type=int, help="exit after this many events")
    listen.add_argument("--json", action="store_true", help="one JSON event per line")
    listen.set_defaults(func=cmd_listen)
