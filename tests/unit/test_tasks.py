"""cancel_and_wait: a task ends, its own cancellation is swallowed, the caller's is not, its crash is raised."""

from __future__ import annotations

import asyncio

import pytest

from hearth.core.tasks import cancel_and_wait


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


async def test_the_callers_own_cancellation_goes_on_up() -> None:
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
    stopper = asyncio.create_task(cancel_and_wait(inner))
    await asyncio.sleep(0)
    stopper.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert stopper.cancelled()
