"""``pagewire keys`` never makes a database and says which it used (#17 defect 1);
``PAGEWIRE_HOST``/``PAGEWIRE_PORT`` choose where ``serve`` listens, flags win (defect 2)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.conftest import free_port
from sdk.live import LiveService

pytestmark = pytest.mark.e2e


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAGEWIRE_")}
    return subprocess.run(
        [sys.executable, "-m", "pagewire.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.parametrize(
    "args", [("keys", "create", "--org", "acme"), ("keys", "list"), ("keys", "revoke", "key_1")]
)
def test_keys_in_a_folder_without_a_database_refuse_and_create_nothing(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    done = cli(*args, cwd=tmp_path)

    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    expected = tmp_path / "pagewire-data" / "pagewire.db"
    assert f"no usable pagewire database at {expected}" in line
    assert "run `pagewire migrate` or `pagewire serve` first" in line
    assert list(tmp_path.iterdir()) == []


def test_keys_name_the_database_and_list_created_and_last_used(
    live: LiveService, tmp_path: Path
) -> None:
    database = live.data_dir / "pagewire.db"
    created = cli("keys", "create", "--org", "sdk-tests", "--name", "ci", cwd=tmp_path,
                  PAGEWIRE_DATA_DIR=str(live.data_dir))  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert f"database     {database}" in created.stdout
    assert created.stderr.strip() == f"database: {database}"
    key_id = created.stdout.split("key id")[1].split()[0]

    used_now = httpx.get(f"{live.base_url}/jobs", headers={"x-api-key": live.api_key}, timeout=30)
    assert used_now.status_code == 200
    listed = cli("keys", "list", cwd=tmp_path, PAGEWIRE_DATA_DIR=str(live.data_dir))

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    headers = "KEY ID  ORG  PREFIX  NAME  STATUS  CREATED  LAST USED"
    assert lines[0].split() == headers.split()
    [new] = [line for line in lines if line.startswith(key_id)]
    assert " ci " in new and " active " in new and new.rstrip().endswith("never")
    # The run's own key was just used: its last use is a time.
    used = [line for line in lines[1:] if not line.rstrip().endswith("never")]
    assert used and all(line.rstrip().endswith("Z") for line in used)
    revoked = cli("keys", "revoke", key_id, cwd=tmp_path, PAGEWIRE_DATA_DIR=str(live.data_dir))
    assert revoked.stdout.strip() == f"revoked {key_id}"


@contextlib.contextmanager
def serving(cwd: Path, *args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAGEWIRE_")}
    with (cwd / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pagewire.cli", "serve", "--no-worker", "--no-dispatch", *args],
            env={**clean, "PAGEWIRE_DATA_DIR": str(cwd / "data"), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        time.sleep(0.2)  # polling a starting server: there is no event to wait on
    return False


def test_serve_binds_pagewire_port_and_a_flag_wins(tmp_path: Path) -> None:
    from_env, from_flag = free_port(), free_port()
    with serving(tmp_path, PAGEWIRE_PORT=str(from_env), PAGEWIRE_HOST="127.0.0.1") as proc:
        assert ready(from_env, proc, tmp_path / "serve.log")
    with serving(tmp_path, "--port", str(from_flag), PAGEWIRE_PORT=str(from_env)) as proc:
        assert ready(from_flag, proc, tmp_path / "serve.log")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{from_env}/readyz", timeout=1)
