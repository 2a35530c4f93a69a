"""Domain records -> response bodies."""

from __future__ import annotations

from pagewire.api.schemas import JobAudit, JobError, JobInputOut, JobOut, Progress
from pagewire.events import job_url
from pagewire.kernel.timefmt import iso
from pagewire.models import Job


def job_out(job: Job, public_url: str, *, with_result: bool = True) -> JobOut:
    result = None
    if with_result and job.result_blob_key is not None:
        result = {
            "is_url": True,
            "url": f"{job_url(public_url, job.id)}/result",
            "size": job.result_size,
        }
    elif with_result:
        result = job.result
    return JobOut(
        job_id=job.id,
        status=job.status.value,
        created_at=iso(job.created_at) or "",
        updated_at=iso(job.updated_at) or "",
        started_at=iso(job.started_at),
        finished_at=iso(job.finished_at),
        progress=Progress(pages_done=job.pages_done, pages_total=job.pages_total),
        attempts=job.attempts,
        cancel_requested=job.cancel_requested,
        metadata=job.metadata,
        options=job.options,
        input=JobInputOut(
            file_name=job.input.file_name,
            file_url=job.input.file_url,
            media_type=job.input.media_type,
            sha256=job.input.sha256,
            size=job.input.size,
            pages=job.page_count,
        ),
        result=result,
        error=JobError(**job.error) if job.error else None,
    )


def audit_out(job: Job) -> JobAudit:
    """The audit record ``submit.new_job`` kept in the job's ``request``, with its metadata."""
    request = job.request
    return JobAudit(
        job_id=job.id,
        created_at=iso(job.created_at) or "",
        key_id=request.get("key_id"),
        ip=request.get("ip"),
        user_agent=request.get("user_agent"),
        request_id=request.get("request_id"),
        metadata=job.metadata,
    )
