"""Ending background tasks: the one way Hearth stops a task it started."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and return once it has ended.

    The ``CancelledError`` the task ends with is the expected end and is swallowed; any other exception it ends
    with is raised here, as awaiting it would. If the caller is itself being cancelled while it waits, that
    cancellation is not swallowed: it goes on up, so that a stop inside a stop still stops.
    """
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def cancel_all_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel every task of ``tasks`` first, then return once all have ended: they end in parallel, not one
    after the other.

    Unlike ``cancel_and_wait``, what each task ends with is not raised, a crash included: a stop of many goes
    through to the last even if one of them crashed (a task's crash is its own to report, in the task or in a
    done callback). If the caller is itself being cancelled while it waits, that cancellation goes on up.
    """
    ending = [task for task in tasks if task is not None]  # a list: cancelling may shrink a set of tasks
    for task in ending:
        task.cancel()
    await asyncio.gather(*ending, return_exceptions=True)
