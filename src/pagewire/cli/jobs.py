"""``pagewire submit`` and ``pagewire jobs get|list|cancel|result``, with the progress bar."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from pagewire.cli.client_commands import (
    EXIT_FAILED,
    EXIT_OK,
    client_from,
    json_option,
    reporting_errors,
)
from pagewire.cli.tables import fields, table, when
from pagewire.client import Job

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


# -- submit ---------------------------------------------------------------------


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
                url = submission.url or f"{client.base_url.rstrip('/')}/job/{submission.job_id}"
                print(f"job {submission.job_id} {submission.status}\n{url}")
                print(
                    f"next: pagewire jobs get {submission.job_id}   "
                    f"(then: pagewire jobs result {submission.job_id} -o result.md)"
                )
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


# -- jobs -----------------------------------------------------------------------


@reporting_errors
def cmd_jobs_get(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        job = client.jobs.get_job(args.job_id)
    if args.json:
        print(json.dumps(job.raw))
        return EXIT_OK
    total = job.progress.pages_total if job.progress.pages_total is not None else "?"
    rows: list[tuple[str, object]] = [
        ("job", job.job_id),
        ("status", job.status),
        ("progress", f"{job.progress.pages_done}/{total} pages"),
        ("file", job.input.file_name or job.input.file_url),
        ("created", job.created_at.isoformat() if job.created_at else None),
        ("finished", job.finished_at.isoformat() if job.finished_at else None),
        ("metadata", json.dumps(job.metadata)),
    ]
    if job.error is not None:
        rows.append(("error", f"{job.error.code}: {job.error.message}"))
    print(fields(rows))
    return EXIT_OK


@reporting_errors
def cmd_jobs_list(args: argparse.Namespace) -> int:
    rows = []
    with client_from(args) as client:
        jobs = client.jobs.list(status=args.status, page_size=min(args.limit, 100))
        for count, job in enumerate(jobs, start=1):
            if args.json:
                print(json.dumps(job.raw))
            else:
                name = job.input.file_name or job.input.file_url
                rows.append((job.job_id, job.status, when(job.created_at), name))
            if count >= args.limit:
                break
    if not args.json:
        print(table(("JOB", "STATUS", "CREATED", "FILE"), rows))
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


@reporting_errors
def cmd_jobs_result(args: argparse.Namespace) -> int:
    """The completed job's result: markdown (default) or the whole result as JSON."""
    with client_from(args) as client:
        result = client.jobs.get_result(args.job_id)
    text = result.markdown if args.format == "md" else json.dumps(result.raw, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{result.page_count} pages written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
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
    json_option(submit, "print the job as JSON")
    submit.set_defaults(func=cmd_submit)

    jobs = sub.add_parser("jobs", help="read, list and cancel jobs; fetch results")
    actions = jobs.add_subparsers(dest="jobs", required=True)
    get = actions.add_parser("get", parents=[common], help="one job")
    get.add_argument("job_id")
    json_option(get)
    get.set_defaults(func=cmd_jobs_get)
    listing = actions.add_parser("list", parents=[common], help="jobs, newest first")
    listing.add_argument("--status", help="e.g. failed, or pending,processing")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    json_option(listing, "one JSON object per line")
    listing.set_defaults(func=cmd_jobs_list)
    cancel = actions.add_parser("cancel", parents=[common], help="cancel a job")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=cmd_jobs_cancel)
    result = actions.add_parser("result", parents=[common], help="a completed job's result")
    result.add_argument("job_id")
    result.add_argument("-o", "--output", metavar="FILE", help="write it here (default: stdout)")
    result.add_argument(
        "--format", choices=("md", "json"), default="md", help="markdown (default) or JSON"
    )
    result.set_defaults(func=cmd_jobs_result)
