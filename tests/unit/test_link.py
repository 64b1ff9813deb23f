"""SupervisedLink on real asyncio: a peer that fails a given number of times, a fast back-off, real logging."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import pytest

from hearth.sdk import Backoff, CommandFailed, DeviceURL, FailureType, LinkLog, SupervisedLink

LOG = logging.getLogger("test.link")


class Peer:
    """What the link connects to: refuses the first ``failures`` connects, then takes them."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.connects = 0
        self.disconnects = 0
        self.open = False
        self.gone = asyncio.Event()
        # While set, a connect waits for it to be set again (a peer that hangs).
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def connect(self) -> None:
        self.connects += 1
        self.entered.set()
        await asyncio.sleep(0)
        if self.hold is not None:
            await self.hold.wait()
        if self.connects <= self.failures:
            raise ConnectionRefusedError(f"refused ({self.connects})")
        self.open = True
        self.gone.clear()

    async def disconnect(self) -> None:
        self.disconnects += 1
        self.open = False

    async def watch(self) -> None:
        await self.gone.wait()


STACK = DeviceURL("test", "0000-0000-0000", "stack")


class Owner:
    """What a driver's context gives a link: its log, its tasks, and the availability it was told."""

    log = LOG

    def __init__(self) -> None:
        self.available: dict[str, bool] = {}

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        return asyncio.create_task(coro, name=name)

    def set_available(self, url: DeviceURL, available: bool) -> None:
        self.available[str(url)] = available


SAYS = LinkLog(
    start_failed="peer %(where)s not usable (%(error)s); retrying in the background",
    retry_failed="peer still unreachable (attempt %(attempt)d: %(error)s); next try in %(delay).1f s",
    back="peer back after %(attempt)d attempt(s)",
    lost="peer lost (%(reason)s)",
    retry_level=logging.INFO,
    repeat_every=1,
    fields={"where": "at 100%"},  # a field with a per-cent sign is a value, never part of the format
)


class Health:
    def __init__(self) -> None:
        self.ups = 0
        self.downs = 0

    def up(self) -> None:
        self.ups += 1

    def down(self) -> None:
        self.downs += 1


UNAVAILABLE = (FailureType.SERIAL_IO_ERROR, "the test link is not connected")


def make_link(
    peer: Peer,
    health: Health,
    says: LinkLog = SAYS,
    backoff: Backoff | None = None,
    owner: Owner | None = None,
    **kwargs: Any,
) -> SupervisedLink:
    return SupervisedLink(
        peer.connect,
        peer.disconnect,
        backoff or Backoff(0.01, 0.02),
        owner=owner or Owner(),
        says=says,
        unavailable=UNAVAILABLE,
        on_up=health.up,
        on_down=health.down,
        **kwargs,
    )


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOG.name]


async def test_a_link_up_at_start_is_required_and_stopped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOG.name)
    peer, health = Peer(), Health()
    link = make_link(peer, health)
    await link.start()
    assert link.up and peer.open and peer.connects == 1
    assert health.ups == 1 and health.downs == 0
    await asyncio.wait_for(link.wait_up(), 1)
    link.require()
    assert link.require("app") == "app"
    with pytest.raises(CommandFailed):
        link.require(None)  # up, but the driver's handle is not there
    await link.stop()
    assert not link.up and not peer.open and peer.disconnects == 1
    assert messages(caplog) == []


async def test_down_at_start_then_up_after_retries(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOG.name)
    peer, health, owner = Peer(failures=3), Health(), Owner()
    link = make_link(peer, health, owner=owner, stack=STACK)
    await link.start()
    assert not link.up and peer.connects == 1
    with pytest.raises(CommandFailed) as failed:
        link.require()
    assert failed.value.failure is FailureType.SERIAL_IO_ERROR
    assert failed.value.message == "the test link is not connected"
    assert health.downs == 1 and owner.available == {str(STACK): False}
    await asyncio.wait_for(link.wait_up(), 5)
    assert link.up and peer.connects == 4 and health.ups == 1 and health.downs == 1
    assert owner.available == {str(STACK): True}
    said = messages(caplog)
    assert said[0] == "peer at 100% not usable (ConnectionRefusedError: refused (1)); retrying in the background"
    assert said[1].startswith("peer still unreachable (attempt 1: ConnectionRefusedError: refused (2)); next try in ")
    assert said[2].startswith("peer still unreachable (attempt 2: ConnectionRefusedError: refused (3))")
    assert said[3:] == ["peer back after 3 attempt(s)"]
    # Each failed attempt released what it had left.
    assert peer.disconnects == 3
    await link.stop()


async def test_stop_during_retries_ends_the_task() -> None:
    peer, health = Peer(failures=10**9), Health()
    link = make_link(peer, health)
    await link.start()
    while peer.connects < 3:
        await asyncio.sleep(0.005)
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "link"]
    await link.stop()
    assert task.done()
    tried = peer.connects
    await asyncio.sleep(0.1)  # a live retry task would have tried several times by now
    assert peer.connects == tried
    assert not link.up and health.ups == 0


async def test_start_in_background_does_not_wait_for_the_peer() -> None:
    peer, health = Peer(), Health()
    link = make_link(peer, health)
    await link.start(in_background=True)
    assert peer.connects == 0 and not link.up
    await asyncio.wait_for(link.wait_up(), 1)
    assert peer.connects == 1
    await link.stop()


async def test_a_loss_fails_at_once_and_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOG.name)
    peer, health, owner = Peer(), Health(), Owner()
    link = make_link(peer, health, owner=owner, stack=STACK)
    await link.start()
    peer.failures = 3  # the next two connects (the 2nd and 3rd in all) fail
    link.lost("closed")
    assert not link.up and health.downs == 1 and owner.available == {str(STACK): False}
    with pytest.raises(CommandFailed):
        link.require()
    link.lost("again")  # already known: nothing more
    await asyncio.wait_for(link.wait_up(), 5)
    assert peer.connects == 4 and health.ups == 2 and health.downs == 1
    said = messages(caplog)
    assert said[0] == "peer lost (closed)"
    assert said[1].startswith("peer still unreachable (attempt 1: ")
    assert said[-1] == "peer back after 3 attempt(s)"
    await link.stop()


async def test_a_loss_while_connecting_counts_once_connected() -> None:
    peer, health = Peer(), Health()
    link: SupervisedLink

    async def connect_and_lose() -> None:
        await peer.connect()
        if peer.connects == 1:
            link.lost("lost while the driver was still setting up")

    link = SupervisedLink(
        connect_and_lose,
        peer.disconnect,
        Backoff(0.01, 0.02),
        owner=Owner(),
        says=SAYS,
        unavailable=UNAVAILABLE,
        on_down=health.down,
    )
    await link.start()
    while peer.connects < 2:
        await asyncio.sleep(0.005)
    await asyncio.wait_for(link.wait_up(), 1)
    assert health.downs == 1 and peer.disconnects == 1
    await link.stop()


async def test_a_watched_link_is_retried_at_once_after_a_loss() -> None:
    peer, health = Peer(), Health()
    # Waits of 5 s or more: only an attempt with no wait comes back within the test's second.
    link = make_link(peer, health, backoff=Backoff(10.0, 20.0), watch=peer.watch, retry_at_once_after_loss=True)
    await link.start()
    assert link.up
    peer.gone.set()
    while link.up:
        await asyncio.sleep(0)
    assert health.downs == 1
    await asyncio.wait_for(link.wait_up(), 1)
    assert peer.connects == 2 and peer.disconnects == 1
    await link.stop()


def quiet_says(**kwargs: Any) -> LinkLog:
    return LinkLog(retry_failed="not usable (%(message)s); retrying in %(delay).1f s", lost="gone", **kwargs)


async def test_failures_are_said_the_first_time_and_every_tenth(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOG.name)
    peer, health = Peer(failures=21), Health()
    link = make_link(peer, health, says=quiet_says())  # the defaults: a warning at the 1st and every 10th
    await link.start()
    await asyncio.wait_for(link.wait_up(), 5)
    said = messages(caplog)
    # Without a start text, the start's failure is the first of 21, counted with the retries.
    assert [text.split(";")[0] for text in said] == [
        "not usable (refused (1))",
        "not usable (refused (10))",
        "not usable (refused (20))",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == LOG.name)
    await link.stop()


async def test_a_loss_said_once_keeps_the_retries_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOG.name)
    peer, health = Peer(), Health()
    says = quiet_says(repeat_after_s=60.0, loss_is_first_failure=True)
    link = make_link(peer, health, says=says, watch=peer.watch, retry_at_once_after_loss=True)
    await link.start()
    peer.failures = 15
    peer.gone.set()
    while link.up:
        await asyncio.sleep(0)
    await asyncio.wait_for(link.wait_up(), 5)
    # The loss is failure 1; the tenth failure is said (nothing was said about failing in the last 60 s).
    assert [text.split(";")[0] for text in messages(caplog)] == ["gone", "not usable (refused (10))"]
    await link.stop()


async def test_reconnect_takes_the_link_down_and_up_at_once() -> None:
    peer, health = Peer(), Health()
    link = make_link(peer, health)
    await link.start()
    await link.reconnect()
    assert link.up and peer.connects == 2 and peer.disconnects == 1
    assert health.downs == 0  # a restart asked for is not a loss
    peer.failures = 3
    with pytest.raises(ConnectionRefusedError):
        await link.reconnect()
    assert not link.up and health.downs == 1
    with pytest.raises(CommandFailed):
        await link.reconnect()  # down: nothing to restart, the retries go on
    await asyncio.wait_for(link.wait_up(), 5)
    assert peer.connects == 4
    await link.stop()


async def test_stop_ends_a_pending_reconnect() -> None:
    peer, health = Peer(), Health()
    link = make_link(peer, health)
    await link.start()
    peer.entered.clear()
    peer.hold = asyncio.Event()  # the reconnect's connect hangs
    restarting = asyncio.create_task(link.reconnect())
    await asyncio.wait_for(peer.entered.wait(), 1)
    await link.stop()
    with pytest.raises(CommandFailed):
        await asyncio.wait_for(restarting, 1)
