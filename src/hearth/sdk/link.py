"""A driver's link to its radio (a serial stick, a server, an adapter), kept up: connected at start, retried in
the background with a back-off while it is down, reconnected when it is lost, closed at stop.

The driver gives what differs: how to connect and disconnect, how it learns of a loss (a callable that returns
when the link is gone, or ``lost()`` from its library's callback), what it does when the link comes up or goes
down (its stack device's availability), the error a command gets while the link is down, and what the link says
in its log (``LinkLog``). The link gives the rest: one task that retries, the ``up`` flag and an event for it,
``require()`` for the commands, ``reconnect()`` after a change under the link, and ``stop()``.

What is said in the log is the driver's text; the values the texts take are the failure (``describe_error``:
its type and message, never a secret of ours: a connection's error names a port or a URL, not a key), the
attempt's number and the next wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, overload

from hearth.core.backoff import Backoff
from hearth.core.tasks import cancel_and_wait
from hearth.model.device_url import DeviceURL
from hearth.model.execution import FailureType
from hearth.sdk.describe import describe_error
from hearth.sdk.driver import CommandFailed

T = TypeVar("T")
_NOTHING: Any = object()


class LinkOwner(Protocol):
    """What a link needs of its driver's context (a ``DriverContext`` is one)."""

    @property
    def log(self) -> logging.Logger: ...

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str) -> Any: ...

    def set_available(self, url: DeviceURL, available: bool) -> None: ...


def reconnect_backoff(min_s: float, max_s: float) -> Backoff:
    """The back-off of a driver's ``reconnect_min_s``/``reconnect_max_s`` (a cap below the floor is the floor)."""
    return Backoff(min_s, max(min_s, max_s))


@dataclass(frozen=True, slots=True)
class LinkLog:
    """What a link says, and how often, while it is down.

    Each text is a ``%``-format with named fields: ``%(error)s`` (the failure, ``describe_error``),
    ``%(message)s`` (the failure's own message only), ``%(attempt)d`` (the number of the retry since the link
    went down), ``%(delay).1f`` (the wait before the next attempt, seconds), ``%(reason)s`` (why the link was
    lost), and the driver's own ``fields`` (its port, URL, adapter).

    A failed attempt is said if it is the first of its spell or every ``repeat_every``-th, and then only if
    ``repeat_after_s`` have passed since the last one said (a reminder by time: with jittered waits ten
    failures may take one second).
    """

    # A failed retry (at ``retry_level``): %(attempt)d, %(error)s, %(message)s, %(delay).1f.
    retry_failed: str
    # The link was lost (a warning): %(reason)s.
    lost: str
    # The first attempt, at start, failed (a warning). None: it is the first failed attempt, said with
    # ``retry_failed`` and counted with the retries (its own text and a count from the next retry otherwise).
    start_failed: str | None = None
    # Up again after retries (info): %(attempt)d. None: nothing said (the driver's connect says it is up).
    back: str | None = None
    # The common way: a warning at the first failure, then at every tenth.
    retry_level: int = logging.WARNING
    repeat_every: int = 10
    repeat_after_s: float = 0.0
    # The loss's own message counts as the first failure of its spell: the retries after it are quiet until
    # the ``repeat_every``-th.
    loss_is_first_failure: bool = False
    fields: Mapping[str, object] = field(default_factory=dict)


class SupervisedLink:
    """One link kept up across failures and losses (see the module's text).

    ``connect`` opens the link and raises if it cannot; ``disconnect`` releases whatever ``connect`` left (after
    a failed attempt too, after a loss and at stop), with nothing open it does nothing. ``watch``, if given,
    returns when an open link is gone; without it the driver calls ``lost()``. ``on_up`` runs each time the link
    has come up, ``on_down`` each time it is found down (the first attempt failed, or it was lost); neither at
    stop; the ``stack`` device, if given, is available while the link is up. ``owner`` (the driver's context)
    logs and starts the retry task, ``name`` (so that its crash is logged). While the link is down,
    ``require()`` raises ``CommandFailed(*unavailable)``.
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[None]],
        disconnect: Callable[[], Awaitable[None]],
        backoff: Backoff,
        *,
        owner: LinkOwner,
        says: LinkLog,
        unavailable: tuple[FailureType, str],
        stack: DeviceURL | None = None,
        watch: Callable[[], Awaitable[None]] | None = None,
        on_up: Callable[[], None] | None = None,
        on_down: Callable[[], None] | None = None,
        retry_at_once_after_loss: bool = False,
        name: str = "link",
    ) -> None:
        self._connect = connect
        self._disconnect = disconnect
        self._backoff = backoff
        self._owner = owner
        self._log = owner.log
        self._says = says
        self._unavailable = unavailable
        self._stack = stack
        self._watch = watch
        self._on_up = on_up
        self._on_down = on_down
        self._at_once_after_loss = retry_at_once_after_loss
        self._name = name
        self._up = False
        self._up_event = asyncio.Event()
        # Set by a loss (or a reconnect's request); cleared before each attempt.
        self._lost = asyncio.Event()
        self._lost_reason = "closed"
        self._restart: asyncio.Future[None] | None = None
        self._stopping = False
        self._task: asyncio.Task[Any] | None = None
        # The spell of down time: failed attempts counted for what is said, retries numbered, the next wait.
        self._failures = 0
        self._retries = 0
        self._delay: float | None = None
        self._said_at = -math.inf

    # ------------------------------------------------------------------ what the driver asks

    @property
    def up(self) -> bool:
        """The link is connected (commands may use it)."""
        return self._up

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def wait_up(self) -> None:
        """Returns once the link is up (at once if it is)."""
        await self._up_event.wait()

    @overload
    def require(self) -> None: ...

    @overload
    def require(self, thing: T | None) -> T: ...

    def require(self, thing: Any = _NOTHING) -> Any:
        """``CommandFailed(*unavailable)`` unless the link is up; ``thing`` (the driver's handle on the
        link: its application, its client), if given, must be there too, and is returned."""
        if not self._up or thing is None:
            raise self._down_error()
        return None if thing is _NOTHING else thing

    async def start(self, *, in_background: bool = False) -> None:
        """The first attempt, now (or, ``in_background``, in the retry task: a start that must not wait for a
        peer that may hang); if it fails, the link is down and retried in the background."""
        if not in_background:
            await self._first_attempt()
        self._task = self._owner.create_task(self._supervise(first_attempt=in_background), self._name)

    def lost(self, reason: str) -> None:
        """The driver's library says the link is gone: commands fail from now on, and it is connected again.

        Said while an attempt is connecting, it counts once that attempt is done. Ignored while stopping and
        while the link is already known down.
        """
        if self._stopping or self._lost.is_set():
            return
        self._lost_reason = reason
        self._lost.set()
        self._went_down(reason)

    async def reconnect(self) -> None:
        """Down and up again at once (the peer was changed under the link: a new network, a restored backup).

        Raises the driver's error if the link is down (its retries go on), or what the attempt raised: the link
        is then down and retried in the background, as after a loss.
        """
        if not self._up or self._restart is not None or self._stopping:
            raise self._down_error()
        restart = self._restart = asyncio.get_running_loop().create_future()
        self._lost.set()
        await restart

    async def stop(self) -> None:
        """The retry task ended, then the link closed."""
        self._stopping = True
        try:
            await cancel_and_wait(self._task)
        finally:
            self._task = None
            if self._restart is not None and not self._restart.done():
                self._restart.set_exception(self._down_error())
            self._restart = None
            self._mark_down()
            await self._release()

    # ------------------------------------------------------------------ the retry task

    async def _supervise(self, *, first_attempt: bool) -> None:
        if first_attempt:
            await self._first_attempt()
        at_once = False
        while True:
            if not self._up:
                await self._retry_until_up(at_once=at_once)
            await self._until_lost()
            restart = self._restart
            if restart is None:
                self._went_down(self._lost_reason)
                await self._release()
                at_once = self._at_once_after_loss
                continue
            # A reconnect asked for: down without a word (the stack stays as it is), and up again at once.
            self._mark_down()
            await self._release()
            failure = await self._attempt()
            self._restart = None
            at_once = False
            if failure is None:
                if not restart.done():  # done: its caller was cancelled
                    restart.set_result(None)
                continue
            self._lost_reason = describe_error(failure)
            self._say(logging.WARNING, self._says.lost, reason=self._lost_reason)
            self._down_spell()
            self._found_down()
            if not restart.done():
                restart.set_exception(failure)

    async def _first_attempt(self) -> None:
        failure = await self._attempt()
        if failure is None:
            return
        self._failures, self._retries = 0, 0
        self._delay = self._backoff.next_delay()
        if self._says.start_failed is not None:
            self._say(logging.WARNING, self._says.start_failed, **self._failure_fields(failure, self._delay))
        else:
            self._failed(failure, self._delay)
        self._found_down()

    async def _retry_until_up(self, *, at_once: bool) -> None:
        while True:
            if not at_once:
                delay, self._delay = self._delay, None
                await asyncio.sleep(delay if delay is not None else self._backoff.next_delay())
            at_once = False
            self._retries += 1
            failure = await self._attempt()
            if failure is None:
                if self._says.back is not None:
                    self._say(logging.INFO, self._says.back, attempt=self._retries)
                return
            self._delay = self._backoff.next_delay()
            self._failed(failure, self._delay)

    async def _attempt(self) -> Exception | None:
        """One connect; None if the link is up, else what it raised (and what it left released)."""
        self._lost.clear()
        try:
            await self._connect()
        except Exception as exc:
            await self._release()
            return exc
        self._up = True
        self._up_event.set()
        self._backoff.reset()
        if self._stack is not None:
            self._owner.set_available(self._stack, True)
        if self._on_up is not None:
            self._on_up()
        return None

    async def _until_lost(self) -> None:
        """Returns once the link is lost (``lost()``, ``watch`` returning) or a reconnect is asked for."""
        if self._watch is None:
            await self._lost.wait()
            return
        watching = asyncio.ensure_future(self._watch())
        watching.add_done_callback(self._watch_ended)
        try:
            await self._lost.wait()
        finally:
            with contextlib.suppress(Exception):  # how the watch ended is the loss's reason, said already
                await cancel_and_wait(watching)

    def _watch_ended(self, task: asyncio.Future[None]) -> None:
        if task.cancelled():
            return
        self.lost(describe_error(task.exception()))

    # ------------------------------------------------------------------ down, and saying so

    def _went_down(self, reason: str) -> None:
        """The link that was up is lost: said once, the driver told, a new spell of retries begun."""
        if not self._up:
            return
        self._mark_down()
        self._say(logging.WARNING, self._says.lost, reason=reason)
        self._down_spell()
        self._found_down()

    def _found_down(self) -> None:
        if self._stack is not None:
            self._owner.set_available(self._stack, False)
        if self._on_down is not None:
            self._on_down()

    def _down_error(self) -> CommandFailed:
        return CommandFailed(*self._unavailable)

    def _down_spell(self) -> None:
        self._failures = 1 if self._says.loss_is_first_failure else 0
        self._retries = 0
        self._delay = None

    def _mark_down(self) -> None:
        self._up = False
        self._up_event.clear()

    async def _release(self) -> None:
        try:
            await self._disconnect()
        except Exception as exc:  # the link is gone either way; what it left is the driver's to log
            self._log.debug("link not released cleanly: %s", describe_error(exc))

    def _failed(self, failure: Exception, delay: float) -> None:
        self._failures += 1
        says = self._says
        now = time.monotonic()
        if self._failures == 1 or (
            self._failures % says.repeat_every == 0 and now - self._said_at >= says.repeat_after_s
        ):
            self._said_at = now
            self._say(says.retry_level, says.retry_failed, **self._failure_fields(failure, delay))

    def _failure_fields(self, failure: Exception, delay: float) -> dict[str, object]:
        return {"error": describe_error(failure), "message": str(failure), "attempt": self._retries, "delay": delay}

    def _say(self, level: int, text: str, **values: object) -> None:
        self._log.log(level, text, {**self._says.fields, **values})
