"""The SDK against ``pagewire serve`` as a real process: jobs run, the dispatcher delivers.

Submitting and waiting run with ``Pagewire`` and with ``AsyncPagewire``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pagewire import Pagewire
from pagewire.client import Block, Job, JobResult, JobSubmission, Page, ResultLink
from pagewire.client._receiver import LocalReceiver
from sdk.live import LiveService, serve_directory
from sdk.twins import make_client

pytestmark = pytest.mark.e2e


async def test_sync_extract_returns_the_finished_job_and_its_result(
    kind: str, live: LiveService, sample_pdf: Path
) -> None:
    client = make_client(kind, api_key=live.api_key, base_url=live.base_url)
    job = await client.extract(file=sample_pdf, pages="1-2", async_=False, metadata={"k": "v"})

    assert isinstance(job, Job)
    assert job.status == "completed" and job.metadata == {"k": "v"}
    assert job.progress.pages_done == 2 == job.progress.pages_total
    assert isinstance(job.result, ResultLink) and job.result.url.endswith("/result")
    result = await client.jobs.get_result(job.job_id)
    await client.close()
    assert isinstance(result, JobResult)
    assert result.page_count == 2 and "Court of Appeals" in result.markdown
    # Pages and blocks are typed, and still read as the JSON they came from.
    first = result.pages[0]
    assert isinstance(first, Page) and [p.number for p in result.pages] == [1, 2]
    assert first.width and first.height and first.markdown
    assert first.blocks and all(isinstance(b, Block) for b in first.blocks)
    assert {b.kind for b in first.blocks} <= {
        "heading",
        "paragraph",
        "list_item",
        "caption",
        "table",
    }
    boxed = [b for b in first.blocks if b.bbox is not None]
    assert boxed and all(0 <= b.bbox.x0 < b.bbox.x1 <= first.width for b in boxed if b.bbox)
    assert first["markdown"] == first.markdown and first.raw["number"] == 1
    assert first.blocks[0].get("kind") == first.blocks[0].kind
    assert result.raw["pages"][0] == first.raw


async def test_a_submitted_job_is_waited_for_with_progress(
    kind: str, live: LiveService, sample_pdf: Path
) -> None:
    seen: list[str] = []
    client = make_client(kind, api_key=live.api_key, base_url=live.base_url)
    submission = await client.extract(file=sample_pdf, pages="1-3")
    assert isinstance(submission, JobSubmission)

    job = await client.jobs.wait(
        submission.job_id, timeout=60, on_progress=lambda j: seen.append(j.status)
    )
    await client.close()

    assert job.status == "completed" and seen[-1] == "completed"


def test_dispatcher_deliveries_verify_with_the_sdk_in_order(
    live: LiveService, sample_pdf: Path
) -> None:
    with (
        Pagewire(api_key=live.api_key, base_url=live.base_url) as client,
        LocalReceiver() as receiver,
    ):
        endpoint = client.webhooks.create_endpoint(receiver.url)
        assert endpoint.secret is not None
        receiver.set_secret(endpoint.secret)
        try:
            submission = client.extract(file=sample_pdf, pages="1", metadata={"order": "o-1"})
            events = []
            while not events or events[-1].type != "job.completed":
                delivery = receiver.next_delivery(timeout=30)
                assert delivery is not None, f"no webhook arrived; got {events}\n{live.log_tail()}"
                assert delivery.event is not None, delivery.error
                if delivery.event.job_id == submission.job_id:
                    events.append(delivery.event)
        finally:
            client.webhooks.delete_endpoint(endpoint.id)

    assert [e.type for e in events] == ["job.created", "job.processing", "job.completed"]
    assert [e.sequence for e in events] == sorted(e.sequence for e in events)
    assert all(e.metadata == {"order": "o-1"} for e in events)
    assert len({e.id for e in events}) == 3 and all(e.id.startswith("msg_") for e in events)


@pytest.fixture
def file_server(sample_pdf: Path) -> Iterator[str]:
    with serve_directory(sample_pdf.parent) as url:
        yield url


async def test_a_file_url_submission_is_downloaded_and_extracted(
    kind: str, live: LiveService, sample_pdf: Path, file_server: str
) -> None:
    url = f"{file_server}/{sample_pdf.name}"
    client = make_client(kind, api_key=live.api_key, base_url=live.base_url)
    job = await client.extract(file_url=url, pages="1", async_=False)
    await client.close()

    assert job.status == "completed", job.error
    assert job.input.file_url == url and job.input.file_name == sample_pdf.name
