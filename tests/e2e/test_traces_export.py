"""``pagewire serve`` with an OTLP endpoint set exports its spans there, as a collector gets them."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .test_serve import new_key, submit, wait_all

pytestmark = pytest.mark.e2e


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps each span's name and attributes."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, Any]]] = []
        self.arrived = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                with collector.arrived:
                    for resource in request.resource_spans:
                        for scope in resource.scope_spans:
                            for span in scope.spans:
                                attributes = {
                                    a.key: getattr(a.value, a.value.WhichOneof("value"))
                                    for a in span.attributes
                                }
                                collector.spans.append((span.name, attributes))
                    collector.arrived.notify_all()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, names: set[str], job_id: str, timeout: float = 30) -> None:
        def seen() -> bool:
            return names <= {n for n, a in self.spans if a.get("pagewire.job_id") == job_id}

        with self.arrived:
            assert self.arrived.wait_for(seen, timeout), self.spans


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    collector.server.shutdown()
    collector.server.server_close()


def test_serve_exports_a_jobs_spans_to_the_otlp_endpoint(
    service_factory: Any, collector: Collector, sample_pdf: Path
) -> None:
    service = service_factory(
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="100",  # export every 100 ms rather than every 5 s
        OTEL_SERVICE_NAME="pagewire-e2e",
    )
    headers = new_key(service)
    service.serve()
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        job_id = submit(client, sample_pdf, pages="1-2")
        wait_all(client, [job_id], {"completed"}, 60)

    collector.wait_for(
        {"pagewire.submit", "pagewire.claim", "pagewire.extract", "pagewire.extract.page"}, job_id
    )
