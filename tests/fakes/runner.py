"""A worker ``Runner`` that plays a script instead of starting a child process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pagewire.worker.runner import Outcome, PageCallback, Task


@dataclass
class Script:
    """One job's run: ``pages`` page boundaries reported as the child reports them
    (0 of N once the document is open, then each page), then ``outcome`` (by
    default completed, with a small result), or ``error`` raised (a runner that
    breaks). With ``pause_before``, the run stops at that boundary, sets
    ``reached``, and goes on once the test sets ``resume``. With ``result_file``,
    the result is written to the task's output file, as the child writes one too
    large for the pipe."""

    pages: int = 1
    outcome: Outcome | None = None
    result_file: bytes | None = None
    error: Exception | None = None
    pause_before: int | None = None
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    resume: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Run:
    """What one run saw: its task, and each boundary it reported with the worker's
    answer (go on?)."""

    task: Task
    boundaries: list[tuple[int, bool]] = field(default_factory=list)


class ScriptedRunner:
    """Plays ``scripts`` in order, one a job (then a default one-page completion)."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.runs: list[Run] = []

    async def run(self, task: Task, on_page: PageCallback) -> Outcome:
        script = self.scripts.pop(0) if self.scripts else Script()
        run = Run(task)
        self.runs.append(run)
        for done in range(script.pages + 1):
            if script.pause_before == done:
                script.reached.set()
                await script.resume.wait()
            go_on = await on_page(done, script.pages)
            run.boundaries.append((done, go_on))
            if not go_on:
                return Outcome("canceled", page_count=script.pages)
        if script.error is not None:
            raise script.error
        if script.outcome is not None:
            return script.outcome
        if script.result_file is not None:
            task.output_path.write_bytes(script.result_file)
            return Outcome("completed", page_count=script.pages)
        return Outcome("completed", page_count=script.pages, result={"pages": script.pages})
