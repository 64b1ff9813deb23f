"""Deadlines of one duration for many awaits at once, on a single timer: the executor's command timeouts.

Why not ``asyncio.timeout`` per command: it schedules a timer and cancels it for every command (about 5 us on
the hot path), and the cancelled timers stay in the loop's heap until they come due (2 minutes for the default
command timeout) or the loop rebuilds it. Here every deadline has the same duration, so they come due in the
order they were armed: a deque is their schedule, and one timer, set for the oldest live deadline, serves all
of them. Arming is an append, disarming sets a flag and drops finished deadlines from the front; when nothing is
armed the timer is left to fire once for nothing (one wake-up per duration at most), not cancelled.

Semantics are ``asyncio.timeout``'s: at the deadline the task is cancelled; the CancelledError that reaches the
guarded block is a timeout only if nobody else asked to cancel the task meanwhile (``Task.cancelling``
counts the requests; ``uncancel`` withdraws ours), so a user's cancel is never mistaken for a timeout.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Deadline:
    """One armed deadline: ``timed_out()`` in the block's ``except CancelledError``, ``disarm()`` in its finally."""

    __slots__ = ("at", "task", "expired", "done", "_cancelling", "_withdrawn")

    def __init__(self, at: float, task: asyncio.Task[object]) -> None:
        self.at = at
        self.task = task
        self.expired = False
        self.done = False
        self._cancelling = task.cancelling()
        self._withdrawn = False

    def timed_out(self) -> bool:
        """True if the CancelledError being handled is this deadline's and nobody else's (then it is withdrawn)."""
        if not self.expired or self._withdrawn:
            return False
        self._withdrawn = True
        return self.task.uncancel() <= self._cancelling

    def _withdraw(self) -> None:
        if self.expired and not self._withdrawn:
            # Expired as the block ended without seeing the cancel (it swallowed it): take our request back.
            self._withdrawn = True
            self.task.uncancel()


class Deadlines:
    """Deadlines ``seconds`` after they are armed; one timer for all of them."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._armed: deque[Deadline] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        """Deadlines armed and not yet dropped (finished ones behind a live one wait for it to go)."""
        return len(self._armed)

    def arm(self) -> Deadline:
        """A deadline for the running task, ``seconds`` from now."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        loop = task.get_loop()
        deadline = Deadline(loop.time() + self.seconds, task)
        self._armed.append(deadline)
        if self._timer is None:
            self._timer = loop.call_at(deadline.at, self._fire)
        return deadline

    def disarm(self, deadline: Deadline) -> None:
        deadline.done = True
        deadline._withdraw()
        armed = self._armed
        while armed and armed[0].done:
            armed.popleft()
        # The timer stays when nothing is armed: it fires once, finds nothing and is not set again. Cancelling
        # it here would cost a timer per command again whenever commands finish one at a time.

    def _fire(self) -> None:
        self._timer = None
        armed = self._armed
        if not armed:
            return
        loop = armed[0].task.get_loop()
        now = loop.time()
        while armed:
            head = armed[0]
            if head.done:
                armed.popleft()
                continue
            if head.at > now:
                break
            armed.popleft()
            head.expired = True
            head.task.cancel()
        if armed:
            self._timer = loop.call_at(armed[0].at, self._fire)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
