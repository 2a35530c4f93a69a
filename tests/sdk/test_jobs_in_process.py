"""``client.extract`` and ``client.jobs`` against the real API in-process (no worker: jobs stay pending).

Each test runs with ``Pagewire`` and with ``AsyncPagewire`` (the ``client`` fixture).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pagewire import AuthenticationError, BadRequestError, ConflictError, NotFoundError
from pagewire.client import Job, JobAudit, JobSubmission
from sdk.twins import Twin, in_process, make_client


async def test_extract_returns_a_typed_submission_and_get_job_the_typed_job(
    client: Twin, sample_pdf: Path
) -> None:
    submission = await client.extract(
        file=sample_pdf, pages="1-2", metadata={"user_id": "u-7", "record": 42}
    )

    assert isinstance(submission, JobSubmission)
    assert submission.job_id.startswith("job_") and submission.status == "pending"
    job = await client.jobs.get_job(job_id=submission.job_id)
    assert isinstance(job, Job)
    assert job.status == "pending" and not job.is_final
    assert job.metadata == {"user_id": "u-7", "record": 42}
    assert job.input.file_name == sample_pdf.name
    assert job.options["pages"] == "1-2"
    assert job.progress.pages_done == 0 and job.created_at is not None


@pytest.mark.parametrize("given", ["bytes", "file object"])
async def test_extract_accepts_bytes_and_file_objects(
    client: Twin, sample_pdf: Path, given: str
) -> None:
    content = sample_pdf.read_bytes()
    source: Any = content if given == "bytes" else io.BytesIO(content)

    submission = await client.extract(file=source, file_name="filing.pdf")

    job = await client.jobs.get_job(submission.job_id)
    assert job.input.file_name == "filing.pdf" and job.input.size == len(content)


async def test_a_file_object_that_cannot_seek_is_still_sent_whole(
    client: Twin, sample_pdf: Path
) -> None:
    class Pipe(io.RawIOBase):
        """A stream read once, like a socket or a pipe."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    content = sample_pdf.read_bytes()
    pipe = io.BufferedReader(Pipe(content))

    submission = await client.extract(file=pipe, file_name="piped.pdf")

    job = await client.jobs.get_job(submission.job_id)
    assert job.input.size == len(content) and job.input.file_name == "piped.pdf"


async def test_a_job_is_submitted_read_canceled_and_listed(client: Twin, sample_pdf: Path) -> None:
    submission = await client.extract(file=sample_pdf, metadata={"user_id": "u-1"})

    assert isinstance(submission, JobSubmission)
    assert (await client.jobs.get_job(job_id=submission.job_id)).metadata == {"user_id": "u-1"}
    assert (await client.jobs.cancel_job(job_id=submission.job_id)).status == "canceled"
    assert [j.job_id for j in await client.jobs.list()] == [submission.job_id]


async def test_the_same_idempotency_key_returns_the_same_job(
    client: Twin, sample_pdf: Path
) -> None:
    first = await client.extract(file=sample_pdf, idempotency_key="order-1")
    again = await client.extract(file=sample_pdf, idempotency_key="order-1")

    assert again.job_id == first.job_id
    assert again.replayed and not first.replayed


async def test_an_idempotency_key_reused_with_another_body_is_a_conflict(
    client: Twin, sample_pdf: Path
) -> None:
    await client.extract(file=sample_pdf, idempotency_key="order-2")

    with pytest.raises(ConflictError) as caught:
        await client.extract(file=sample_pdf, pages="1", idempotency_key="order-2")
    assert caught.value.status == 409


async def test_two_submissions_without_a_key_make_two_jobs(client: Twin, sample_pdf: Path) -> None:
    first = await client.extract(file=sample_pdf)
    second = await client.extract(file=sample_pdf)

    assert first.job_id != second.job_id


async def test_cancel_job_cancels_a_pending_job_and_is_idempotent(
    client: Twin, sample_pdf: Path
) -> None:
    submission = await client.extract(file=sample_pdf)

    canceled = await client.jobs.cancel_job(job_id=submission.job_id)
    again = await client.jobs.cancel_job(job_id=submission.job_id)

    assert canceled.status == "canceled" and canceled.is_final
    assert again.status == "canceled"


async def test_list_walks_every_page_newest_first(client: Twin, sample_pdf: Path) -> None:
    submitted = [(await client.extract(file=sample_pdf)).job_id for _ in range(5)]

    listed = [job.job_id for job in await client.jobs.list(page_size=2)]

    assert listed == list(reversed(submitted))
    first_page = await client.jobs.list_page(page_size=2)
    assert len(first_page.data) == 2 and first_page.next_cursor
    # which request this was, to quote to support: the response's x-request-id
    assert first_page.request_id and first_page.request_id.startswith("req_")


async def test_list_filters_by_status(client: Twin, sample_pdf: Path) -> None:
    kept = await client.extract(file=sample_pdf)
    canceled = await client.extract(file=sample_pdf)
    await client.jobs.cancel_job(canceled.job_id)

    pending = [job.job_id for job in await client.jobs.list(status="pending")]
    either = [job.job_id for job in await client.jobs.list(status=["pending", "canceled"])]

    assert pending == [kept.job_id]
    assert set(either) == {kept.job_id, canceled.job_id}


async def test_a_field_the_server_ignored_is_named_in_the_submissions_warnings(
    client: Twin, sample_pdf: Path
) -> None:
    misspelt = await client.extract(file=sample_pdf, extra_fields={"pagse": "1-2"})
    clean = await client.extract(file=sample_pdf, pages="1-2")

    assert misspelt.warnings == ["unknown field 'pagse' was ignored (did you mean 'pages'?)"]
    assert clean.warnings == []
    assert (await client.jobs.get_job(misspelt.job_id)).options["pages"] is None


async def test_audit_says_which_key_and_request_submitted_the_job(
    client: Twin, tenant: Any, sample_pdf: Path
) -> None:
    submission = await client.extract(file=sample_pdf, metadata={"user_id": "u-7"})

    audit = await client.jobs.audit(submission.job_id)
    job = await client.jobs.get_job(submission.job_id)

    assert isinstance(audit, JobAudit) and audit.job_id == submission.job_id
    assert audit.key_id == tenant.key_id and audit.metadata == {"user_id": "u-7"}
    assert audit.user_agent is not None and audit.user_agent.startswith("pagewire-python/")
    assert audit.created_at == job.created_at
    # Each successful answer carries its own request id; the audit kept the submission's.
    assert submission.request_id is not None and submission.request_id.startswith("req_")
    assert audit.request_id == submission.request_id
    assert job.request_id is not None and job.request_id != submission.request_id


async def test_the_audit_of_another_organizations_job_is_not_found(
    client: Twin, connect: Callable[..., Twin], other_tenant: Any, sample_pdf: Path
) -> None:
    submission = await client.extract(file=sample_pdf)

    with pytest.raises(NotFoundError):
        await connect(other_tenant.api_key).jobs.audit(submission.job_id)


async def test_another_organizations_job_is_not_found(
    client: Twin, connect: Callable[..., Twin], other_tenant: Any, sample_pdf: Path
) -> None:
    submission = await client.extract(file=sample_pdf)
    outsider = connect(other_tenant.api_key)

    with pytest.raises(NotFoundError) as caught:
        await outsider.jobs.get_job(submission.job_id)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    # The server's id of the request, to quote to its operator (it finds the log lines).
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")


async def test_a_wrong_api_key_is_an_authentication_error(connect: Callable[..., Twin]) -> None:
    wrong = connect("pw_wrong")

    with pytest.raises(AuthenticationError) as caught:
        await wrong.jobs.get_job("job_x")
    assert caught.value.status == 401


async def test_no_api_key_fails_before_any_request_and_says_how_to_fix_it(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAGEWIRE_API_KEY", raising=False)
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200))

    keyless = make_client(kind, transport=transport)
    with pytest.raises(AuthenticationError, match="PAGEWIRE_API_KEY"):
        await keyless.jobs.get_job("job_x")
    await keyless.close()
    assert sent == []


async def test_bad_input_is_a_bad_request_error_with_the_apis_code(
    client: Twin, sample_pdf: Path
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.extract(file=sample_pdf, pages="3-1")
    assert caught.value.code == "invalid_pages" and "3-1" in caught.value.message

    with pytest.raises(BadRequestError) as unsupported:
        await client.extract(file=b"just some words", file_name="notes.bin")
    assert unsupported.value.status == 415


async def test_get_result_of_an_unfinished_job_is_a_conflict_naming_the_status(
    client: Twin, sample_pdf: Path
) -> None:
    submission = await client.extract(file=sample_pdf)

    with pytest.raises(ConflictError) as caught:
        await client.jobs.get_result(submission.job_id)
    assert caught.value.code == "job_not_completed" and "pending" in caught.value.message


async def test_the_apis_own_rate_limit_is_waited_out_as_its_retry_after_asks(
    kind: str, store: Any, settings_factory: Any, tenant: Any
) -> None:
    from pagewire.app import create_app

    app = create_app(settings_factory(rate_limit_per_second=20, rate_limit_burst=1), store=store)
    asked: list[float] = []

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        time.sleep(0.1)  # enough for the bucket to refill; the test need not wait 1 s

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http,
    ):
        sdk = in_process(kind, http, tenant.api_key, sleep=sleep)
        pages = [(await sdk.jobs.list_page()).data for _ in range(3)]
        await sdk.close()

    assert pages == [[], [], []]  # every call got through in the end
    assert asked and all(delay == 1.0 for delay in asked)
