"""Landlock for a job's extractor child: what a parser exploited by a hostile file can reach.

A child already runs with a scrubbed environment and only its three pipes, but
without this it could open any file the worker's user can: the data directory's
``secret_key`` and ``encryption_keys``, the SQLite database, other tenants'
uploads and results in the local blob store, other jobs' scratch files; and it
could open a TCP connection to send them away. pdfium is C++ and reads
whatever a customer uploads, so the child confines itself right after it reads
its task and before it opens the document (:func:`confine`, called by
``child.main`` on both the forked and the spawned path).

Landlock (Linux 5.13+, no privilege needed) is an allow-list: once applied, the
process and everything it starts (tesseract) can open only what a rule names,
and cannot undo it. The rules (:func:`grants`):

- read: the Python installation and the directories it imports from, the system's
  programs, libraries and data (``/usr``: tesseract, its language data, fonts, the
  word list), a few named files of ``/etc`` (not all of it: an operator's
  ``/etc/pagewire/env`` may hold the database URL), the CPU topology in ``/sys``,
  its own ``/proc/self``;
- the job's input file, read only; its output file, write only; its own temporary
  directory (``TMPDIR``: pytesseract's images and tesseract's output), read-write.
  The scratch directory around them is not granted: the worker's other jobs keep
  their inputs and results there;
- never the working directory, which ``python -m`` puts on ``sys.path`` (the image's
  working directory is its data directory), nor ``/``, nor a directory that holds a
  protected path (the data directory, the blob directory, the database's directory;
  sent by the worker), even when it is on ``sys.path``.

With ABI 4 every TCP bind and connect is refused; with ABI 6 the child can neither
signal a process outside its sandbox nor reach an abstract Unix socket outside it.
Beyond Landlock, a seccomp filter refuses ``socket()`` itself (:mod:`.seccomp`):
UDP and Unix sockets named by a path, which no Landlock ABI up to 7 covers.
Rights the running kernel does not know are not asked for (best effort), and
:func:`describe` says what was in force.

There is no binding in the standard library: the three syscalls are called
through ctypes. Their numbers are the same on x86_64 and aarch64; elsewhere
:func:`abi` answers 0 (no sandbox).
"""

from __future__ import annotations

import ctypes
import os
import platform
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pagewire.extract import seccomp
from pagewire.extract.base import ExtractError

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_MACHINES = frozenset({"x86_64", "aarch64", "arm64"})

# Filesystem rights (ABI 1 unless said)
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
REFER = 1 << 13  # ABI 2: link or rename across directories
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5: ioctl on a device file
# Network (ABI 4) and scopes (ABI 6)
_BIND_TCP, _CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = READ_FILE | READ_DIR
RUN = READ | EXECUTE
# The rights a rule on a file (not a directory) may carry; the kernel refuses others.
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
_SCRATCH = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | TRUNCATE

# Programs and libraries: tesseract is executed from here (and its loader mapped).
SYSTEM_ROOTS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
# What the child, its libraries and tesseract read of /etc: the dynamic loader's
# cache, time zone, MIME types (openpyxl), OpenSSL's configuration (hashlib), user
# and name-service lookups that glibc makes on tesseract's start, fonts.
ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "mime.types",
    "ssl",
    "pki",
    "passwd",
    "group",
    "nsswitch.conf",
    "host.conf",
    "fonts",
)
# The CPU count (OpenMP in tesseract, sysconf), the child's own process entry.
KERNEL_READS = ("/sys/devices/system/cpu", "/proc/self")
DEVICES = (
    ("/dev/null", READ_FILE | WRITE_FILE),  # subprocess's DEVNULL for tesseract
    ("/dev/zero", READ_FILE),
    ("/dev/urandom", READ_FILE),
    ("/dev/random", READ_FILE),
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is packed: 12 bytes
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi() -> int:
    """The Landlock ABI version of the running kernel; 0: none (not Linux, not built
    in, not enabled at boot, or refused by a container's seccomp profile)."""
    if sys.platform != "linux" or platform.machine().lower() not in _MACHINES:
        return 0
    try:
        version = _libc().syscall(
            _CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION
        )
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def describe(version: int) -> str:
    """What a sandbox of that ABI confines, for the worker's start log."""
    if version <= 0:
        return "none"
    kinds = ["files"] + (["tcp"] if version >= 4 else []) + (["scopes"] if version >= 6 else [])
    return f"landlock ABI {version} ({', '.join(kinds)}), no sockets (seccomp)"


def handled_fs(version: int) -> int:
    """Every filesystem right the ABI knows: what is not granted is denied."""
    rights = (1 << 13) - 1  # ABI 1: execute through make_sym
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def grants(
    input_path: Path, output_path: Path, temp_dir: Path, protect: Iterable[str]
) -> list[tuple[str, int]]:
    """The rules of one job's sandbox: (path, rights), the paths that exist."""
    guarded = [_real(p) for p in protect]
    rules: list[tuple[str, int]] = []
    for root in SYSTEM_ROOTS:
        rules.append((root, RUN))
    for root in _python_roots():
        rules.append((root, READ))
    tessdata = os.environ.get("TESSDATA_PREFIX")
    if tessdata:
        rules.append((tessdata, READ))
    rules += [(f"/etc/{name}", READ) for name in ETC_ENTRIES]
    rules += [(path, READ) for path in KERNEL_READS]
    rules = [(p, r) for p, r in rules if _real(p) != "/" and not _touches(_real(p), guarded)]
    rules += list(DEVICES)
    rules += [
        (str(input_path), READ_FILE),
        (str(output_path), WRITE_FILE | TRUNCATE),
        (str(temp_dir), _SCRATCH),
    ]
    return rules


def _python_roots() -> Iterator[str]:
    """The interpreter's installation and every directory it imports from, but the
    working directory that ``python -m`` and ``-c`` put on ``sys.path``: the child
    imports nothing from there, and it may be a project root or the data directory."""
    cwd = _real(os.getcwd())
    yield from (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix)
    yield from (entry for entry in sys.path if entry and _real(entry) != cwd)
    yield str(Path(__file__).resolve().parent.parent)  # the pagewire package


def _real(path: str | Path) -> str:
    return os.path.realpath(path)


def _touches(path: str, guarded: list[str]) -> bool:
    """Whether granting ``path`` would reach a guarded path (it holds one, or is in one)."""
    return any(_within(g, path) or _within(path, g) for g in guarded)


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def confine(spec: dict[str, Any] | None, input_path: str, output_path: str) -> None:
    """Confine this process (and what it starts) to one job, as the worker asked in the
    task's ``sandbox`` (None: the worker runs its children unsandboxed).

    Fails the job (``sandbox_failed``) rather than run it unconfined: the worker has
    announced a sandbox, so a child that cannot apply one must not read the document.
    """
    if spec is None:
        return
    version = abi()
    if version <= 0:
        raise ExtractError("sandbox_failed", "this kernel offers no Landlock sandbox")
    temp_dir = Path(spec["temp_dir"])
    try:
        _prepare(Path(output_path), temp_dir)
        rules = grants(Path(input_path), Path(output_path), temp_dir, spec.get("protect", ()))
        _restrict(rules, version)
    except OSError as error:
        raise ExtractError(
            "sandbox_failed", f"the extractor could not confine itself: {error}"
        ) from None
    # Python's temporary files (pytesseract's) and tesseract's own go to the job's directory.
    os.environ["TMPDIR"] = str(temp_dir)
    tempfile.tempdir = str(temp_dir)


def _prepare(output_path: Path, temp_dir: Path) -> None:
    """What the rules name must exist before they are made: the output file (empty) and
    the job's temporary directory; the worker removes both."""
    try:
        os.mkdir(temp_dir, 0o700)
    except FileExistsError:
        if not stat.S_ISDIR(os.lstat(temp_dir).st_mode):
            raise
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    os.close(os.open(output_path, flags, 0o600))


def _restrict(rules: list[tuple[str, int]], version: int) -> None:
    # A ruleset binds only the thread that applies it (before ABI 8): a second thread
    # would stay free, and an exploit could drive it.
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise OSError(f"{threads} threads are running; the sandbox binds only one")
    libc = _libc()
    # Required to restrict oneself without privilege; also: no setuid gain in tesseract.
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _last_error("prctl(PR_SET_NO_NEW_PRIVS)")
    handled = handled_fs(version)
    attr = _RulesetAttr(
        handled_access_fs=handled,
        handled_access_net=(_BIND_TCP | _CONNECT_TCP) if version >= 4 else 0,
        scoped=(_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if version >= 6 else 0,
    )
    # A kernel reads the part of the struct its ABI knows (the first field from ABI 1,
    # the second from 4, the third from 6).
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise _last_error("landlock_create_ruleset")
    try:
        for path, rights in rules:
            _add_rule(libc, ruleset, path, rights & handled)
        if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            raise _last_error("landlock_restrict_self")
    finally:
        os.close(ruleset)
    seccomp.refuse_sockets(libc)  # what Landlock leaves open: UDP, Unix sockets by path


def _add_rule(libc: Any, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return  # not on this system (/lib32, /etc/pki...): nothing to grant
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        attr = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(attr), 0) != 0:
            raise _last_error(f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def _last_error(call: str) -> OSError:
    errno = ctypes.get_errno()
    return OSError(errno, f"{call}: {os.strerror(errno)}")
