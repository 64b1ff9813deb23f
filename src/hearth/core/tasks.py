"""Ending background tasks: the one way Hearth stops a task it started."""

from __future__ import annotations

import asyncio
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
