"""``pagewire serve`` takes its address from PAGEWIRE_HOST / PAGEWIRE_PORT (the container
image sets them), and its links follow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_serve_listens_where_the_environment_says_and_links_there(
    service_factory: Any, sample_pdf: Path
) -> None:
    service = service_factory()
    proc = service.start("serve", PAGEWIRE_HOST="127.0.0.1", PAGEWIRE_PORT=str(service.port))
    service.wait_ready(proc)
    key = json.loads(service.cli("keys", "create", "--org", "address", "--json"))["api_key"]
    with sample_pdf.open("rb") as pdf:
        reply = httpx.post(
            f"{service.base_url}/extract",
            headers={"x-api-key": key},
            files={"file": (sample_pdf.name, pdf)},
            data={"async": "true"},
        )
    assert reply.status_code == 202, reply.text
    assert reply.json()["url"].startswith(f"http://127.0.0.1:{service.port}/job/")


def test_a_port_flag_overrides_the_environment(service_factory: Any) -> None:
    service = service_factory()
    proc = service.start("serve", "--port", str(service.port), PAGEWIRE_PORT="1")
    service.wait_ready(proc)
