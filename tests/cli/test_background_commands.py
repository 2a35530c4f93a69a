"""``pagewire worker`` and ``pagewire dispatch`` refuse a database they cannot use, in words."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


@pytest.mark.parametrize("command", ["worker", "dispatch"])
@pytest.mark.parametrize("database", ["sqlite-in-a-missing-directory", "postgres-refused"])
def test_a_database_that_cannot_be_reached_stops_the_process_with_a_message(
    command: str, database: str, tmp_path: Path
) -> None:
    url = (
        f"sqlite:///{tmp_path}/missing/pagewire.db"
        if database.startswith("sqlite")
        else f"postgresql://postgres:s3cret-pw@127.0.0.1:{closed_port()}/pagewire"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEWIRE_")}
    result = subprocess.run(
        [sys.executable, "-m", "pagewire.cli", command, "--database-url", url],
        env={**env, "PAGEWIRE_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "the database is unavailable" in result.stderr
    assert "PAGEWIRE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
