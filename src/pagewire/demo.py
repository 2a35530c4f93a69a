"""``pagewire demo``: the whole asynchronous flow on the embedded default, in one command.

Starts the service (SQLite, a temporary data directory) on a free local port,
creates an organization and key, submits a document with ``async: true``, shows
its progress, then fetches the result and writes the markdown to
``./pagewire-demo/<job_id>.md``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "ca1-appeal-17p.pdf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def embedded_service(data_dir: Path, port: int) -> Iterator[str]:
    env = {**os.environ, "PAGEWIRE_DATA_DIR": str(data_dir), "PAGEWIRE_ALLOW_PRIVATE_URLS": "true",
           "PAGEWIRE_LOG_FORMAT": "json"}
    env.pop("PAGEWIRE_DATABASE_URL", None)
    log = (data_dir / "service.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagewire.cli", "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the service exited; see {data_dir / 'service.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def create_key(data_dir: Path) -> str:
    env = {**os.environ, "PAGEWIRE_DATA_DIR": str(data_dir)}
    env.pop("PAGEWIRE_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "pagewire.cli", "keys", "create", "--org", "demo", "--json"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    import json

    return str(json.loads(out.strip().splitlines()[-1])["api_key"])


def run(file: Path | None, out_dir: Path = Path("pagewire-demo")) -> int:
    document = file or SAMPLE
    if not document.is_file():
        print(f"no such file: {document}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pagewire-demo-") as tmp:
        data_dir = Path(tmp)
        print(f"1. starting pagewire (SQLite in {data_dir})")
        api_key = create_key(data_dir)
        with embedded_service(data_dir, _free_port()) as base:
            client = httpx.Client(base_url=base, headers={"x-api-key": api_key}, timeout=30)
            print(f"2. submitting {document.name} with async=true")
            with document.open("rb") as f:
                response = client.post("/extract", files={"file": (document.name, f)},
                                       data={"async": "true"})
            response.raise_for_status()
            job_id = response.json()["job_id"]
            print(f"   -> {response.status_code} job_id={job_id}")
            print("3. progress")
            job = _follow(client, job_id)
            if job["status"] != "completed":
                print(f"   job {job['status']}: {job.get('error')}")
                return 1
            result = job["result"]
            if result.get("is_url"):
                result = client.get(f"/job/{job_id}/result").json()
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{job_id}.md"
            target.write_text(result["markdown"], encoding="utf-8")
            print(f"4. result: {result['page_count']} pages, markdown written to {target}")
            print("   " + "\n   ".join(result["markdown"][:600].splitlines()))
    return 0


def _follow(client: httpx.Client, job_id: str) -> dict:  # type: ignore[type-arg]
    last = None
    while True:
        job = client.get(f"/job/{job_id}").json()
        progress = (job["status"], job["progress"]["pages_done"], job["progress"]["pages_total"])
        if progress != last:
            total = progress[2] if progress[2] is not None else "?"
            print(f"   {progress[0]:<10} {progress[1]}/{total} pages")
            last = progress
        if job["status"] in ("completed", "failed", "canceled", "expired"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
