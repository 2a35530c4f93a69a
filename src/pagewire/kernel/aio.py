"""Small asyncio helpers the background loops (worker, dispatcher) share.

Here rather than in ``worker/`` so that the dispatcher needs nothing of the worker.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any


def freeze_startup_objects() -> None:
    """Keep the objects alive now (modules, engines, sessions) out of every GC pass.

    A background loop allocates and frees short-lived objects by the million, and
    each of the collector's full passes walked the hundreds of thousands of objects
    its imports left, for nothing: they live as long as the process. Objects still
    die by reference count; only a cycle among these would outlive its use.
    """
    gc.freeze()


async def first(*aws: Any) -> None:
    """Wait until the first of ``aws`` completes, then cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
