"""OpenTelemetry spans of one job through the real flow: API, worker, dispatcher.

The app, its worker (real extractor children) and its dispatcher run on a real socket,
deliver to a real receiver, and report their spans to the SDK's in-memory exporter.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.serving import serving
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.telemetry import traces
from support import Backend, Tenant
from webhooks.support import Receiver

JOB_ID = "pagewire.job_id"


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """SQLite only: the spans do not depend on the database."""
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


class Arrivals(SpanProcessor):
    """Wakes a waiting test each time a span ends."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.set()


@pytest.fixture
def exporter() -> Iterator[tuple[InMemorySpanExporter, Arrivals]]:
    exporter, arrivals = InMemorySpanExporter(), Arrivals()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(arrivals)
    traces.use(provider)
    yield exporter, arrivals
    traces.use(None)


async def spans_until(
    exporter: tuple[InMemorySpanExporter, Arrivals],
    done: Callable[[list[ReadableSpan]], bool],
    timeout: float = 30,
) -> list[ReadableSpan]:
    memory, arrivals = exporter

    async def wait() -> list[ReadableSpan]:
        while not done(spans := list(memory.get_finished_spans())):
            arrivals.ended.clear()
            await arrivals.ended.wait()
        return spans

    return await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver().start()
    yield receiver
    await receiver.close()


async def test_a_job_leaves_spans_from_submit_to_each_delivery_linked_by_its_id(
    exporter: tuple[InMemorySpanExporter, Arrivals],
    store: Store,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    sample_pdf: Path,
) -> None:
    from pagewire.app import create_app

    app = create_app(settings, store=store, run_worker=True, run_dispatcher=True)
    async with serving(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        created = await http.post(
            "/webhook/endpoints", json={"url": receiver.url}, headers=tenant.headers
        )
        assert created.status_code == 201, created.text
        with sample_pdf.open("rb") as f:
            response = await http.post(
                "/extract",
                files={"file": (sample_pdf.name, f)},
                data={"async": "false", "pages": "2-4"},
                headers=tenant.headers,
            )
        assert response.json()["status"] == "completed", response.text
        job_id = response.json()["job_id"]

        def of_job(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
            return [
                s for s in spans if s.name == name and (s.attributes or {}).get(JOB_ID) == job_id
            ]

        # job.created, job.processing and job.completed, each delivered once
        spans = await spans_until(
            exporter, lambda spans: len(of_job(spans, "pagewire.webhook.attempt")) == 3
        )

    [submit] = of_job(spans, "pagewire.submit")
    [claim] = of_job(spans, "pagewire.claim")
    [extract] = of_job(spans, "pagewire.extract")
    pages = of_job(spans, "pagewire.extract.page")
    attempts = of_job(spans, "pagewire.webhook.attempt")
    assert submit.context is not None
    # The worker continues the trace the submission started (its context kept with the job).
    for span in (claim, extract):
        assert span.context is not None and span.parent is not None
        assert span.context.trace_id == submit.context.trace_id
        assert span.parent.span_id == submit.context.span_id
    assert (extract.attributes or {}).get("pagewire.status") == "completed"
    # One span per page read, under the extraction.
    assert sorted((p.attributes or {}).get("pagewire.page") for p in pages) == [1, 2, 3]
    assert len(of_job(spans, "pagewire.extract.open")) == 1  # before the first page
    assert all(p.parent is not None and p.parent.span_id == extract.context.span_id for p in pages)  # type: ignore[union-attr]
    assert sorted((a.attributes or {}).get("pagewire.event_type") for a in attempts) == [
        "job.completed",
        "job.created",
        "job.processing",
    ]
    for attempt in attempts:
        attributes = attempt.attributes or {}
        assert attributes.get("http.response.status_code") == 200
        assert attributes.get("pagewire.verdict") == "succeeded"


def test_traces_are_off_unless_asked_for_and_the_standard_switches_win(
    settings: Settings,
) -> None:
    assert traces.tracer() is None  # nothing asked: no tracer, no span anywhere
    on = settings.model_copy(update={"traces": True})
    assert not traces.wanted(settings, env={})
    assert traces.wanted(on, env={})
    assert traces.wanted(settings, env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not traces.wanted(on, env={"OTEL_SDK_DISABLED": "true"})
    assert not traces.wanted(on, env={"OTEL_TRACES_EXPORTER": "none"})
    traces_only = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}
    assert traces.wanted(settings, env=traces_only)
    assert not traces.wanted(settings, env={**traces_only, "OTEL_SDK_DISABLED": "true"})


def test_with_traces_off_a_serving_app_loads_no_part_of_the_sdk(tmp_path: Path) -> None:
    # docs/operations.md, Traces: "Off, pagewire makes no span and loads no part of the
    # SDK". A fresh interpreter: this test process has the SDK loaded for the others.
    script = """
import asyncio, sys, httpx
from pagewire.app import create_app
from pagewire.settings import Settings

async def main():
    app = create_app(Settings(), run_worker=True, run_dispatcher=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
    print(sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")))

asyncio.run(main())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PAGEWIRE_"))}
    env["PAGEWIRE_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
