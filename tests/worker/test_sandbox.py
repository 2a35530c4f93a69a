"""The extractor's sandbox (extract/sandbox.py), over the real child: what a hostile file
tries beyond its job is refused, forked and spawned, and its job still completes; with
the sandbox off the same attempts succeed; a worker that requires a sandbox the kernel
cannot give does not start."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import hostile_child
from pagewire.extract import sandbox
from pagewire.worker import sandboxing
from pagewire.worker.runner import Outcome, ProcessRunner, Task

ABI = sandbox.abi()
needs_landlock = pytest.mark.skipif(ABI == 0, reason="this kernel offers no Landlock")
PATHS = pytest.mark.parametrize("prefork", [True, False], ids=["forked", "spawned"])
SECRET = "portal-signing-secret"


@dataclass
class DataDir:
    """A worker's data directory as a job's child finds it: keys, the database, another
    tenant's upload, the worker's scratch directory with another job's result in it."""

    root: Path
    upload: Path  # this job's input: the blob store lends the blob's own file
    output: Path  # this job's result, in the shared scratch directory
    secrets: list[Path]

    @classmethod
    def make(cls, root: Path, document: Path) -> DataDir:
        scratch = root / "tmp" / "worker-host-1-abcd"
        files = {
            root / "secret_key": SECRET,
            root / "encryption_keys": "k1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==",
            root / "pagewire.db": "SQLite format 3",
            root / "blobs" / "org-b" / "uploads" / "contract": "another tenant's upload",
            scratch / "job-b-1234.result.json": '{"markdown": "another tenant\'s result"}',
        }
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        upload = root / "blobs" / "org-a" / "uploads" / "filing"
        upload.parent.mkdir(parents=True)
        upload.write_bytes(document.read_bytes())
        return cls(root, upload, scratch / "job-a-5678.result.json", list(files))

    def task(self, **fields: Any) -> Task:
        values: dict[str, Any] = {
            "input_path": self.upload,
            "media_type": "application/pdf",
            "options": {"pages": "1"},
            "output_path": self.output,
            "max_pages": 1000,
            "memory_limit_mb": 1024,
            "time_limit": 60.0,
            **fields,
        }
        return Task(**values)

    def probe(self, report: Path, **beyond: Any) -> str:
        """A hostile child's hook: read the secrets, list the directories, plant files."""
        return hostile_child.probe(
            report=str(report),
            read=[str(p) for p in self.secrets],
            list=[str(self.root), str(self.output.parent), str(self.root / "blobs")],
            write=[str(self.root / "planted"), str(self.output.parent / "planted")],
            **beyond,
        )


@pytest.fixture
def listeners() -> Iterator[dict[str, Any]]:
    """A TCP server on 127.0.0.1 and an abstract Unix socket, listening, that an exploit
    would send its findings to; and this process, which it would signal."""
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    name = f"pagewire-test-{os.urandom(6).hex()}"
    unix.bind("\0" + name)
    unix.listen()
    # a socket by path, as a local PostgreSQL's (Landlock up to ABI 7 does not cover it)
    folder = tempfile.mkdtemp(prefix="pagewire-test-")
    by_path = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    by_path.bind(path := os.path.join(folder, "s"))
    by_path.listen()
    try:
        yield {
            "tcp": [tcp.getsockname()[1]],
            "udp": [udp.getsockname()[1]],
            "unix": [name],
            "unix_path": [path],
            "signal": [os.getpid()],
        }
    finally:
        for sock in (tcp, udp, unix, by_path):
            sock.close()
        shutil.rmtree(folder)


@pytest.fixture
def runners() -> Iterator[Any]:
    made: list[ProcessRunner] = []

    def make(hook: str, **options: Any) -> ProcessRunner:
        made.append(runner := hostile_child.runner(hook, **options))
        return runner

    yield make
    for runner in made:
        runner.close()


async def go_on(done: int, total: int) -> bool:
    return True


def first_page(outcome: Outcome, job: Task) -> str:
    assert outcome.status == "completed", outcome
    result = outcome.result or json.loads(job.output_path.read_bytes())
    return str(result["pages"][0]["markdown"])


def refused_everywhere(report: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Of the report, the attempts that were not refused as the running ABI refuses them."""
    refusal = {
        "read": "EACCES",
        "list": "EACCES",
        "write": "EACCES",
        # no socket can be made at all (the seccomp filter): every family, EACCES
        "tcp": "EACCES",
        "udp": "EACCES",
        "unix": "EACCES",
        "unix_path": "EACCES",
        "signal": "EPERM" if ABI >= 6 else "ok",
    }
    return {
        kind: {what: outcome for what, outcome in tries.items() if outcome != refusal[kind]}
        for kind, tries in report.items()
        if any(outcome != refusal[kind] for outcome in tries.values())
    }


# -- what a hostile file can reach --------------------------------------------------------


@needs_landlock
@PATHS
async def test_a_hostile_child_reaches_nothing_beyond_its_job_and_its_job_completes(
    runners: Any, sample_pdf: Path, tmp_path: Path, listeners: dict[str, Any], prefork: bool
) -> None:
    data = DataDir.make(tmp_path / "data", sample_pdf)
    report = tmp_path / "report.json"
    runner = runners(data.probe(report, **listeners), prefork=prefork, protect=(str(data.root),))

    outcome = await runner.run(job := data.task(), go_on)

    assert "CALVARY CHAPEL" in first_page(outcome, job)
    outcomes = json.loads(report.read_text())
    assert set(outcomes) == {"read", "list", "write", "tcp", "udp", "unix", "unix_path", "signal"}
    assert refused_everywhere(outcomes) == {}
    assert not (data.root / "planted").exists() and not (data.output.parent / "planted").exists()
    # the job leaves nothing in the shared scratch directory: its result came inline
    assert sorted(p.name for p in data.output.parent.iterdir()) == ["job-b-1234.result.json"]


@PATHS
async def test_with_the_sandbox_off_the_same_child_reads_the_secrets(
    runners: Any, sample_pdf: Path, tmp_path: Path, listeners: dict[str, Any], prefork: bool
) -> None:
    # What the test above proves is the sandbox's doing: without it, every attempt works.
    data = DataDir.make(tmp_path / "data", sample_pdf)
    report = tmp_path / "report.json"
    runner = runners(data.probe(report, **listeners), prefork=prefork, sandbox="off")

    outcome = await runner.run(job := data.task(), go_on)

    assert "CALVARY CHAPEL" in first_page(outcome, job)
    outcomes = json.loads(report.read_text())
    assert {o for tries in outcomes.values() for o in tries.values()} == {"ok"}
    assert (data.root / "planted").read_text() == "written from the extractor child"


@needs_landlock
@PATHS
async def test_a_large_result_is_still_written_for_the_worker(
    runners: Any, sample_pdf: Path, tmp_path: Path, prefork: bool
) -> None:
    data = DataDir.make(tmp_path / "data", sample_pdf)
    runner = runners(hostile_child.probe(report=str(tmp_path / "report.json")), prefork=prefork)

    outcome = await runner.run(job := data.task(options={}, inline_limit=0), go_on)

    assert outcome.status == "completed" and outcome.result is None
    assert json.loads(job.output_path.read_bytes())["page_count"] == 17
    assert not job.output_path.with_name(job.output_path.name + ".tmp").exists()


@needs_landlock
@PATHS
async def test_a_data_directory_inside_an_import_directory_stays_out_of_reach(
    runners: Any,
    sample_pdf: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefork: bool,
) -> None:
    # A project root on sys.path (``python -m`` adds the working directory, and the
    # image's working directory is its data directory) holding the data directory.
    project = tmp_path / "project"
    data = DataDir.make(project / "pagewire-data", sample_pdf)
    monkeypatch.setenv("PYTHONPATH", str(project))
    report = tmp_path / "report.json"
    runner = runners(data.probe(report), prefork=prefork, protect=(str(data.root),))

    outcome = await runner.run(job := data.task(), go_on)

    assert "CALVARY CHAPEL" in first_page(outcome, job)
    assert refused_everywhere(json.loads(report.read_text())) == {}


def test_the_rules_never_name_the_working_directory_or_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python -m pagewire.extract.child` has its working directory on sys.path: a project
    # root holding ./pagewire-data, or the image's data directory itself.
    project = tmp_path / "project"
    (project / "pagewire-data").mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", [str(project), "", "/", *sys.path])
    job = tmp_path / "job"

    rules = sandbox.grants(job / "input", job / "output", job / "output.tmp", protect=())

    granted = {os.path.realpath(path) for path, _ in rules}
    assert str(project) not in granted and "/" not in granted
    assert os.path.realpath(sys.prefix) in granted  # what the child imports stays readable


@needs_landlock
async def test_another_tenants_upload_and_the_workers_keys_are_out_of_reach_of_a_job(
    harness: Any, sample_pdf: Path, tmp_path: Path
) -> None:
    # The real worker: the first tenant's upload sits in the blob store beside the second's.
    data_dir = harness.services.settings.data_dir
    harness.services.settings.signing_key()  # DATA_DIR/secret_key, as the portal makes it
    async with harness.worker():
        first = await harness.finished(await harness.submit(sample_pdf.read_bytes(), pages="1"))
    uploads = [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]
    report = tmp_path / "report.json"
    hook = hostile_child.probe(
        report=str(report),
        read=[str(data_dir / "secret_key"), *map(str, uploads)],
        list=[str(data_dir), str(data_dir / "tmp")],
    )
    async with harness.worker(hook):
        second = await harness.finished(await harness.submit(sample_pdf.read_bytes(), pages="1"))

    assert first["status"] == second["status"] == "completed", second
    assert "CALVARY CHAPEL" in second["result"]["markdown"]
    assert len(uploads) == 1
    assert refused_everywhere(json.loads(report.read_text())) == {}


# -- a sandbox that cannot be applied -----------------------------------------------------


@needs_landlock
@PATHS
@pytest.mark.parametrize(
    ("hook", "reason"),
    [("no-landlock", "no Landlock"), ("thread", "2 threads are running")],
)
async def test_a_child_that_cannot_confine_itself_fails_its_job_unread(
    runners: Any, sample_pdf: Path, tmp_path: Path, prefork: bool, hook: str, reason: str
) -> None:
    data = DataDir.make(tmp_path / "data", sample_pdf)

    outcome = await runners(hook, prefork=prefork).run(data.task(), go_on)

    assert outcome.status == "failed" and outcome.error, outcome
    assert outcome.error["code"] == "sandbox_failed"
    assert reason in outcome.error["message"]


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0"]])
def test_a_worker_that_requires_a_sandbox_the_kernel_lacks_refuses_to_start(
    tmp_path: Path, command: list[str]
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "PAGEWIRE_DATA_DIR": str(tmp_path / "data"),
        "PAGEWIRE_EXTRACTOR_SANDBOX": "required",
    }
    migrate = [sys.executable, "-m", "pagewire.cli", "migrate"]
    subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=60)
    # The worker as `pagewire worker` starts it, on a kernel whose Landlock probe answers 0.
    code = (
        "import sys, pagewire.extract.sandbox as sandbox\n"
        "sandbox.abi = lambda: 0\n"
        "from pagewire.cli.main import main\n"
        f"sys.exit(main({command!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 1, done.stderr
    assert "PAGEWIRE_EXTRACTOR_SANDBOX=required" in done.stderr
    assert "no Landlock sandbox" in done.stderr
    assert "Traceback" not in done.stderr
    assert "worker started" not in done.stderr
    assert "Uvicorn running" not in done.stderr


async def test_without_landlock_auto_says_so_once_and_runs_jobs_unsandboxed(
    sample_pdf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(sandbox, "abi", lambda: 0)
    monkeypatch.setattr(sandboxing, "_announced", set())
    data = DataDir.make(tmp_path / "data", sample_pdf)

    runners = [ProcessRunner(prefork=False), ProcessRunner(prefork=False)]
    outcome = await runners[0].run(job := data.task(), go_on)

    warnings = [r.getMessage() for r in caplog.records if "extractor sandbox" in r.getMessage()]
    assert len(warnings) == 1 and "run unsandboxed" in warnings[0]
    assert [r.sandbox for r in runners] == ["none", "none"]
    assert "CALVARY CHAPEL" in first_page(outcome, job)


@needs_landlock
def test_the_worker_says_at_start_which_sandbox_is_in_force(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(sandboxing, "_announced", set())
    caplog.set_level(logging.INFO, logger="pagewire.worker")

    runner = ProcessRunner.for_settings(settings)

    said = [r.getMessage() for r in caplog.records if "extractor sandbox" in r.getMessage()]
    assert said == [f"extractor sandbox: {runner.sandbox}"]
    assert runner.sandbox.startswith(f"landlock ABI {ABI} (files")
    assert str(settings.data_dir.resolve()) in runner.protect
