"""The worker's side of the extractor's sandbox (:mod:`pagewire.extract.sandbox`).

``PAGEWIRE_EXTRACTOR_SANDBOX`` decides whether each job's child confines itself:
``auto`` (the default) when the kernel offers Landlock, ``required`` or the worker
does not start, ``off`` never. What is in force is said once, when the worker's
runner is made: a worker that runs children unsandboxed says so as a warning,
since that is a different promise to its tenants.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pagewire.extract import sandbox
from pagewire.settings import Settings

log = logging.getLogger("pagewire.worker")

MODES = ("auto", "required", "off")

# Said once per process and mode: a test makes many runners, a worker one.
_announced: set[tuple[str, int]] = set()


class SandboxUnavailable(SystemExit):
    """``required`` on a kernel without Landlock: the worker stops before it claims a job
    (a ``SystemExit``: the command ends with this message, not a traceback)."""


def choose(mode: str) -> int:
    """The Landlock ABI the children apply under ``mode``; 0: they run unsandboxed."""
    if mode not in MODES:
        raise ValueError(f"extractor sandbox must be one of {', '.join(MODES)}, not {mode!r}")
    version = 0 if mode == "off" else sandbox.abi()
    if version == 0 and mode == "required":
        raise SandboxUnavailable(
            "pagewire will not start its worker: PAGEWIRE_EXTRACTOR_SANDBOX=required, but "
            "this kernel offers no Landlock sandbox (it needs Linux 5.13 or later with "
            "landlock among its LSMs, and in a container a seccomp profile that allows the "
            "landlock_* calls; see docs/security.md)"
        )
    _announce(mode, version)
    return version


def _announce(mode: str, version: int) -> None:
    if (mode, version) in _announced:
        return
    _announced.add((mode, version))
    fields = {"extractor_sandbox": sandbox.describe(version) if version else "none"}
    if version:
        log.info(f"extractor sandbox: {sandbox.describe(version)}", extra={"fields": fields})
    elif mode == "off":
        log.warning(
            "extractor sandbox: off (PAGEWIRE_EXTRACTOR_SANDBOX=off): a parser exploited by "
            "a hostile document can read every file this worker's user can",
            extra={"fields": fields},
        )
    else:
        log.warning(
            "extractor sandbox: none, this kernel offers no Landlock: extractor children "
            "run unsandboxed, and a parser exploited by a hostile document can read every "
            "file this worker's user can (PAGEWIRE_EXTRACTOR_SANDBOX=required refuses to "
            "start instead; docs/security.md)",
            extra={"fields": fields},
        )


def protected_paths(settings: Settings) -> tuple[str, ...]:
    """What no sandbox rule may reach, even through a directory on ``sys.path``: the data
    directory (keys, SQLite, local blobs, scratch), a blob directory elsewhere, and the
    directory of a SQLite database elsewhere."""
    paths = [settings.data_dir]
    if settings.blob_url.startswith("file://"):
        paths.append(Path(settings.blob_url[len("file://") :]))
    from pagewire.store.dialect import dialect_for

    url = settings.resolved_database_url
    database = dialect_for(url).database_file(url)
    if database is not None:
        paths.append(database.parent)
    return tuple(str(path.resolve()) for path in paths)
