"""Command deadlines (hearth.core.deadlines) on a real event loop: asyncio.timeout's semantics, one timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from hearth.core.deadlines import Deadlines


async def _guarded(deadlines: Deadlines, work: float, log: list[str]) -> None:
    """What the executor does around driver.execute."""
    deadline = deadlines.arm()
    try:
        await asyncio.sleep(work)
        log.append("done")
    except asyncio.CancelledError:
        if not deadline.timed_out():
            log.append("cancelled")
            raise
        log.append("timed out")
    finally:
        deadlines.disarm(deadline)


async def test_a_slow_await_times_out_and_a_quick_one_does_not() -> None:
    deadlines = Deadlines(0.05)
    log: list[str] = []
    await asyncio.gather(_guarded(deadlines, 0.0, log), _guarded(deadlines, 1.0, log))
    assert sorted(log) == ["done", "timed out"]
    assert len(deadlines) == 0


async def test_the_task_is_not_left_cancelled_after_a_timeout() -> None:
    deadlines = Deadlines(0.02)
    log: list[str] = []

    async def then_more() -> None:
        await _guarded(deadlines, 1.0, log)
        await asyncio.sleep(0.01)  # would raise CancelledError if the deadline's cancel were still pending
        log.append("carried on")
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0

    await asyncio.create_task(then_more())
    assert log == ["timed out", "carried on"]


async def test_a_cancel_from_elsewhere_is_not_taken_for_a_timeout() -> None:
    deadlines = Deadlines(10.0)
    log: list[str] = []
    task = asyncio.create_task(_guarded(deadlines, 1.0, log))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["cancelled"]


async def test_a_cancel_from_elsewhere_as_the_deadline_expires_stays_a_cancel() -> None:
    deadlines = Deadlines(0.02)
    log: list[str] = []
    task = asyncio.create_task(_guarded(deadlines, 1.0, log))
    await asyncio.sleep(0.005)
    loop = asyncio.get_running_loop()
    loop.call_at(loop.time() + 0.025, task.cancel)  # just after the deadline
    time.sleep(0.05)  # noqa: ASYNC251 -- the loop held on purpose: both due when it next looks, the deadline first
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["cancelled"]


async def test_deadlines_come_due_in_order_on_one_timer() -> None:
    deadlines = Deadlines(0.05)
    log: list[str] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    ends: list[float] = []

    async def one(delay: float) -> None:
        await asyncio.sleep(delay)
        await _guarded(deadlines, 1.0, log)
        ends.append(loop.time() - started)

    await asyncio.gather(*(one(k * 0.01) for k in range(5)))
    assert log == ["timed out"] * 5
    # Each timed out about 50 ms after it was armed (10 ms apart), not all at the first one's deadline.
    assert ends == sorted(ends)
    assert ends[-1] - ends[0] > 0.03
    assert all(end >= 0.05 + k * 0.01 - 0.002 for k, end in enumerate(ends))
    assert len(deadlines) == 0


async def test_finished_deadlines_do_not_pile_up() -> None:
    deadlines = Deadlines(60.0)
    log: list[str] = []
    for _ in range(1000):
        await _guarded(deadlines, 0.0, log)
    assert len(deadlines) == 0
    assert log == ["done"] * 1000


async def test_an_idle_timer_fires_once_for_nothing_and_stops() -> None:
    deadlines = Deadlines(0.02)
    await _guarded(deadlines, 0.0, [])
    assert deadlines._timer is not None  # left in place: no timer per command
    await asyncio.sleep(0.05)
    assert deadlines._timer is None
    log: list[str] = []
    await _guarded(deadlines, 1.0, log)  # a new one sets a new timer
    assert log == ["timed out"]
