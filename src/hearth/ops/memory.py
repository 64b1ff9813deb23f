"""Handing freed memory back to the system, so that resident memory after a burst falls back to what is in use.

Why: after a burst of REST clients (50 TLS connections: OpenSSL and h11 buffers, request objects) the memory is
freed by Python, but glibc's malloc keeps it: at the top of the heap up to its trim threshold, which grows
with every large block freed (dynamic threshold), and in free holes inside the heap, which it never returns by
itself. Measured with 1,034 devices after the S6 load: 90 MB resident, of which some 12 MB freed and kept.

What: every ``INTERVAL_S`` a ``malloc_trim(0)``, which returns the free pages at the top of the heap and inside
it. The trim runs in a worker thread (ctypes releases the GIL); it takes about 0.2 ms when there is nothing to
return and a few ms after a burst, during which malloc calls of other threads on the same arena wait. (Fixing
glibc's trim threshold with ``mallopt`` instead was tried: no lower RSS after the same load, and large buffers
then mapped and unmapped at every use.)

Only on glibc (Linux); elsewhere (musl, macOS) nothing is done.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from hearth.core.tasks import cancel_and_wait

INTERVAL_S = 10.0


def _glibc() -> Any:
    """The C library this process runs on if it is glibc (the only one with ``gnu_get_libc_version``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here, not at import: a gateway start does not pay for it before the loop runs

    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded in this process: its C library among them
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "malloc_trim"):
        return None
    return libc


class MemoryTrimmer:
    """The periodic ``malloc_trim``: a task from ``start`` until ``stop``."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.trims = 0
        self.last_trim_ms = 0.0
        self._libc: Any = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._libc = _glibc()
        if self._libc is None:
            return
        self._task = asyncio.create_task(self._run(), name="memory-trim")

    def trim(self) -> bool:
        """Return free heap pages to the system now; True if some were returned."""
        if self._libc is None:
            return False
        started = time.perf_counter()
        returned = bool(self._libc.malloc_trim(0))
        self.last_trim_ms = (time.perf_counter() - started) * 1000
        self.trims += 1
        return returned

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await asyncio.to_thread(self.trim)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
