"""``pagewire listen``: a temporary endpoint, each verified event printed, removed on exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from pagewire import NotFoundError, Pagewire
from pagewire.client._receiver import LocalReceiver
from sdk.live import LiveService

pytestmark = pytest.mark.e2e


def read_until(stream: IO[str] | None, marker: str) -> list[str]:
    assert stream is not None
    lines = []
    for line in stream:
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never printed; got {lines}")


def test_listen_prints_verified_events_forwards_them_and_cleans_up_on_sigterm(
    live: LiveService, sample_pdf: Path
) -> None:
    with LocalReceiver() as app, Pagewire(api_key=live.api_key, base_url=live.base_url) as client:
        listen = subprocess.Popen(
            [sys.executable, "-m", "pagewire.cli", "listen", "--json", "--forward-to", app.url],
            env=live.client_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            ready, secret_line = read_until(listen.stderr, "Signing secret:")[-2:]
            endpoint_id = ready.split(" as endpoint ")[1].split(",")[0]
            # The forwarded request keeps its signature: the app verifies it with the same secret.
            app.set_secret(secret_line.split()[2])

            job = client.extract(file=sample_pdf, pages="1")
            printed = [json.loads(line) for line in read_until(listen.stdout, '"job.completed"')]
            listen.send_signal(signal.SIGTERM)
            _, rest = listen.communicate(timeout=30)
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
