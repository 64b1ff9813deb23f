"""The Z-Wave peer against zwave-js-server-python directly (no Hearth code): interview, set_value round trips, control
channel reports, dead nodes, sleeping node wake-up, zwave-server crash and restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from zwave_js_server.client import Client
from zwave_js_server.const import NodeStatus
from zwave_js_server.model.node import Node

from tests.peers.zwave import ZwavePeer

# One peer (one ~6 s start) for the whole module, so fixtures and tests share the module's event loop.
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

LISTENING_NODES = [2, 3, 4, 5, 6, 7, 9, 10, 11]
SLEEPING_NODE = 8
# node id -> command classes the interview must have found (besides Basic, Version, Manufacturer Specific, ZW+ Info)
EXPECTED_CCS = {
    2: {0x25},
    3: {0x26},
    4: {0x31, 0x80, 0x30, 0x71},
    5: {0x62},
    6: {0x60, 0x25},
    7: {0x25, 0x32},
    8: {0x84, 0x80, 0x30},
    9: {0x40, 0x43, 0x31},
    10: {0x26, 0x33},
    11: {0x6A},
}


async def _until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
    return result


@dataclass
class Connection:
    client: Client
    session: aiohttp.ClientSession
    listener: asyncio.Task[None]
    updates: list[tuple[int, int, int, str, Any]] = field(default_factory=list)  # node, cc, endpoint, property, value

    def node(self, node_id: int) -> Node:
        assert self.client.driver is not None
        return self.client.driver.controller.nodes[node_id]

    def updated(self, node_id: int, cc: int, prop: str, value: Any, endpoint: int = 0) -> bool:
        return any(u == (node_id, cc, endpoint, prop, value) for u in self.updates)

    async def close(self) -> None:
        await self.client.disconnect()
        self.listener.cancel()
        await asyncio.gather(self.listener, return_exceptions=True)
        await self.session.close()


async def _connect(peer: ZwavePeer, ready_nodes: list[int]) -> Connection:
    """zwave-js-server-python as Home Assistant uses it: connect, listen, wait for the driver and the nodes."""
    session = aiohttp.ClientSession()
    client = Client(peer.ws_url, session)
    await client.connect()
    ready = asyncio.Event()
    listener = asyncio.create_task(client.listen(ready))
    await asyncio.wait_for(ready.wait(), 15)
    conn = Connection(client, session, listener)
    assert client.driver is not None
    for node in client.driver.controller.nodes.values():

        def record(event: dict[str, Any], node_id: int = node.node_id) -> None:
            value = event["value"]
            conn.updates.append((node_id, value.command_class, value.endpoint or 0, value.property_, value.value))

        # A value seen for the first time (e.g. the first door-state notification) arrives as "value added".
        node.on("value updated", record)
        node.on("value added", record)
    await _until(lambda: all(conn.node(n).ready for n in ready_nodes), timeout=25)
    return conn


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def peer(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ZwavePeer]:
    started = time.monotonic()
    zwave = await ZwavePeer.start(tmp_path_factory.mktemp("zwave"))
    print(f"peer listening after {time.monotonic() - started:.1f} s")
    yield zwave
    await zwave.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def conn(peer: ZwavePeer) -> AsyncIterator[Connection]:
    started = time.monotonic()
    connection = await _connect(peer, LISTENING_NODES)
    print(f"listening nodes ready {time.monotonic() - started:.1f} s after the server listened")
    yield connection
    await connection.close()


async def test_nodes_interviewed_with_their_command_classes(peer: ZwavePeer, conn: Connection) -> None:
    # The sleeping node waits for its first wake-up before the interview can go on.
    assert not conn.node(SLEEPING_NODE).ready
    await peer.wake(SLEEPING_NODE)
    await _until(lambda: conn.node(SLEEPING_NODE).ready, timeout=15)
    assert sorted(conn.client.driver.controller.nodes) == [1, *sorted(EXPECTED_CCS)]  # type: ignore[union-attr]
    for node_id, expected in EXPECTED_CCS.items():
        node = conn.node(node_id)
        assert node.ready and node.interview_stage == "Complete", node_id
        ccs = {cc.id for cc in node.command_classes}
        assert expected | {0x86, 0x72, 0x5E} <= ccs, (node_id, sorted(ccs))
        assert node.status != NodeStatus.DEAD, node_id
    assert [ep.index for ep in conn.node(6).endpoints.values()] == [0, 1, 2]
    assert conn.node(4).get_command_class_values(0x31)  # air temperature value exists
    assert conn.node(SLEEPING_NODE).status == NodeStatus.AWAKE
    # zwave-js 15.29 does not send No More Information after this first interview (seen in every run), so the
    # mock node would stay awake: put it back to sleep by hand.
    await peer.sleep(SLEEPING_NODE)
    assert (await peer.received(SLEEPING_NODE))["asleep"]


async def test_binary_switch_round_trip(peer: ZwavePeer, conn: Connection) -> None:
    started = time.monotonic()
    await conn.node(2).async_set_value("2-37-0-targetValue", True)
    await _until(lambda: conn.updated(2, 0x25, "currentValue", True), timeout=5)
    print(f"binary switch round trip {time.monotonic() - started:.3f} s")
    got = await peer.received(2)
    assert got["state"]["BinarySwitch_currentValue"] is True
    assert any(r["cc"] == "BinarySwitchCCSet" and r["args"]["targetValue"] is True for r in got["received"])


async def test_dimmer_lock_and_endpoint_commands_reach_the_nodes(peer: ZwavePeer, conn: Connection) -> None:
    await conn.node(3).async_set_value("3-38-0-targetValue", 40)
    await conn.node(5).async_set_value("5-98-0-targetMode", 255)
    await conn.node(6).async_set_value("6-37-2-targetValue", True)
    await _until(lambda: conn.updated(6, 0x25, "currentValue", True, endpoint=2), timeout=5)
    assert (await peer.received(3))["state"]["MultilevelSwitch_currentValue"] == 40
    assert (await peer.received(5))["state"]["DoorLock_currentMode"] == 255
    relay = await peer.received(6)
    assert relay["state"]["BinarySwitch_currentValue_ep2"] is True
    assert "BinarySwitch_currentValue_ep1" not in relay["state"]  # endpoint 1 untouched
    assert [r["endpoint"] for r in relay["received"] if r["cc"] == "BinarySwitchCCSet"] == [2]


async def test_unsolicited_reports_become_value_updates(peer: ZwavePeer, conn: Connection) -> None:
    await peer.report(4, "multilevel_sensor", 23.5)
    await peer.report(4, "binary_sensor", True, sensor_type=10)
    await peer.report(4, "notification", type=6, event=22)  # access control: window/door open
    await peer.report(4, "battery", 42)
    await peer.report(7, "meter", 12.5, scale=2)  # 12.5 W
    await peer.report(2, "binary_switch", False)
    await peer.report(6, "binary_switch", True, endpoint=1)
    await _until(lambda: conn.updated(4, 0x31, "Air temperature", 23.5))
    await _until(lambda: conn.updated(4, 0x30, "Door/Window", True))
    await _until(lambda: conn.updated(4, 0x71, "Access Control", 22))  # property key "Door state"
    await _until(lambda: conn.updated(4, 0x80, "level", 42))
    await _until(lambda: any(u[:2] == (7, 0x32) and u[4] == 12.5 for u in conn.updates))
    await _until(lambda: conn.updated(2, 0x25, "currentValue", False))
    await _until(lambda: conn.updated(6, 0x25, "currentValue", True, endpoint=1))


async def test_dead_node_and_revival(peer: ZwavePeer, conn: Connection) -> None:
    lock = conn.node(5)
    await peer.set_dead(5)
    started = time.monotonic()
    assert await lock.async_ping() is False
    await _until(lambda: lock.status == NodeStatus.DEAD, timeout=10)
    print(f"node marked dead {time.monotonic() - started:.1f} s after the ping")
    # The rest of the network still works.
    await conn.node(2).async_set_value("2-37-0-targetValue", False)
    await _until(lambda: conn.updates[-1:] == [(2, 0x25, 0, "currentValue", False)], timeout=5)
    assert (await peer.received(2))["state"]["BinarySwitch_currentValue"] is False
    await peer.set_dead(5, dead=False)
    assert await lock.async_ping() is True
    await _until(lambda: lock.status == NodeStatus.ALIVE, timeout=10)


async def test_server_crash_and_restart(peer: ZwavePeer, conn: Connection, tmp_path: Path) -> None:
    await peer.kill_server()
    assert not peer.server_running
    await _until(lambda: conn.listener.done(), timeout=10)  # the client saw the connection drop
    started = time.monotonic()
    await peer.start_server()
    again = await _connect(peer, LISTENING_NODES + [SLEEPING_NODE])  # from the cache: the sleeper is known now
    try:
        print(f"restart to nodes ready {time.monotonic() - started:.1f} s")
        assert sorted(again.client.driver.controller.nodes) == [1, *sorted(EXPECTED_CCS)]  # type: ignore[union-attr]
        await again.node(2).async_set_value("2-37-0-targetValue", False)
        await _until(lambda: again.updated(2, 0x25, "currentValue", False), timeout=5)
        assert (await peer.received(2))["state"]["BinarySwitch_currentValue"] is False
    finally:
        await again.close()
