"""Fixtures of the webhook tests: receivers on 127.0.0.1 and a dispatcher in this loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from webhooks.support import Receiver

if TYPE_CHECKING:
    import aiohttp
    from prometheus_client import CollectorRegistry

    from pagewire.dispatch.dispatcher import Dispatcher
    from pagewire.dispatch.retry_policy import DeliveryRetryPolicy
    from pagewire.dispatch.sender import Sender
    from pagewire.settings import Settings
    from pagewire.store import Store


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[[], Awaitable[Receiver]]]:
    started: list[Receiver] = []

    async def make() -> Receiver:
        receiver = await Receiver().start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        await receiver.close()


@pytest.fixture
async def receiver(receivers: Callable[[], Awaitable[Receiver]]) -> Receiver:
    return await receivers()


@pytest.fixture
async def run_dispatcher(
    store: Store, settings: Settings
) -> AsyncIterator[Callable[..., Awaitable[Dispatcher]]]:
    """Start a dispatcher in this loop (stopped at the end): ``await run_dispatcher(**settings)``;
    ``sender``, ``clock`` and ``policy`` go to the Dispatcher as they are."""
    from prometheus_client import CollectorRegistry

    from pagewire.dispatch.dispatcher import Dispatcher

    running: list[tuple[Dispatcher, asyncio.Task[None]]] = []

    async def start(
        *,
        on_store: Store | None = None,
        registry: CollectorRegistry | None = None,
        session: aiohttp.ClientSession | None = None,
        sender: Sender | None = None,
        clock: Callable[[], float] | None = None,
        policy: DeliveryRetryPolicy | None = None,
        **overrides: Any,
    ) -> Dispatcher:
        values = {
            "webhook_retry_schedule": "0,0.05,0.05",
            "webhook_timeout_seconds": 2.0,
            "webhook_lease_seconds": 5.0,
            "drain_seconds": 1.0,
            **overrides,
        }
        dispatcher = Dispatcher(
            on_store or store,
            settings.model_copy(update=values),
            registry=registry or CollectorRegistry(),
            session=session,
            sender=sender,
            policy=policy,
            **({"clock": clock} if clock else {}),
        )
        running.append((dispatcher, asyncio.create_task(dispatcher.run())))
        return dispatcher

    yield start
    for dispatcher, _ in running:
        dispatcher.stop()
    for _, task in running:
        await asyncio.wait_for(task, 10)
