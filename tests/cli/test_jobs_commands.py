"""``pagewire submit`` and ``pagewire jobs get|list|cancel``: exit codes and what they print."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sdk.live import LiveService, serve_directory

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_submit_wait_shows_progress_and_ends_with_a_line_naming_the_status(
    pagewire: Run, sample_pdf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "filing.md"

    done = pagewire(
        "submit", str(sample_pdf), "--wait", "--pages", "1-2",
        "--metadata", "user_id=u-7", "--metadata", "record=r-1", "-o", str(out),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    final = done.stdout.strip().splitlines()[0]
    assert final.startswith("job job_") and " completed (2 pages) in " in final
    assert "2/2 pages" in done.stderr  # the progress bar, one line per change off a terminal
    assert "Court of Appeals" in out.read_text()

    job_id = final.split()[1]
    shown = pagewire("jobs", "get", job_id, "--json")
    assert json.loads(shown.stdout)["metadata"] == {"user_id": "u-7", "record": "r-1"}


def test_a_job_that_fails_exits_non_zero_and_says_why(pagewire: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"this is not really a PDF\n" * 20)

    done = pagewire("submit", str(broken), "--wait")

    assert done.returncode == 1
    assert " failed" in done.stdout and ": " in done.stdout.strip().splitlines()[-1]


def test_submit_without_wait_prints_the_job_then_jobs_cancel_and_get_follow_it(
    pagewire: Run, sample_pdf: Path
) -> None:
    # The document is a URL whose server holds its answer until the cancel is in:
    # the job is then in the worker's hands, and the cancel must still end it.
    with held_file(sample_pdf) as (url, requested, release):
        submitted = pagewire("submit", url, "--json")
        assert submitted.returncode == 0, submitted.stderr
        job_id = json.loads(submitted.stdout)["job_id"]
        assert requested.wait(30), "the worker never fetched the document"

        canceled = pagewire("jobs", "cancel", job_id)
        assert canceled.returncode == 0, canceled.stderr
        assert canceled.stdout.strip() == f"job {job_id} processing: cancels at its next page"
        release.set()
        job = wait_finished(pagewire, job_id)
    assert job["status"] == "canceled" and job["cancel_requested"] is True

    shown = pagewire("jobs", "get", job_id)
    assert shown.returncode == 0
    assert f"job       {job_id}" in shown.stdout
    listed = pagewire("jobs", "list", "--limit", "3")
    assert listed.returncode == 0 and job_id in listed.stdout
    assert len(listed.stdout.strip().splitlines()) <= 1 + 3  # the header, then the jobs


@contextlib.contextmanager
def held_file(path: Path) -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A loopback URL serving ``path``, which answers only once ``release`` is set."""
    requested, release = threading.Event(), threading.Event()

    class Held(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.set()
            release.wait(60)
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("content-type", "application/pdf")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Held) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/{path.name}", requested, release
        finally:
            release.set()  # a handler still holding lets go, so the shutdown is prompt
            server.shutdown()


def wait_finished(pagewire: Run, job_id: str) -> dict[str, Any]:
    """The job once it has ended (``jobs get --json`` until then; pytest's timeout bounds it)."""
    while True:
        job: dict[str, Any] = json.loads(pagewire("jobs", "get", job_id, "--json").stdout)
        if job["status"] not in {"pending", "processing"}:
            return job


def test_an_unknown_job_is_one_error_line_and_exit_code_1(pagewire: Run) -> None:
    done = pagewire("jobs", "get", "job_doesnotexist")

    assert done.returncode == 1
    assert done.stderr.startswith("error: 404 not_found") and "Traceback" not in done.stderr


def test_a_wrong_key_and_an_unreachable_server_are_clear_errors(
    pagewire: Run, live: LiveService
) -> None:
    wrong_key = pagewire("jobs", "list", env=live.client_env(PAGEWIRE_API_KEY="pw_wrong"))
    assert wrong_key.returncode == 1 and "401" in wrong_key.stderr

    nowhere = pagewire("jobs", "list", "--base-url", "http://127.0.0.1:9", env=live.client_env())
    assert nowhere.returncode == 1 and "is `pagewire serve` running?" in nowhere.stderr


def test_a_missing_file_is_a_usage_error(pagewire: Run) -> None:
    done = pagewire("submit", "no-such-file.pdf")

    assert done.returncode == 2 and "no such file" in done.stderr


def test_submit_takes_a_url_as_well_as_a_file(pagewire: Run, sample_pdf: Path) -> None:
    with serve_directory(sample_pdf.parent) as files:
        done = pagewire("submit", f"{files}/{sample_pdf.name}", "--wait", "--pages", "1", "--json")

    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "completed" and job["input"]["file_url"].endswith(sample_pdf.name)


def test_submit_prints_the_job_url_and_next_command_then_jobs_result_writes_it(
    pagewire: Run, live: LiveService, sample_pdf: Path, tmp_path: Path
) -> None:
    from pagewire import Pagewire

    submitted = pagewire("submit", str(sample_pdf), "--pages", "1")

    assert submitted.returncode == 0, submitted.stderr
    first, url, hint = submitted.stdout.strip().splitlines()
    job_id = first.split()[1]
    assert url == f"{live.base_url}/job/{job_id}"
    assert hint.startswith(f"next: pagewire jobs get {job_id}")
    with Pagewire(api_key=live.api_key, base_url=live.base_url) as client:
        assert client.jobs.wait(job_id, timeout=120).status == "completed"

    out = tmp_path / "r.md"
    written = pagewire("jobs", "result", job_id, "-o", str(out))
    assert written.returncode == 0 and written.stderr.strip() == f"1 pages written to {out}"
    assert "Court of Appeals" in out.read_text()
    as_json = json.loads(pagewire("jobs", "result", job_id, "--format", "json").stdout)
    assert as_json["page_count"] == 1 and "Court of Appeals" in as_json["markdown"]
    listed = pagewire("jobs", "list", "--limit", "2").stdout.splitlines()
    assert listed[0].split() == ["JOB", "STATUS", "CREATED", "FILE"]
    missing = pagewire("jobs", "result", "job_nope")
    assert missing.returncode == 1 and missing.stderr.startswith("error: 404")
