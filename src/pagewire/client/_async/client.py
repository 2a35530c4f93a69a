"""``AsyncPagewire``: the client, with its retries and its pagination."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx

from pagewire.client._async.jobs import AsyncJobs
from pagewire.client._async.webhooks import AsyncWebhooks
from pagewire.client._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientConfig,
    batch_answer,
    batch_request,
    extract_answer,
    extract_fields,
    extract_request,
    failure_from_response,
    failure_from_transport,
    json_body,
    list_page,
    query_params,
)
from pagewire.client._errors import PagewireAPIError
from pagewire.client._models import Job, JobSubmission
from pagewire.client._retry import RetryPolicy
from pagewire.client._upload import FileInput, Upload

__all__ = ["AsyncPagewire"]

T = TypeVar("T")


class AsyncPagewire:
    """A client for the pagewire API.

    ``api_key`` and ``base_url`` default to ``PAGEWIRE_API_KEY`` and
    ``PAGEWIRE_BASE_URL`` (then ``http://127.0.0.1:8000``). Requests that fail
    with 408/429/5xx or never reach the server are retried ``max_retries``
    times with exponential backoff and jitter, honouring ``Retry-After``.

    Pass ``http_client`` (an ``httpx.AsyncClient``, which the caller keeps and closes)
    or ``transport`` to route requests elsewhere, e.g. to an app in-process.
    ``clock``, ``wall_clock`` and ``sleep`` are there so tests need not wait.

    Use it as a context manager (``async with client: ...``), or call
    ``await client.close()``, to release connections.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = ClientConfig.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            wall_clock=wall_clock,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self._config.timeout, follow_redirects=False
        )
        self._clock = clock
        self._sleep = sleep
        self.jobs = AsyncJobs(self)
        self.webhooks = AsyncWebhooks(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def api_key(self) -> str | None:
        return self._config.api_key

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncPagewire:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncPagewire(base_url={self.base_url!r})"

    @overload
    async def extract(
        self,
        file: FileInput | None = ...,
        *,
        file_url: str | None = ...,
        async_: Literal[True] = ...,
        file_name: str | None = ...,
        pages: str | None = ...,
        metadata: Mapping[str, Any] | None = ...,
        chunking: str | list[str] | None = ...,
        chunk_size: int | None = ...,
        tables: bool | None = ...,
        ocr: str | None = ...,
        return_html: bool | None = ...,
        priority: int | None = ...,
        idempotency_key: str | None = ...,
        wait_timeout: float | None = ...,
        extra_fields: Mapping[str, Any] | None = ...,
    ) -> JobSubmission: ...

    @overload
    async def extract(
        self,
        file: FileInput | None = ...,
        *,
        file_url: str | None = ...,
        async_: Literal[False],
        file_name: str | None = ...,
        pages: str | None = ...,
        metadata: Mapping[str, Any] | None = ...,
        chunking: str | list[str] | None = ...,
        chunk_size: int | None = ...,
        tables: bool | None = ...,
        ocr: str | None = ...,
        return_html: bool | None = ...,
        priority: int | None = ...,
        idempotency_key: str | None = ...,
        wait_timeout: float | None = ...,
        extra_fields: Mapping[str, Any] | None = ...,
    ) -> Job: ...

    async def extract(
        self,
        file: FileInput | None = None,
        *,
        file_url: str | None = None,
        async_: bool = True,
        file_name: str | None = None,
        pages: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        chunking: str | list[str] | None = None,
        chunk_size: int | None = None,
        tables: bool | None = None,
        ocr: str | None = None,
        return_html: bool | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
        wait_timeout: float | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> JobSubmission | Job:
        """Submit a document: a path, bytes or binary file object, or a ``file_url``.

        A path or file object is read 64 KB at a time as it is sent, never whole
        into memory (by the async client, on the event loop's thread).

        With ``async_=True`` (the default) this returns at once with the job id;
        learn that it finished from a webhook, or with :meth:`AsyncJobs.wait`. With
        ``async_=False`` it returns the finished :class:`Job`: the server waits up
        to its limit, and past that this client polls (up to ``wait_timeout``).

        ``pages`` is a list like ``"1-3,7"``; ``metadata`` (your own keys: user id,
        destination record id...) is stored with the job and sent in every event.
        The ``idempotency_key`` (one is generated when not given) makes retries
        safe: the same key and body always return the same job.

        ``extra_fields`` are sent as they are, for an option this SDK does not know
        yet. A field the server does not know is ignored, not refused: the result's
        ``warnings`` (``submission_warnings`` on a finished :class:`Job`) names it.
        """
        fields = extract_fields(
            async_=async_,
            pages=pages,
            metadata=metadata,
            chunking=chunking,
            chunk_size=chunk_size,
            tables=tables,
            ocr=ocr,
            return_html=return_html,
            priority=priority,
        )
        fields.update(extra_fields or {})
        request = extract_request(file, file_url, file_name, fields, idempotency_key)
        answer = extract_answer(await self._request("POST", "/extract", **request))
        if isinstance(answer, Job) or async_:
            return answer
        finished = await self.jobs.wait(answer.job_id, timeout=wait_timeout)
        return dataclasses.replace(finished, submission_warnings=answer.warnings)

    async def batch_extract(
        self,
        files: Sequence[FileInput] | None = None,
        *,
        file_urls: Sequence[str] | None = None,
        pages: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        chunking: str | list[str] | None = None,
        chunk_size: int | None = None,
        tables: bool | None = None,
        ocr: str | None = None,
        return_html: bool | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
        extra_fields: Mapping[str, Any] | None = None,
    ) -> list[JobSubmission]:
        """Submit many documents (up to 100) in one call: one job each, in order.

        Always asynchronous; the options apply to every document. Each document
        is checked before any job is created, so one bad document rejects the
        call (a :class:`BadRequestError` whose ``details["index"]`` names it) and
        nothing is created. ``extra_fields`` are sent as they are, as for
        :meth:`extract`.
        """
        fields = extract_fields(
            async_=True,
            pages=pages,
            metadata=metadata,
            chunking=chunking,
            chunk_size=chunk_size,
            tables=tables,
            ocr=ocr,
            return_html=return_html,
            priority=priority,
        )
        fields.pop("async")  # a batch is always asynchronous: it has no such option
        fields.update(extra_fields or {})
        request = batch_request(files, file_urls, fields, idempotency_key)
        return batch_answer(await self._request("POST", "/batch/extract", **request))

    async def _json(self, method: str, path: str, **request: Any) -> Any:
        """The JSON body of a successful ``_request``."""
        return json_body(await self._request(method, path, **request))

    async def _paginate(
        self, path: str, params: Mapping[str, Any], item: Callable[[dict[str, Any]], T]
    ) -> AsyncIterator[T]:
        """Every item a list endpoint has, fetching the next page when the loop reaches it."""
        cursor: str | None = None
        while True:
            page = list_page(
                await self._request("GET", path, params={**params, "cursor": cursor}), item
            )
            for entry in page.data:
                yield entry
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        upload: Upload | None = None,
        form: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Send one logical request, retrying as the policy allows; raise on failure."""
        config = self._config
        headers = config.headers(method, idempotency_key)
        retries = 0
        while True:
            status: int | None = None
            retry_after: float | None = None
            try:
                with upload.open() if upload else contextlib.nullcontext() as files:
                    response = await self._http.request(
                        method,
                        config.url(path),
                        params=query_params(params),
                        json=json,
                        files=files,
                        data=form,
                        headers=headers,
                        timeout=config.timeout,
                    )
            except httpx.TransportError as exc:
                error: PagewireAPIError = failure_from_transport(exc, config.base_url)
                error.__cause__ = exc  # the httpx error behind ours, for debugging
            else:
                if response.is_success:
                    return response
                status = response.status_code
                error, retry_after = failure_from_response(response, config.wall_clock())
            delay = config.retry.delay(retries, status=status, retry_after=retry_after)
            if delay is None:
                raise error
            await self._sleep(delay)
            retries += 1
