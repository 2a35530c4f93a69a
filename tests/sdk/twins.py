"""One test, both clients: ``Pagewire`` and ``AsyncPagewire`` behind one awaitable face.

A test takes the ``kind`` fixture ("sync" or "async", so it runs once with
each) and builds its client with :func:`make_client` or :func:`in_process`; it
then writes ``await client.jobs.get_job("job_1")`` whichever client it got. The
sync client runs in a worker thread, so the test's event loop keeps serving the
in-process app meanwhile, exactly as a real server would.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from pagewire import AsyncPagewire, Pagewire

KINDS = ["sync", "async"]


class Twin:
    """A client (or its ``jobs`` or ``webhooks``) whose every method is awaited.

    A method that returns an iterator (``jobs.list``, ``webhooks.list_messages``)
    is read to its end: the awaited result is a list. On the sync client a
    method that returns something awaitable fails the test: the sync client
    must never hand back a coroutine.
    """

    def __init__(self, target: Any, kind: str) -> None:
        self._target = target
        self.kind = kind

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in ("jobs", "webhooks"):
            return Twin(value, self.kind)
        if callable(value):
            return functools.partial(self._call, value)
        return value

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.kind == "async":
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                return await result
            if isinstance(result, AsyncIterator):
                return [item async for item in result]
            return result

        def run() -> Any:
            result = method(*args, **kwargs)
            assert not inspect.isawaitable(result), f"the sync {method.__name__} is awaitable"
            return list(result) if isinstance(result, Iterator) else result

        return await asyncio.to_thread(run)


def make_client(kind: str, *, sleep: Callable[[float], None] | None = None, **options: Any) -> Twin:
    """A ``Pagewire`` or an ``AsyncPagewire`` built with ``options``.

    ``sleep`` is a plain function for both: the async client gets it wrapped in
    a coroutine function.
    """
    if sleep is not None:
        options["sleep"] = sleep if kind == "sync" else _awaitable(sleep)
    client = Pagewire(**options) if kind == "sync" else AsyncPagewire(**options)
    return Twin(client, kind)


def in_process(kind: str, api: httpx.AsyncClient, api_key: str, **options: Any) -> Twin:
    """A client of the app that ``api`` (an ``httpx.AsyncClient`` over ASGI) serves."""
    if kind == "async":
        options["http_client"] = api
    else:
        options["transport"] = ThroughTheTestLoop(api, asyncio.get_running_loop())
    return make_client(kind, api_key=api_key, base_url="http://testserver", **options)


class ThroughTheTestLoop(httpx.BaseTransport):
    """A sync transport that hands each request to the in-process app on the test's loop."""

    def __init__(self, api: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._api = api
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        send = self._api.request(
            request.method, request.url, headers=request.headers, content=content
        )
        answer = asyncio.run_coroutine_threadsafe(send, self._loop).result(timeout=30)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def _awaitable(sleep: Callable[[float], None]) -> Callable[[float], Any]:
    async def asleep(seconds: float) -> None:
        sleep(seconds)

    return asleep
