"""cancel_and_wait: a task ends, its own cancellation is swallowed, the caller's is not, its crash is raised.
cancel_all_and_wait: all are cancelled before any is waited for, and no crash stops the stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from hearth.core.tasks import cancel_all_and_wait, cancel_and_wait


async def test_cancels_and_waits_for_the_end() -> None:
    ended = asyncio.Event()

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)  # clean-up that itself awaits: cancel_and_wait must wait for it
            ended.set()

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()
    assert ended.is_set()


async def test_none_and_finished_tasks_are_fine() -> None:
    await cancel_and_wait(None)
    task = asyncio.create_task(asyncio.sleep(0))
    await task
    await cancel_and_wait(task)


async def test_a_crash_of_the_task_is_raised() -> None:
    async def worker() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="boom"):
        await cancel_and_wait(task)


@pytest.mark.parametrize(
    "stop",
    [cancel_and_wait, lambda task: cancel_all_and_wait([task])],
    ids=["cancel_and_wait", "cancel_all_and_wait"],
)
async def test_the_callers_own_cancellation_goes_on_up(
    stop: Callable[[asyncio.Task[None]], Coroutine[Any, Any, None]],
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        # Takes its time to end after being cancelled: the caller is cancelled meanwhile.
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await release.wait()
            raise

    inner = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(stop(inner))
    await asyncio.sleep(0)
    stopper.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert stopper.cancelled()
    await asyncio.sleep(0)
    assert inner.cancelled()


async def test_cancel_all_cancels_every_task_before_waiting_for_any() -> None:
    # Each task, once cancelled, waits for the other's cancellation: one after the other would never end.
    cancelled = [asyncio.Event(), asyncio.Event()]

    async def worker(mine: asyncio.Event, other: asyncio.Event) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            mine.set()
            await other.wait()
            raise

    tasks = {
        asyncio.create_task(worker(cancelled[0], cancelled[1])),
        asyncio.create_task(worker(cancelled[1], cancelled[0])),
    }
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_all_and_wait(tasks), 5)
    assert all(task.cancelled() for task in tasks)


async def test_cancel_all_goes_through_a_crash_none_and_finished_tasks() -> None:
    ended = asyncio.Event()

    async def crashes() -> None:
        raise RuntimeError("boom")

    async def sleeps() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)
            ended.set()

    crashed = asyncio.create_task(crashes())
    finished = asyncio.create_task(asyncio.sleep(0))
    sleeping = asyncio.create_task(sleeps())
    await finished
    await cancel_all_and_wait([crashed, None, finished, sleeping])
    assert isinstance(crashed.exception(), RuntimeError)
    assert finished.done() and not finished.cancelled()
    assert sleeping.cancelled() and ended.is_set()
    await cancel_all_and_wait([])
