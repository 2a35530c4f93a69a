"""No sockets for a job's extractor child: a seccomp filter that refuses ``socket()``.

Landlock (:mod:`pagewire.extract.sandbox`) refuses TCP, signals and abstract Unix
sockets, but up to its ABI 7 neither UDP nor a Unix socket named by a path: an
exploited parser could still reach a local PostgreSQL's socket (trust or peer
authentication) or send what it read over UDP. The child needs no socket at all:
it talks to its worker over the three pipes it was given, and tesseract reads and
writes files. So ``socket()`` fails with EACCES whatever the family, and so does
``io_uring_setup`` (io_uring can make sockets of its own). A call made through
another ABI than the machine's (32-bit or x32 on x86_64) is refused too: its
numbers differ, so the filter could not judge it.

The filter is a classic BPF program loaded with ``prctl(PR_SET_SECCOMP)``; it binds
the calling thread and every process it starts, and cannot be lifted. It needs
``PR_SET_NO_NEW_PRIVS``, which the sandbox sets first.
"""

from __future__ import annotations

import ctypes
import errno
import platform
from typing import Any

_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_X32_BIT = 0x40000000
# classic BPF: load a word of seccomp_data (nr at 0, arch at 4), compare, return
_LOAD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06

# (audit arch, socket, io_uring_setup) per machine; io_uring's number is common to both
_MACHINES = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
    "arm64": (0xC00000B7, 198, 425),
}


class _Instruction(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``machine`` as (code, jump if true, jump if false, k) instructions."""
    arch, socket_nr, io_uring_nr = _MACHINES[machine]
    refuse = _RET_ERRNO | errno.EACCES
    return [
        (_LOAD, 0, 0, 4),  # arch
        (_JEQ, 1, 0, arch),
        (_RET, 0, 0, refuse),  # another ABI's call
        (_LOAD, 0, 0, 0),  # syscall number
        (_JGE, 0, 1, _X32_BIT),
        (_RET, 0, 0, refuse),  # an x32 call
        (_JEQ, 2, 0, socket_nr),
        (_JEQ, 1, 0, io_uring_nr),
        (_RET, 0, 0, _RET_ALLOW),
        (_RET, 0, 0, refuse),
    ]


def refuse_sockets(libc: Any) -> None:
    """Load the filter on this thread (after ``PR_SET_NO_NEW_PRIVS``); OSError if refused."""
    machine = platform.machine()
    if machine not in _MACHINES:
        raise OSError(errno.ENOSYS, f"no socket filter for {machine}")
    code = program(machine)
    instructions = (_Instruction * len(code))(*(_Instruction(*i) for i in code))
    fprog = _Program(len(code), instructions)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl(PR_SET_SECCOMP): {errno.errorcode.get(error, error)}")
