"""``client.batch_extract``: many documents, one job each, against the real API in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagewire import BadRequestError
from sdk.twins import Twin


async def test_a_batch_makes_one_job_per_document_in_order(client: Twin, sample_pdf: Path) -> None:
    content = sample_pdf.read_bytes()

    jobs = await client.batch_extract([sample_pdf, content], pages="1", metadata={"batch": "b-1"})

    assert [j.file_name for j in jobs] == [sample_pdf.name, "document"]
    assert len({j.job_id for j in jobs}) == 2 and all(j.status == "pending" for j in jobs)
    for submitted in jobs:
        job = await client.jobs.get_job(submitted.job_id)
        assert job.metadata == {"batch": "b-1"} and job.options["pages"] == "1"


async def test_the_same_idempotency_key_returns_the_same_batch(
    client: Twin, sample_pdf: Path
) -> None:
    first = await client.batch_extract([sample_pdf, sample_pdf], idempotency_key="batch-7")
    again = await client.batch_extract([sample_pdf, sample_pdf], idempotency_key="batch-7")

    assert [j.job_id for j in again] == [j.job_id for j in first]


async def test_one_bad_document_rejects_the_batch_and_names_it(
    client: Twin, sample_pdf: Path
) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.batch_extract([sample_pdf, b"plain words, no document"])

    assert caught.value.details.get("index") == 1
    assert await client.jobs.list() == []


async def test_a_batch_needs_files_or_urls_but_not_both(client: Twin) -> None:
    with pytest.raises(ValueError, match="files= or file_urls="):
        await client.batch_extract()
    with pytest.raises(ValueError, match="not both"):
        await client.batch_extract([b"%PDF"], file_urls=["https://example.com/a.pdf"])


async def test_a_batch_sends_extra_fields_and_names_those_the_server_ignored(
    client: Twin, sample_pdf: Path
) -> None:
    # an option this SDK does not know yet goes as it is; a typo comes back as a warning
    jobs = await client.batch_extract([sample_pdf], extra_fields={"pages": "1", "pagse": "1-2"})

    assert (await client.jobs.get_job(jobs[0].job_id)).options["pages"] == "1"
    assert jobs[0].warnings == ["unknown field 'pagse' was ignored (did you mean 'pages'?)"]
