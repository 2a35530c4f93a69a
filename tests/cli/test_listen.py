"""``pagewire listen``: a temporary endpoint, each verified event printed, removed on exit."""

from __future__ import annotations

import json
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from pagewire import NotFoundError, Pagewire
from pagewire.client._receiver import LocalReceiver
from sdk.live import LiveService

pytestmark = pytest.mark.e2e


class Lines:
    """A subprocess's output read on a thread, so a test can wait for a line with a deadline."""

    def __init__(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def until(self, *markers: str, timeout: float = 30) -> list[str]:
        """The lines up to the first that holds every one of ``markers``."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            if all(marker in line for marker in markers):
                return seen
        raise AssertionError(f"{markers} never printed; got {seen}")

    def rest(self) -> str:
        lines = []
        while (line := self._lines.get(timeout=30)) is not None:
            lines.append(line)
        return "\n".join(lines)


def test_listen_prints_verified_events_forwards_them_and_cleans_up_on_sigterm(
    live: LiveService, sample_pdf: Path
) -> None:
    with LocalReceiver() as app, Pagewire(api_key=live.api_key, base_url=live.base_url) as client:
        # As a context manager, Popen closes its pipes and reaps the process at the end.
        with subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pagewire.cli",
                "listen",
                "--json",
                "--forward-to",
                app.url,
            ],
            env=live.client_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as listen:
            out, err = Lines(listen.stdout), Lines(listen.stderr)
            try:
                ready, secret_line = err.until("Signing secret:")[-2:]
                endpoint_id = ready.split(" as endpoint ")[1].split(",")[0]
                # The forwarded request keeps its signature: the app verifies it likewise.
                app.set_secret(secret_line.split()[2])

                job = client.extract(file=sample_pdf, pages="1")
                try:
                    printed = [
                        json.loads(line) for line in out.until('"job.completed"', job.job_id)
                    ]
                except AssertionError as error:
                    raise AssertionError(f"{error}\n{live.log_tail()}") from None
                listen.send_signal(signal.SIGTERM)
                listen.wait(30)
                rest = err.rest()
            finally:
                if listen.poll() is None:
                    listen.kill()

        ours = [e for e in printed if e["data"]["job_id"] == job.job_id]
        assert [e["type"] for e in ours] == ["job.created", "job.processing", "job.completed"]
        assert all(e["webhook_id"].startswith("msg_") for e in ours)
        forwarded = [app.next_delivery(timeout=5) for _ in printed]
        assert all(d is not None and d.event is not None for d in forwarded)
        assert f"removed endpoint {endpoint_id}" in rest and listen.returncode == 0
        with pytest.raises(NotFoundError):
            client.webhooks.get_endpoint(endpoint_id)


def listen_env(live: LiveService, config: Path) -> dict[str, str]:
    return live.client_env(XDG_CONFIG_HOME=str(config))


def test_a_port_in_use_is_one_line_not_a_traceback(pagewire: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = pagewire("listen", "--port", str(port))

    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip() == f"error: cannot listen on 127.0.0.1:{port}: address already in use"
    )


def test_the_signing_secret_is_kept_per_machine_in_a_private_file(
    pagewire: Any, tmp_path: Path
) -> None:
    first, second = pagewire("listen", "--print-secret"), pagewire("listen", "--print-secret")

    assert first.returncode == 0 and first.stdout.startswith("whsec_")
    assert second.stdout == first.stdout
    stored = tmp_path / "config" / "pagewire" / "listen-secret"
    assert stored.read_text().strip() == first.stdout.strip()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_killed_listen_leaves_an_endpoint_the_next_start_removes(
    live: LiveService, tmp_path: Path
) -> None:
    env = listen_env(live, tmp_path / "config")
    cmd = [sys.executable, "-m", "pagewire.cli", "listen"]
    with subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True) as killed:
        ready = Lines(killed.stderr).until("Ready:")[-1]
        killed.kill()  # SIGKILL: no clean-up of its own
    endpoint_id = ready.split(" as endpoint ")[1].split(",")[0]
    with Pagewire(api_key=live.api_key, base_url=live.base_url) as client:
        left = client.webhooks.get_endpoint(endpoint_id)
        assert left.description is not None and left.description.startswith("pagewire listen m")
        assert " expires 20" in left.description

        again = subprocess.run(
            [*cmd, "--max-events", "0"], env=env, capture_output=True, text=True, timeout=90
        )

        assert again.returncode == 0, again.stderr
        assert f"removed stale listen endpoints: {endpoint_id}" in again.stderr
        with pytest.raises(NotFoundError):
            client.webhooks.get_endpoint(endpoint_id)


def test_a_forward_to_an_app_that_is_down_says_why(live: LiveService, tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"  # bound, never listening
        with (
            Pagewire(api_key=live.api_key, base_url=live.base_url) as client,
            subprocess.Popen(
                [sys.executable, "-m", "pagewire.cli", "listen", "--forward-to", down,
                 "--events", "webhook.test", "--max-events", "1"],
                env=listen_env(live, tmp_path / "config"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ) as listen,
        ):  # fmt: skip
            ready = Lines(listen.stderr).until("Ready:")[-1]
            endpoint_id = ready.split(" as endpoint ")[1].split(",")[0]
            client.webhooks.send_test_event(endpoint_id)
            [line] = Lines(listen.stdout).until("webhook.test")[-1:]
            listen.wait(60)

    assert f"-> 502 (connection refused by {down} (is your app running?))" in line
