"""Start-up against a database that may be down: wait for it, with backoff, logged.

``pagewire worker`` and ``pagewire dispatch`` open their services through this, and
``pagewire serve`` checks its start through it before it listens, so a restart of the
database is not an outage of pagewire (docs/operations.md, "Starting while the
database is down"). What no wait fixes ends the process with one line, exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from pagewire.errors import StoreUnavailable
from pagewire.runtime import SchemaNotCurrent, Services, open_services
from pagewire.settings import Settings

log = logging.getLogger("pagewire.cli")


def reconnect_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1`` to reach the database: doubling from half a
    second up to 15 s, with jitter so a fleet of processes does not knock at once."""
    return min(0.5 * 2.0 ** (attempt - 1) * random.uniform(0.8, 1.2), 15.0)


async def open_when_reachable(
    stack: contextlib.AsyncExitStack,
    open_once: Callable[[], contextlib.AbstractAsyncContextManager[Services]],
    stop: asyncio.Event,
) -> Services | None:
    """The services, once the database answers; None when ``stop`` is set first.

    A database that is down (refused, starting up, a connection dropped) is waited for
    with backoff, each attempt logged with the driver's words, so a restart of the
    database is not an outage of the workers. An unknown role, a wrong password or a
    missing database raise at once: waiting would not fix them.
    """
    attempt = 0
    while True:
        attempt += 1
        opening = asyncio.ensure_future(stack.enter_async_context(open_once()))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not opening.done():  # a connection attempt can hang; a SIGTERM need not wait
            opening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await opening
            return None
        try:
            services = opening.result()
        except StoreUnavailable as error:
            if not error.transient:
                raise
            delay = reconnect_delay(attempt)
            log.warning(
                "database unreachable, retrying",
                extra={
                    "fields": {
                        "attempt": attempt,
                        "retry_in_seconds": round(delay, 1),
                        "error": error.message,
                    }
                },
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return None
            continue
        if attempt > 1:
            log.info("database reachable", extra={"fields": {"attempts": attempt}})
        return services


def unusable(error: StoreUnavailable | SchemaNotCurrent) -> SystemExit:
    """Exit 1 with one line for a database no wait fixes (a wrong role, password or
    database name; a schema not current): the reason, and what to check."""
    if isinstance(error, SchemaNotCurrent):
        return SystemExit(str(error))
    return SystemExit(
        f"{error.message}\ncheck PAGEWIRE_DATABASE_URL (or --database-url); "
        "a new database needs `pagewire migrate`"
    )


async def ready_to_serve(settings: Settings, stop: asyncio.Event) -> bool:
    """``pagewire serve``'s start, before it listens: wait for the database as the
    worker does, apply migrations and open the encryption keys, then close again (the
    app's lifespan opens its own). False when ``stop`` came while waiting.

    Raises :class:`SystemExit` (exit 1, one line) for a database no wait fixes, and
    :class:`~pagewire.security.encryption.EncryptionKeyError` (exit 2) for a wrong key.
    """
    async with contextlib.AsyncExitStack() as stack:
        try:
            services = await open_when_reachable(
                stack,
                lambda: open_services(settings, listen=False, queue_metrics=False),
                stop,
            )
        except StoreUnavailable as error:
            raise unusable(error) from None
    return services is not None
