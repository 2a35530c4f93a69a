"""``pagewire worker`` and ``pagewire dispatch`` refuse a database they cannot use, in words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


# A PostgreSQL server that refuses connections is waited for, and an unknown role or a
# missing database stops the process: tests/e2e/test_database_down.py.
@pytest.mark.parametrize("command", ["worker", "dispatch"])
def test_a_sqlite_file_that_cannot_be_opened_stops_the_process_with_a_message(
    command: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/missing/pagewire.db"
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
