"""``pagewire demo`` on the shipped sample: what ``make demo`` runs from a fresh clone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.conftest import free_port

pytestmark = pytest.mark.e2e


def test_demo_runs_the_whole_flow_and_writes_the_markdown(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEWIRE_")}
    port = free_port()

    done = subprocess.run(
        [sys.executable, "-m", "pagewire.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"1. starting pagewire on 127.0.0.1:{port} " in out
    assert "registered as endpoint ep_" in out
    assert "completed  [########################]  17/17 pages" in out
    assert "5. webhook verified: job.completed (webhook-id msg_" in out
    written = list((tmp_path / "pagewire-demo").glob("job_*.md"))
    assert len(written) == 1 and f"markdown written to pagewire-demo/{written[0].name}" in out
    assert "# United States Court of Appeals" in written[0].read_text()


def test_demo_refuses_a_file_that_does_not_exist(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pagewire.cli", "demo", "nope.pdf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2 and "no such file: nope.pdf" in done.stderr


def test_demo_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "pagewire.cli", "demo", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert done.returncode == 1
    assert done.stderr.strip() == f"error: cannot serve on 127.0.0.1:{port}: the port is in use"
