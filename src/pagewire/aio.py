"""Small asyncio helpers the background loops (worker, dispatcher) share."""

from __future__ import annotations

import asyncio
from typing import Any


async def first(*aws: Any) -> None:
    """Wait until the first of ``aws`` completes, then cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
