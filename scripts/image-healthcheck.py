"""The container image's HEALTHCHECK: GET /healthz of the process the container runs.

One image runs every role, so the check reads the container's command (PID 1) to find
where that process answers: `serve` on its API port (--port, else PAGEWIRE_PORT, else
8000); `worker` and `dispatch` on their metrics port when one is set (--metrics-port or
PAGEWIRE_METRICS_PORT). A role with nothing to ask (a worker without a metrics port, a
one-shot `migrate`) is healthy while it runs. Standard library only: a check costs one
short Python start, every 30 seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

ROLES = {"serve": ("--port", "PAGEWIRE_PORT", "8000"), "worker": None, "dispatch": None}
METRICS = ("--metrics-port", "PAGEWIRE_METRICS_PORT", None)


def _option(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _port(argv: list[str]) -> str | None:
    role = next((arg for arg in argv if arg in ROLES), None)
    if role is None:
        return None
    flag, variable, default = ROLES[role] or METRICS
    return _option(argv, flag) or os.environ.get(variable) or default


def main() -> int:
    argv = Path("/proc/1/cmdline").read_bytes().decode(errors="replace").split("\0")
    port = _port(argv)
    if port is None:
        return 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            return 0 if reply.status == 200 else 1
    except OSError as error:
        print(f"/healthz on port {port}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
