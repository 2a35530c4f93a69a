"""Where the client finds its key and URL (either client), and how API JSON becomes typed results."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from pagewire.client import Job, JobError, JobResult, ResultLink
from sdk.twins import make_client


async def test_the_key_and_base_url_come_from_the_environment_by_default(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGEWIRE_API_KEY", "pw_from_env")
    monkeypatch.setenv("PAGEWIRE_BASE_URL", "https://pagewire.example.com/")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"job_id": "job_1", "status": "pending"})

    client = make_client(kind, transport=httpx.MockTransport(answer))
    await client.jobs.get_job("job_1")
    await client.close()

    assert str(seen[0].url) == "https://pagewire.example.com/job/job_1"
    assert seen[0].headers["x-api-key"] == "pw_from_env"
    assert seen[0].headers["user-agent"].startswith("pagewire-python/")


def test_explicit_arguments_win_over_the_environment(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGEWIRE_API_KEY", "pw_from_env")

    client = make_client(kind, api_key="pw_given", base_url="http://10.0.0.5:9000")

    assert client.api_key == "pw_given" and client.base_url == "http://10.0.0.5:9000"


def test_a_job_parses_into_typed_fields_and_keeps_its_raw_json() -> None:
    job = Job.from_dict(
        {
            "job_id": "job_1",
            "status": "failed",
            "created_at": "2026-11-28T22:40:05.123Z",
            "progress": {"pages_done": 3, "pages_total": 12},
            "metadata": {"user_id": "u-7"},
            "error": {"code": "encrypted_document", "message": "the PDF is encrypted", "page": 4},
            "added_later": True,
        }
    )

    assert job.is_final and job.status == "failed"
    assert job.created_at == datetime(2026, 11, 28, 22, 40, 5, 123000, tzinfo=UTC)
    assert job.progress.fraction == 0.25
    assert job.error == JobError("encrypted_document", "the PDF is encrypted", {"page": 4})
    assert job.raw["added_later"] is True


def test_a_result_is_inline_or_a_link() -> None:
    inline = Job.from_dict(
        {"job_id": "j", "status": "completed", "result": {"markdown": "# Hi", "page_count": 1}}
    )
    linked = Job.from_dict(
        {
            "job_id": "j",
            "status": "completed",
            "result": {"is_url": True, "url": "http://pw/job/j/result", "size": 5_000_000},
        }
    )

    assert isinstance(inline.result, JobResult) and inline.result.markdown == "# Hi"
    assert linked.result == ResultLink("http://pw/job/j/result", 5_000_000)


def test_a_finished_job_from_a_sync_extract_carries_the_warnings_header() -> None:
    """``POST /extract`` in sync mode answers 200 with the job, whose body has no room for
    the request's warnings: they come in ``X-Pagewire-Warnings``, "; "-separated."""
    from pagewire.client._base import extract_answer

    response = httpx.Response(
        200,
        json={"job_id": "job_1", "status": "completed"},
        headers={
            "x-pagewire-warnings": "unknown field 'a' was ignored; unknown field 'b' was ignored",
            "x-request-id": "req_1",
        },
    )

    job = extract_answer(response)

    assert isinstance(job, Job) and job.status == "completed"
    assert job.submission_warnings == [
        "unknown field 'a' was ignored",
        "unknown field 'b' was ignored",
    ]
    assert job.request_id == "req_1"
