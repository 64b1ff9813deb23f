"""Telling systemd how Hearth is doing (sd_notify), without a dependency.

Under ``Type=notify`` systemd passes a datagram socket in ``$NOTIFY_SOCKET``; Hearth sends ``READY=1`` once it
serves, ``STATUS=...`` lines for ``systemctl status``, and ``STOPPING=1`` when it begins a clean stop. With
``WatchdogSec=`` systemd also sets ``$WATCHDOG_USEC`` and restarts the process when ``WATCHDOG=1`` stops
arriving for that long. The pings are sent by a task of the event loop itself, so a loop that is stuck (a
blocking call, a busy loop) stops them and gets restarted; a store writer that makes no progress while rows
wait stops them too. Outside systemd (no ``$NOTIFY_SOCKET``) everything here does nothing.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Protocol

log = logging.getLogger(__name__)

# What systemd sets; unset once read, so that child processes (a managed zwave-server) do not inherit them.
_ENV_KEYS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def socket_address(value: str) -> str | None:
    """The ``AF_UNIX`` address of ``$NOTIFY_SOCKET``: a path, or ``@name`` for the abstract namespace.

    Anything else (an empty or relative value, or a kind of socket we do not speak) gives None: Hearth then
    runs without notifications rather than failing.
    """
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    return None


def watchdog_timeout(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds systemd waits between pings, or None when the watchdog is off or meant for another process."""
    owner = environ.get("WATCHDOG_PID")
    if owner and owner.strip() != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


class Notifier:
    """Sends sd_notify messages; every method is a no-op when systemd did not ask for them."""

    def __init__(self, address: str | None, watchdog_s: float | None = None) -> None:
        self.address = address
        self.watchdog_s = watchdog_s if address is not None else None
        self._socket: socket.socket | None = None
        self._warned = False
        self._watchdog: asyncio.Task[None] | None = None
        if address is not None:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # A full queue on systemd's side drops a message rather than blocking the event loop.
            self._socket.setblocking(False)

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        address = socket_address(env.get("NOTIFY_SOCKET", ""))
        timeout = watchdog_timeout(env, os.getpid())
        for key in _ENV_KEYS:
            env.pop(key, None)
        return cls(address, timeout)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *fields: str) -> bool:
        """Send one message of ``KEY=value`` fields; True when it was sent."""
        if self._socket is None or self.address is None:
            return False
        try:
            self._socket.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError as exc:
            # systemd gone or busy: not a reason to stop the gateway. Said once, not at every ping.
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd at %s: %s", self.address.replace("\0", "@"), exc)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([_status(status)] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(_status(text))

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([_status(status)] if status else []))

    def start_watchdog(self, healthy: Callable[[], bool] | None = None) -> asyncio.Task[None] | None:
        """Ping ``WATCHDOG=1`` every half timeout from this event loop while ``healthy()`` says yes.

        Returns the task (cancel it when done), or None when systemd set no watchdog.
        """
        if self.watchdog_s is None or self._socket is None:
            return None
        # A process killed by the watchdog (SIGABRT) leaves every thread's stack in the journal: where it hung.
        if not faulthandler.is_enabled():
            faulthandler.enable()
        # Kept here: the loop holds its tasks weakly, and a collected task would stop the pings.
        self._watchdog = asyncio.get_running_loop().create_task(self._feed(healthy), name="systemd-watchdog")
        return self._watchdog

    async def _feed(self, healthy: Callable[[], bool] | None) -> None:
        assert self.watchdog_s is not None
        interval = self.watchdog_s / 2
        starved = False
        while True:
            if healthy is None or healthy():
                if starved:
                    log.warning("healthy again: feeding the systemd watchdog")
                    starved = False
                self.notify("WATCHDOG=1")
            elif not starved:
                starved = True
                log.error(
                    "unhealthy: no longer feeding the systemd watchdog, which will restart Hearth "
                    "within %.0f s unless it recovers",
                    self.watchdog_s,
                )
            await asyncio.sleep(interval)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _status(text: str) -> str:
    # One line: a newline would start a new field of the message.
    return "STATUS=" + " ".join(text.split())


class _Writer(Protocol):
    """What :class:`WriterProgress` reads of the store's BatchWriter."""

    @property
    def backlog(self) -> int: ...

    batches_written: int
    failures: int
    window_s: float


class WriterProgress:
    """Healthy unless rows wait to be written and the writer finished no attempt for ``stall_s``.

    A failed attempt counts as progress: a full disk is reported and retried by the writer, and a restart
    would not free any space. What this catches is a writer that hangs (a stuck disk, a wedged database
    thread), which would otherwise lose every state change from then on without a word. Rows count as waiting
    once the writer has not taken them yet: a hang is seen when the next state reports arrive behind it.
    """

    def __init__(self, writer: _Writer, stall_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._writer = writer
        # Never shorter than a few windows: a writer with a long window legitimately waits that long.
        self.stall_s = max(stall_s, 3 * writer.window_s)
        self._clock = clock
        self._attempts = self._count()
        self._since = clock()
        self.stalled = False

    def _count(self) -> int:
        return self._writer.batches_written + self._writer.failures

    def __call__(self) -> bool:
        attempts, now = self._count(), self._clock()
        if attempts != self._attempts or self._writer.backlog == 0:
            self._attempts, self._since = attempts, now
            self.stalled = False
            return True
        if now - self._since < self.stall_s:
            return True
        if not self.stalled:
            self.stalled = True
            log.error(
                "the store writer has written nothing for %.0f s while %d rows wait",
                now - self._since,
                self._writer.backlog,
            )
        return False
