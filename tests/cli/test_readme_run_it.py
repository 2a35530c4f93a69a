"""The README's "Run it" steps, run as written in a fresh directory.

The commands are read from the README itself (so editing it without keeping it
working fails here); only the port differs, 8000 being anyone's. ``make serve``
is what it runs, ``pagewire serve``. The quickstart's ``make demo`` is
``tests/cli/test_demo.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from e2e.conftest import free_port

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def run_it_block() -> list[str]:
    section = README.read_text().split("## Run it", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "README's Run it section has no sh block"
    return [line.split("  #")[0].strip() for line in block[1].splitlines() if line.strip()]


def test_the_readme_run_it_steps_work_as_written(tmp_path: Path, sample_pdf: Path) -> None:
    serve, create_key, submit, comment, fetch = run_it_block()
    assert serve == "make serve" and comment.startswith("# {")
    assert create_key == ".venv/bin/pagewire keys create --org acme"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEWIRE_")}
    pagewire = [sys.executable, "-m", "pagewire.cli"]
    shutil.copy(sample_pdf, tmp_path / "doc.pdf")

    with subprocess.Popen(
        [*pagewire, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            deadline = time.monotonic() + 60
            while True:  # wait for the condition "the API answers", not for a time
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "pagewire serve never answered"
                time.sleep(0.1)
            created = subprocess.run(
                [*pagewire, *create_key.split()[1:]],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert created.returncode == 0, created.stderr
            key = re.search(r"^api key +(\S+)$", created.stdout, re.M)
            assert key is not None, created.stdout

            def shell(line: str) -> str:
                done = subprocess.run(
                    ["bash", "-c", line.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
                    cwd=tmp_path, env={**env, "KEY": key[1]},
                    capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                return done.stdout

            submitted = json.loads(shell(submit))
            assert "job_id" in submitted, submitted
            job = json.loads(shell(fetch.replace("job_01...", submitted["job_id"])))
        finally:
            server.terminate()

    assert submitted["status"] == "pending" and submitted["job_id"].startswith("job_")
    assert submitted["url"] == f"{base}/job/{submitted['job_id']}"
    assert job["job_id"] == submitted["job_id"] and job["input"]["file_name"] == "doc.pdf"
