"""Retries: 429 with Retry-After, 5xx and connection errors, one idempotency key throughout.

Each test runs with ``Pagewire`` and with ``AsyncPagewire`` (the ``kind`` fixture).
"""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from pagewire import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PagewireAPIError,
    PermissionDeniedError,
    RateLimitError,
)
from pagewire.client import Backoff, RetryPolicy
from sdk.twins import Twin, make_client

JOB = {"job_id": "job_1", "status": "pending", "url": "http://pw/job/job_1"}


def error(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": f"{code} happened", "details": {}}}
    return httpx.Response(status, json=body, headers=headers)


class Server:
    """Answers each request with the next scripted response and records what it got."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        request.read()
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_for(kind: str, server: Server, slept: list[float], **options: object) -> Twin:
    return make_client(
        kind,
        api_key="pw_test",
        base_url="http://pw",
        transport=httpx.MockTransport(server),
        sleep=slept.append,
        **options,
    )


async def test_a_429_is_retried_after_exactly_the_retry_after_the_server_asked_for(
    kind: str,
) -> None:
    server = Server(
        error(429, "rate_limited", **{"Retry-After": "3"}), httpx.Response(202, json=JOB)
    )
    slept: list[float] = []

    submission = await client_for(kind, server, slept).extract(file=b"%PDF-1.7 ...")

    assert submission.job_id == "job_1"
    assert slept == [3.0]
    assert len(server.requests) == 2


async def test_every_retry_of_a_post_carries_the_same_generated_idempotency_key(kind: str) -> None:
    server = Server(
        httpx.ConnectError("connection refused"),
        error(503, "database_unavailable"),
        httpx.Response(202, json=JOB),
    )

    await client_for(kind, server, []).extract(file=b"%PDF-1.7 ...")

    keys = {r.headers["idempotency-key"] for r in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1
    assert keys.pop().startswith("pw-")
    # A retried upload sends the whole document again.
    assert all(b"%PDF-1.7 ..." in r.content for r in server.requests)


async def test_two_calls_get_two_different_idempotency_keys(kind: str) -> None:
    server = Server(httpx.Response(202, json=JOB), httpx.Response(202, json=JOB))
    client = client_for(kind, server, [])

    await client.extract(file=b"%PDF-1.7 ...")
    await client.extract(file=b"%PDF-1.7 ...")

    first, second = (r.headers["idempotency-key"] for r in server.requests)
    assert first != second


async def test_a_given_idempotency_key_is_sent_as_is(kind: str) -> None:
    server = Server(httpx.Response(202, json=JOB))

    await client_for(kind, server, []).extract(
        file_url="https://example.com/a.pdf", idempotency_key="k-1"
    )

    assert server.requests[0].headers["idempotency-key"] == "k-1"


async def test_a_rate_limit_that_outlasts_the_retries_reaches_the_caller_with_retry_after(
    kind: str,
) -> None:
    server = Server(*[error(429, "rate_limited", **{"Retry-After": "2"}) for _ in range(3)])
    slept: list[float] = []

    with pytest.raises(RateLimitError) as caught:
        await client_for(kind, server, slept, max_retries=2).jobs.get_job("job_1")

    assert caught.value.retry_after == 2.0 and caught.value.status == 429
    assert slept == [2.0, 2.0] and len(server.requests) == 3


async def test_a_retry_after_longer_than_the_policy_allows_is_not_waited_out(kind: str) -> None:
    server = Server(error(429, "rate_limited", **{"Retry-After": "600"}))
    slept: list[float] = []

    with pytest.raises(RateLimitError) as caught:
        await client_for(kind, server, slept).jobs.get_job("job_1")

    assert caught.value.retry_after == 600.0 and slept == []


async def test_server_errors_back_off_exponentially_with_jitter_then_give_up(kind: str) -> None:
    server = Server(*[error(502, "bad_gateway") for _ in range(4)])
    slept: list[float] = []
    policy = RetryPolicy(
        max_retries=3, backoff=Backoff(initial=1, factor=2, maximum=10, rng=random.Random(7))
    )

    with pytest.raises(APIStatusError) as caught:
        await client_for(kind, server, slept, retry=policy).jobs.get_job("job_1")

    assert caught.value.status == 502 and caught.value.code == "bad_gateway"
    assert len(slept) == 3
    for delay, base in zip(slept, [1, 2, 4], strict=True):
        assert 0.75 * base <= delay <= base


async def test_client_errors_are_never_retried(kind: str) -> None:
    server = Server(error(400, "invalid_pages"))
    slept: list[float] = []

    with pytest.raises(BadRequestError):
        await client_for(kind, server, slept).extract(file=b"%PDF", pages="x")

    assert slept == [] and len(server.requests) == 1


async def test_an_unreachable_server_is_a_connection_error_naming_the_url(kind: str) -> None:
    server = Server(*[httpx.ConnectError("connection refused") for _ in range(3)])

    with pytest.raises(APIConnectionError, match="http://pw") as caught:
        await client_for(kind, server, []).jobs.get_job("job_1")

    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_timeout_is_an_api_timeout_error(kind: str) -> None:
    server = Server(*[httpx.ReadTimeout("slow") for _ in range(3)])

    with pytest.raises(APITimeoutError):
        await client_for(kind, server, []).jobs.get_job("job_1")


async def test_an_error_without_a_json_body_still_reads_clearly(kind: str) -> None:
    server = Server(httpx.Response(500, text="upstream exploded"))

    with pytest.raises(APIStatusError, match="upstream exploded"):
        await client_for(kind, server, [], max_retries=0).jobs.get_job("job_1")


async def test_a_retry_after_given_as_an_http_date_is_read_against_the_injected_wall_clock(
    kind: str,
) -> None:
    server = Server(
        error(503, "database_unavailable", **{"Retry-After": "Sat, 28 Nov 2026 23:00:04 GMT"}),
        httpx.Response(200, json={"job_id": "job_1", "status": "pending"}),
    )
    slept: list[float] = []
    now = 1_795_906_800.0  # 2026-11-28 23:00:00 UTC

    await client_for(kind, server, slept, wall_clock=lambda: now).jobs.get_job("job_1")

    assert slept == [4.0]


async def test_a_429_then_a_dropped_connection_are_retried_under_one_key(kind: str) -> None:
    server = Server(
        error(429, "rate_limited", **{"Retry-After": "1"}),
        httpx.ConnectError("reset"),
        httpx.Response(202, json=JOB),
    )
    slept: list[float] = []
    policy = RetryPolicy(backoff=Backoff(initial=0.5, jitter=0))
    client = client_for(kind, server, slept, retry=policy)

    submission = await client.extract(file_url="https://example.com/a.pdf")

    assert submission.job_id == "job_1" and slept == [1.0, 1.0]
    assert len({r.headers["idempotency-key"] for r in server.requests}) == 1


async def test_a_retried_batch_sends_every_document_again_under_one_key(
    kind: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    first.write_bytes(b"%PDF-1.7 first")
    second.write_bytes(b"%PDF-1.7 second")
    batch = {
        "data": [{**JOB, "file_name": "a.pdf"}, {**JOB, "job_id": "job_2", "file_name": "b.pdf"}]
    }
    server = Server(error(503, "database_unavailable"), httpx.Response(202, json=batch))

    jobs = await client_for(kind, server, []).batch_extract([first, second])

    assert [(j.job_id, j.file_name) for j in jobs] == [("job_1", "a.pdf"), ("job_2", "b.pdf")]
    assert all(b"first" in r.content and b"second" in r.content for r in server.requests)
    assert len({r.headers["idempotency-key"] for r in server.requests}) == 1


@pytest.mark.parametrize(
    ("status", "family"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, BadRequestError),
        (415, BadRequestError),
        (422, BadRequestError),
        (429, RateLimitError),
        (501, APIStatusError),
        (418, APIStatusError),
    ],
)
async def test_each_status_is_its_error_family_carrying_the_request_id(
    kind: str, status: int, family: type[PagewireAPIError]
) -> None:
    server = Server(error(status, "nope", **{"x-request-id": "req_42"}))

    with pytest.raises(PagewireAPIError) as caught:
        await client_for(kind, server, [], max_retries=0).jobs.get_job("job_1")

    assert type(caught.value) is family
    assert caught.value.status == status and caught.value.code == "nope"
    assert caught.value.request_id == "req_42"
