"""Shared pieces of the benchmark suite: result rows, the 1 ms loop-lag ticker, an in-process gateway,
percentiles, RSS, and the table printer.

Nothing here measures anything by itself; each scenario module documents what it measures.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import math
import os
import platform
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass(slots=True)
class Row:
    """One line of the table. ``op`` is ">=" or "<" (or "" for a figure given for information only)."""

    scenario: str
    figure: str
    value: float
    unit: str
    op: str = ""
    target: float | None = None
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or math.isnan(self.baseline) or math.isnan(self.value):
            return None
        return self.value / self.baseline

    @property
    def verdict(self) -> str:
        if not self.op or self.target is None:
            return "info"
        if math.isnan(self.value):
            return "MISSED (no figure)"
        ok = self.value >= self.target if self.op == ">=" else self.value < self.target
        return "met" if ok else "MISSED"


@dataclass(slots=True)
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def note(self, text: str) -> None:
        self.notes.append(text)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


class LoopLagProbe:
    """A 1 ms ticker: how late each ``asyncio.sleep(0.001)`` wakes up is the loop's lag at that moment.

    asyncio rounds its poll timeout up to the millisecond, so an idle loop already shows up to ~1 ms; the
    scenarios that use it run it in their baseline too, so the idle floor is visible next to the figure.
    """

    PERIOD_S = 0.001

    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = False

    def start(self) -> LoopLagProbe:
        self._stop = False
        self._task = asyncio.create_task(self._run(), name="bench-loop-lag")
        return self

    async def _run(self) -> None:
        clock = time.perf_counter
        while not self._stop:
            expected = clock() + self.PERIOD_S
            await asyncio.sleep(self.PERIOD_S)
            self.lags_ms.append(max(0.0, (clock() - expected) * 1000))

    async def stop(self) -> None:
        self._stop = True
        if self._task is not None:
            await self._task

    @property
    def p99(self) -> float:
        return percentile(self.lags_ms, 99)

    @property
    def max(self) -> float:
        return max(self.lags_ms) if self.lags_ms else float("nan")


async def maybe_await(value: Any) -> Any:
    """Await ``value`` if it is awaitable (Hearth's close methods are being made sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


def cpu_seconds() -> float:
    """CPU time of this process, every thread included (the aiosqlite thread counts)."""
    return time.process_time()


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc/<pid>/status."""
    rss = hwm = float("nan")
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def gateway_env(
    data_dir: Path, *, devices: int = 0, house: str = "none", synchronous: str = "FULL", **extra: str
) -> dict[str, str]:
    """Settings for an in-process gateway: its own data folder, no API, the virtual driver, no drift."""
    env = {
        "HEARTH_STORE__DATA_DIR": str(data_dir),
        "HEARTH_STORE__SYNCHRONOUS": synchronous,
        "HEARTH_API__ENABLED": "false",
        "HEARTH_DRIVERS__VIRTUAL__ENABLED": "true",
        "HEARTH_DRIVERS__VIRTUAL__HOUSE": house,
        "HEARTH_DRIVERS__VIRTUAL__GENERATED_DEVICES": str(devices),
        "HEARTH_DRIVERS__VIRTUAL__DRIFT_INTERVAL_S": "0",
        "HEARTH_DRIVERS__VIRTUAL__TRAVEL_TIME_S": "1",
        "HEARTH_LOG__LEVEL": "WARNING",
    }
    env.update(extra)
    return env


@asynccontextmanager
async def in_process_gateway(
    devices: int, *, synchronous: str = "FULL", extra: dict[str, str] | None = None
) -> AsyncIterator[Any]:
    """A real ``hearth.app.Gateway`` on this loop: temp data folder, virtual driver, the API left out.

    ``extra``: more settings (``HEARTH_...`` variables), e.g. another driver."""
    from hearth.app import Gateway
    from hearth.config import load_settings

    data_dir = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
    settings = load_settings(None, gateway_env(data_dir, devices=devices, synchronous=synchronous, **(extra or {})))
    gateway = Gateway(settings)
    try:
        await gateway.start()
        gc.freeze()  # as `hearth run` does after start (hearth/cli.py): what start made is out of full passes
        yield gateway
    finally:
        await gateway.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def machine_line() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    governor = "n/a"
    try:
        governor = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
    except OSError:
        pass
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), {cpu}, "
        f"{os.cpu_count()} CPUs, governor {governor}, {platform.system()} {platform.release()}"
    )


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    if magnitude >= 100_000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_table(rows: Sequence[Row]) -> str:
    header = ("scenario", "figure", "value", "unit", "target", "baseline", "ratio", "verdict")
    lines = []
    for r in rows:
        target = f"{r.op} {_num(r.target)}" if r.op and r.target is not None else "-"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        lines.append((r.scenario, r.figure, _num(r.value), r.unit, target, _num(r.baseline), ratio, r.verdict))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
    right = {2, 5, 6}

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [fmt(header), fmt(["-" * w for w in widths])]
    out.extend(fmt(line) for line in lines)
    return "\n".join(out)
