"""Structured logs: one line per event, JSON when stderr is not a terminal.

Callers pass fields with ``extra={"fields": {...}}``. Nothing here knows about keys
or secrets: callers never put them in fields, and tests check the log for them.

Every line written while an HTTP request is handled carries that request's id
(``request_id``): the middleware (:mod:`pagewire.telemetry.http`) sets it in a
context variable, which the tasks and threads the request starts inherit.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import IO, Any

# The id of the HTTP request being handled (None outside one).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pagewire_request_id", default=None
)


def current_request_id() -> str | None:
    """The id of the request this code runs for, if any: for error bodies and records."""
    return request_id.get()


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = getattr(record, "fields", {})
    rid = request_id.get()
    if rid is not None and "request_id" not in fields:
        return {"request_id": rid, **fields}
    return fields


class JsonFormatter(logging.Formatter):
    # The time to the second, spelled once per second rather than once per line.
    _second = -1
    _spelled = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second = second
            self._spelled = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        line: dict[str, Any] = {
            "ts": f"{self._spelled}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        base = f"{time.strftime('%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        text = f"{base} {tail}" if tail else base
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def handler(stream: IO[str], fmt: str = "json") -> logging.Handler:
    """A handler writing pagewire's log lines (``json`` or ``text``) to ``stream``."""
    made = logging.StreamHandler(stream)
    made.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return made


def configure(fmt: str = "auto", level: str = "INFO") -> None:
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    root = logging.getLogger()
    root.handlers[:] = [handler(sys.stderr, fmt)]
    root.setLevel(level.upper())
    # uvicorn's access log repeats what our request log says; keep its errors.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
