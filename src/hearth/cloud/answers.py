"""Every cloud answer is hostile until checked: the one place the HTTPS connectors call their cloud and keep going.

A call that times out, breaks off mid-body, answers 5xx or 429, is not JSON, or has a shape the seed does not
document raises ``CloudFailure`` with a short ``reason``. ``SyncLoop`` runs a connector's cycle forever: a failure
is counted (``/metrics``: ``hearth_cloud_failures{cloud,reason}``), logged once per reason until the cloud answers
well again, and retried after a jittered exponential back-off (``hearth.core.backoff``); nothing a cloud answers
ends the loop or reaches local function.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hearth.core.backoff import Backoff

log = logging.getLogger(__name__)


class CloudFailure(Exception):
    """The cloud's answer cannot be used; ``reason`` is short and has no secret in it (it is a metric label)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def check_status(answer: httpx.Response, *, ok: tuple[int, ...] = ()) -> None:
    """A 2xx (or a status in ``ok``) passes; anything else is a failure named by its class."""
    code = answer.status_code
    if 200 <= code < 300 or code in ok:
        return
    if code == 429:
        raise CloudFailure("http 429", "rate limited")
    if code >= 500:
        raise CloudFailure("http 5xx", f"HTTP {code} from {answer.request.url.path}")
    raise CloudFailure(f"http {code}", f"from {answer.request.url.path}")


def json_of(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError as exc:  # half a body, HTML from a proxy, an empty 200 ...
        raise CloudFailure("not json", f"{answer.request.url.path}: {exc}") from None


def expect_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise CloudFailure("unexpected shape", f"{what}: a JSON array expected, got {type(value).__name__}")
    return value


def expect_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CloudFailure("unexpected shape", f"{what}: a JSON object expected, got {type(value).__name__}")
    return value


def describe(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) of anything a cycle raised; the detail never holds a URL's query or headers."""
    if isinstance(exc, CloudFailure):
        return exc.reason, exc.detail
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", type(exc).__name__
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "broken answer", f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"http {exc.response.status_code}", exc.request.url.path
    if isinstance(exc, httpx.HTTPError | OSError):
        return "unreachable", f"{type(exc).__name__}: {exc}"
    return "bug", f"{type(exc).__name__}: {exc}"


class SyncLoop:
    """Run ``cycle`` every ``interval_s`` while it works, sooner after a ``nudge()``; after a failure, again after
    a jittered back-off (never the full interval, never a tight loop)."""

    def __init__(self, cloud: str, cycle: Callable[[], Awaitable[None]], interval_s: float, backoff: Backoff) -> None:
        self.cloud = cloud
        self.cycle = cycle
        self.interval_s = interval_s
        self.backoff = backoff
        self.failures: dict[str, int] = {}  # reason -> count, since start
        self.cycles_ok = 0
        self._failing: set[str] = set()  # reasons logged since the last good cycle
        self._nudged = asyncio.Event()

    def nudge(self) -> None:
        """Sync now (a wake-up from the cloud)."""
        self._nudged.set()

    def failed(self, exc: BaseException) -> float:
        """Count and log (once per reason) a failed cycle; the back-off delay before the next one."""
        reason, detail = describe(exc)
        self.failures[reason] = self.failures.get(reason, 0) + 1
        delay = self.backoff.next_delay()
        if reason not in self._failing:
            self._failing.add(reason)
            if reason == "bug":
                log.error("%s: sync cycle failed (%s); retrying with back-off", self.cloud, detail, exc_info=exc)
            else:
                log.warning(
                    "%s: sync failed (%s: %s); retrying with back-off (first in %.1f s), local functions go on",
                    self.cloud,
                    reason,
                    detail,
                    delay,
                )
        return delay

    def succeeded(self) -> None:
        self.cycles_ok += 1
        self.backoff.reset()
        if self._failing:
            log.info("%s: the cloud answers again", self.cloud)
            self._failing.clear()

    async def run(self, *, first_wait: bool = False) -> None:
        wait = self.interval_s if first_wait else 0.0
        while True:
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._nudged.wait()
                except TimeoutError:
                    pass
            self._nudged.clear()
            try:
                await self.cycle()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever the cloud answered: counted, logged once, retried
                wait = self.failed(exc)
                continue
            self.succeeded()
            wait = self.interval_s
