"""The results file every bench writes: ``bench/results/<bench>.json``.

docs/performance.md is rendered from these files (``bench/render_performance.py``),
so every figure on that page comes from a run that wrote it, with the machine, the
date and the machine's load at the time; none is typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    memory_gib = None
    try:
        with open("/proc/meminfo") as meminfo:
            total_kib = int(meminfo.readline().split()[1])
        memory_gib = round(total_kib / (1024 * 1024), 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "system": platform.system(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
    }


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def write(
    bench: str,
    *,
    title: str,
    command: str,
    section: str,
    figures: dict[str, Any],
    summary: list[dict[str, str]],
    load_before: float | None = None,
    quick: bool = False,
) -> Path:
    """Write ``bench/results/<bench>.json``.

    ``section`` is the markdown the bench made from ``figures`` (the body of the
    page's ``## <title>`` section); ``summary`` rows (figure, target, measured) go to
    the page's table at the top. ``quick`` marks a reduced run (a check that the bench
    works, not figures to publish): the renderer refuses it.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{bench}.json"
    data = {
        "bench": bench,
        "title": title,
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "load_average": {"before": load_before, "after": load_average()},
        "quick": quick,
        "summary": summary,
        "section": section.strip() + "\n",
        "figures": figures,
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path
