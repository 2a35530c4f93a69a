"""One attempt of one delivery: the ``Sender`` protocol and the aiohttp sender.

A sender turns a claimed delivery into an :class:`AttemptOutcome`: the
receiver's status code, its ``Retry-After``, the first 4 KB of its answer and
the latency, or why there was no answer. It never raises for a failed attempt:
a failure is an outcome like any other, for the retry policy to judge.

:class:`HttpSender` signs each request (Standard Webhooks), adds the endpoint's
own headers under ours, and connects through the SSRF guard's connector, which
checks every address it connects to; redirects are never followed.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Protocol

import aiohttp

from pagewire.dispatch.retry_policy import AttemptOutcome
from pagewire.errors import UnsafeURL
from pagewire.kernel import signing
from pagewire.kernel.net_errors import describe_network_error
from pagewire.models import ClaimedDelivery
from pagewire.security import netguard
from pagewire.settings import Settings
from pagewire.store.deliveries import RESPONSE_BODY_LIMIT

log = logging.getLogger("pagewire.dispatch")

USER_AGENT = "pagewire-webhooks/1"


class Sender(Protocol):
    async def send(self, delivery: ClaimedDelivery) -> AttemptOutcome:
        """Make one attempt; what happened, never an exception for a failed attempt."""
        ...


def request_headers(delivery: ClaimedDelivery, timestamp: int) -> dict[str, str]:
    """An attempt's headers: the endpoint's own, then ours (which they cannot replace)."""
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.build_headers(delivery.secrets, delivery.event_id, timestamp, delivery.body),
    }
    if delivery.headers:
        headers = {**delivery.headers, **headers}
    return headers


class HttpSender:
    """POSTs with one aiohttp session (made here, with the SSRF-guarded connector,
    unless one is given; :meth:`close` closes only a session made here)."""

    def __init__(
        self, settings: Settings, *, limit: int, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.timeout_seconds = settings.webhook_timeout_seconds
        self.allow_private = settings.allow_private_urls
        self.allow_http = settings.allow_private_urls or settings.allow_http_webhooks
        self._timeout = aiohttp.ClientTimeout(
            total=settings.webhook_timeout_seconds,
            sock_connect=settings.webhook_connect_timeout_seconds,
        )
        self._owns_session = session is None
        self._session = session or aiohttp.ClientSession(
            connector=netguard.guarded_connector(allow_private=self.allow_private, limit=limit)
        )

    async def close(self) -> None:
        if self._owns_session:
            await self._session.close()

    async def send(self, delivery: ClaimedDelivery) -> AttemptOutcome:
        # The signature's timestamp is wall-clock time: receivers check it against theirs.
        headers = request_headers(delivery, int(time.time()))
        started = time.perf_counter()
        detail: str | None = None
        try:
            _check_url(delivery.url, self.allow_private, self.allow_http)
            async with self._session.post(
                delivery.url,
                data=delivery.body,
                headers=headers,
                allow_redirects=False,  # 3xx is a failure, never followed
                timeout=self._timeout,
            ) as response:
                text = (await response.content.read(RESPONSE_BODY_LIMIT)).decode(errors="replace")
                return AttemptOutcome(
                    response.status,
                    None,
                    response.headers.get("retry-after"),
                    time.perf_counter() - started,
                    text,
                )
        except UnsafeURL as error:
            message = f"refused by the SSRF guard: {error.message}"
        except TimeoutError:
            message = f"timed out after {self.timeout_seconds:g} s"
        except aiohttp.ClientError as error:
            refused = netguard.refused_address(error)
            if refused:
                message = f"refused by the SSRF guard: {refused}"
            else:
                message, detail = _in_words(error)
        except OSError as error:
            message, detail = _in_words(error)
        except Exception as error:
            # Never lose a held delivery to a surprise: it is recorded as a failed attempt.
            log.exception("webhook attempt crashed", extra={"fields": {"delivery_id": delivery.id}})
            message = f"pagewire failed to send this webhook: {_describe(error)}"
        return AttemptOutcome(
            error=message, latency=time.perf_counter() - started, error_detail=detail
        )


@functools.lru_cache(maxsize=4096)
def _check_url(url: str, allow_private: bool, allow_http: bool) -> None:
    """The SSRF guard's shape check, once per URL (the connector checks every address)."""
    netguard.validate_url(url, allow_private=allow_private, allow_http=allow_http)


def _in_words(error: BaseException) -> tuple[str, str]:
    """What happened (connection refused, DNS failure...), and the library's own text."""
    failure = describe_network_error(error)
    return failure.message, failure.detail


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if text != type(error).__name__ else text
