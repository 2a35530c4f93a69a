"""What ``submit --wait`` draws: the progress bar and the final status line."""

from __future__ import annotations

import io
from typing import Any

from pagewire.cli.jobs import ProgressBar, exit_code_for, status_line
from pagewire.client import Job


def job(status: str, done: int = 0, total: int | None = None, **extra: Any) -> Job:
    return Job.from_dict(
        {
            "job_id": "job_1",
            "status": status,
            "progress": {"pages_done": done, "pages_total": total},
            **extra,
        }
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_change_is_its_own_line() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, width=10)

    for state in (job("pending"), job("processing", 0, 4), job("processing", 2, 4)):
        bar.update(state)
    bar.close()

    assert out.getvalue().splitlines() == [
        "pending    [----------]   0/? pages",
        "processing [----------]   0/4 pages",
        "processing [#####-----]   2/4 pages",
    ]


def test_on_a_terminal_the_line_redraws_in_place_and_ends_with_a_newline() -> None:
    out = Terminal()
    bar = ProgressBar(out, width=4)

    bar.update(job("processing", 1, 4))
    bar.update(job("completed", 4, 4))
    bar.close()

    assert out.getvalue() == "\rprocessing [#---]   1/4 pages\rcompleted  [####]   4/4 pages\n"


def test_the_final_line_names_the_status_and_a_failures_reason() -> None:
    failed = job("failed", 3, 9, error={"code": "encrypted_document", "message": "encrypted"})

    assert status_line(job("completed", 9, 9), 2.04) == "job job_1 completed (9 pages) in 2.0 s"
    assert status_line(failed) == "job job_1 failed: encrypted_document: encrypted"
    exit_codes = {s: exit_code_for(job(s)) for s in ("completed", "failed", "canceled", "expired")}
    assert exit_codes == {"completed": 0, "failed": 1, "canceled": 1, "expired": 1}
