"""A local webhook receiver for ``pagewire listen`` and ``pagewire demo``.

A standard-library HTTP server on a background thread: it verifies each
delivery, queues the event for the caller, and optionally forwards the request
unchanged to the developer's own handler (answering with that handler's status,
so the dispatcher retries when the handler fails, exactly as in production).
With ``forward_secret`` the forwarded request is signed again with that secret
(same ``webhook-id`` and timestamp), so the handler keeps one secret across
``pagewire listen`` runs whatever endpoint each run registers.
Deliveries are few here, so the standard library's server is plenty, and the
CLI keeps needing nothing beyond httpx.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

from pagewire.client._errors import WebhookVerificationError
from pagewire.client._models import WebhookEvent
from pagewire.client._verify import verify_webhook
from pagewire.kernel.signing import sign

__all__ = ["LocalReceiver", "ReceivedDelivery"]

_MAX_BODY = 1 << 20  # events are thin (well under 20 KB); anything larger is not ours
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding"}


@dataclass(frozen=True)
class ReceivedDelivery:
    """One request the receiver got: the event when it verified, else why not."""

    event: WebhookEvent | None
    error: str | None = None
    forwarded_status: int | None = None
    forward_error: str | None = None  # why the handler gave no answer (a 502 then)


class LocalReceiver:
    """Receives, verifies and queues webhooks on ``http://127.0.0.1:<port>/``.

    Start it (or use ``with``), register :attr:`url` as an endpoint, then give
    it the endpoint's secret with :meth:`set_secret`. Until it has a secret it
    answers 503, which the dispatcher retries.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        forward_to: str | None = None,
        forward_timeout: float = 10.0,
        forward_secret: str | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.deliveries: queue.Queue[ReceivedDelivery] = queue.Queue()
        self._secret: str | None = None
        self._forward_to = forward_to
        self._forward_timeout = forward_timeout
        self._forward_secret = forward_secret
        self._forward = httpx.Client(timeout=forward_timeout) if forward_to else None
        self._now = now
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pagewire-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def set_secret(self, secret: str) -> None:
        self._secret = secret

    def start(self) -> LocalReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        if self._forward is not None:
            self._forward.close()

    def __enter__(self) -> LocalReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def next_delivery(self, timeout: float | None = None) -> ReceivedDelivery | None:
        try:
            return self.deliveries.get(timeout=timeout)
        except queue.Empty:
            return None

    def _receive(self, body: bytes, headers: dict[str, str]) -> tuple[int, ReceivedDelivery | None]:
        if self._secret is None:
            return 503, None
        try:
            now = self._now() if self._now else None
            event = verify_webhook(body, headers, self._secret, now=now)
        except WebhookVerificationError as error:
            delivery = ReceivedDelivery(None, error.message)
            self.deliveries.put(delivery)
            return 400, delivery
        status, why = 200, None
        if self._forward is not None and self._forward_to is not None:
            status, why = self._forward_request(body, headers, event)
        forwarded = status if self._forward else None
        delivery = ReceivedDelivery(event, forwarded_status=forwarded, forward_error=why)
        self.deliveries.put(delivery)
        return status, delivery

    def _forward_request(
        self, body: bytes, headers: dict[str, str], event: WebhookEvent
    ) -> tuple[int, str | None]:
        """The handler's status; 502 and the reason when it gave none (the dispatcher
        will retry, as it would against the real handler)."""
        assert self._forward is not None and self._forward_to is not None
        kept = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        if self._forward_secret is not None:
            kept = {k: v for k, v in kept.items() if k.lower() != "webhook-signature"}
            # It verified, so its timestamp header is there and an integer.
            stamp = next(v for k, v in kept.items() if k.lower() == "webhook-timestamp")
            kept["webhook-signature"] = sign(self._forward_secret, event.id, int(stamp), body)
        try:
            answer = self._forward.post(self._forward_to, content=body, headers=kept)
        except httpx.ConnectError as error:
            return 502, _connect_failure(self._forward_to, error)
        except httpx.TimeoutException:
            return 502, f"no answer from {self._forward_to} within {self._forward_timeout:g} s"
        except httpx.HTTPError as error:
            return 502, f"{self._forward_to}: {error or type(error).__name__}"
        return answer.status_code, None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > _MAX_BODY:
                    self._answer(413)
                    return
                body = self.rfile.read(length)
                status, _ = receiver._receive(body, dict(self.headers.items()))
                self._answer(status)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the caller prints what matters; access logs would drown it

        return Handler


def _connect_failure(url: str, error: httpx.ConnectError) -> str:
    text = str(error).lower()
    if "refused" in text:
        return f"connection refused by {url} (is your app running?)"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return f"cannot resolve the host of {url}"
    return f"cannot connect to {url}: {error}"
