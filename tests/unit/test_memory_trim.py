"""The periodic malloc_trim (hearth.ops.memory): freed heap goes back to the system, the task stops cleanly."""

from __future__ import annotations

import asyncio
import sys

import pytest

from hearth.ops.memory import MemoryTrimmer, _glibc

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _glibc() is None, reason="malloc_trim is glibc's"
)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@glibc_only
def test_trim_returns_freed_heap_that_malloc_keeps() -> None:
    trimmer = MemoryTrimmer()
    trimmer._libc = _glibc()
    # 60 MB of heap blocks (too large for Python's own allocator, too small to be mapped on their own), the
    # last one kept: glibc cannot shrink the heap past it, so without a trim the freed 60 MB stay resident.
    blocks = [bytearray(1500) for _ in range(40_000)]
    keeper = bytearray(1500)
    before = _rss_mb()
    del blocks
    kept = _rss_mb()
    assert trimmer.trim()
    after = _rss_mb()
    assert kept - after > 30, f"resident {before:.0f} MB with the blocks, {kept:.0f} freed, {after:.0f} trimmed"
    assert trimmer.trims == 1 and trimmer.last_trim_ms > 0
    del keeper


@glibc_only
async def test_trims_every_interval_until_stopped() -> None:
    trimmer = MemoryTrimmer(interval_s=0.02)
    trimmer.start()
    await asyncio.sleep(0.2)
    await trimmer.stop()
    done = trimmer.trims
    assert done >= 2
    await asyncio.sleep(0.1)
    assert trimmer.trims == done


async def test_stop_before_start_is_harmless() -> None:
    await MemoryTrimmer().stop()
