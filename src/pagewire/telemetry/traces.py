"""Optional OpenTelemetry traces: off by default, and then free.

On when ``PAGEWIRE_TRACES=true`` or an OTLP endpoint is set
(``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), unless
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``; the other standard
``OTEL_*`` variables (service name, headers, sampler) apply as the SDK reads them.
Needs the ``otel`` extra (``pip install 'pagewire[otel]'``).

The spans (docs/operations.md "Traces"), each with ``pagewire.job_id``:

* ``pagewire.submit`` in the API: the job's enqueue. Its trace context is stored
  with the job (``traceparent`` in the job's request record), so that
* ``pagewire.claim`` and ``pagewire.extract`` in the worker continue the same trace,
  with one ``pagewire.extract.page`` child per page the extractor reports;
* ``pagewire.webhook.attempt`` in the dispatcher, one per delivery attempt.

When off, :func:`tracer` is None: callers check that once (a worker when it is
built, a route per request) and make no span, and the SDK is never imported.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from pagewire.settings import Settings

log = logging.getLogger("pagewire.traces")

JOB_ID = "pagewire.job_id"
TRACEPARENT = "traceparent"  # the W3C header's name, as stored in a job's request record

_tracer: Tracer | None = None
_configured = False


def tracer() -> Tracer | None:
    """pagewire's tracer, or None when traces are off."""
    return _tracer


def wanted(settings: Settings, env: dict[str, str] | None = None) -> bool:
    """Whether the settings and the standard environment ask for traces."""
    env = dict(os.environ) if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return settings.traces or bool(endpoint)


def configure(settings: Settings) -> None:
    """Turn traces on if asked (once per process), exporting with OTLP over HTTP.

    A tracer provider the application set globally before is used as it is.
    """
    global _configured
    if _configured or not wanted(settings):
        return
    _configured = True
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("traces are asked for but OpenTelemetry is not installed: pagewire[otel]")
        return
    provider = trace.get_tracer_provider()
    if type(provider).__name__ == "ProxyTracerProvider":  # nobody set one: ours
        service = os.environ.get("OTEL_SERVICE_NAME", "pagewire")
        sdk_provider = SdkTracerProvider(resource=Resource.create({"service.name": service}))
        sdk_provider.add_span_processor(BatchSpanProcessor(_exporter()))
        trace.set_tracer_provider(sdk_provider)
        provider = sdk_provider
    use(provider)
    log.info("traces on", extra={"fields": {"exporter": type(provider).__name__}})


def _exporter() -> Any:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def use(provider: TracerProvider | None) -> None:
    """Make pagewire's spans with ``provider`` (None: traces off). For an application that
    embeds pagewire with its own provider, and for tests (an in-memory exporter)."""
    global _tracer, _configured
    if provider is None:
        _tracer, _configured = None, False
        return
    from pagewire import __version__

    _tracer = provider.get_tracer("pagewire", __version__)
    _configured = True


def traceparent(span: Span) -> str | None:
    """``span``'s W3C trace context, to store with a job."""
    from opentelemetry import propagate, trace

    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get(TRACEPARENT)


def context_of(value: Any) -> Context | None:
    """The trace context stored with a job (None: none stored, or not a traceparent)."""
    if not isinstance(value, str):
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({TRACEPARENT: value})
