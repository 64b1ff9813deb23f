"""Somfy RTS in a real gateway, through a CUL (culfw) or an RFXtrx433E emulated at the far end of a socat pty pair.

The emulators (tests/peers/rts) record every command, build the frame that goes on air and run a motor model
that, like a real motor, accepts only rolling codes above the last one it saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import wait_for
from tests.peers.rts import CulEmulator, RfxtrxEmulator
from tests.peers.rts import rts_frame as rf
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytest.importorskip("serial_asyncio_fast", reason="the rts extra is not installed")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def rts_env(transmitter: str, port: str) -> dict[str, str]:
    return {
        f"HEARTH_DRIVERS__RTS__{k}": v
        for k, v in {
            "ENABLED": "true",
            "TRANSMITTER": transmitter,
            "PORT": port,
            "REPEATS": "2",
            "GAP_S": "0.01",
            "TRAVEL_DOWN_S": "2",
            "TRAVEL_UP_S": "2",
            "MY_CLOSURE": "30",
            "POSITION_REPORT_S": "0.2",
            "RECONNECT_MIN_S": "0.3",
            "RECONNECT_MAX_S": "1",
            "ANSWER_TIMEOUT_S": "2",
        }.items()
    }


class Box(GatewayClient):
    def __init__(self, proc: HearthProcess) -> None:
        super().__init__(proc, "rts")

    async def create(self, device_type: str = "1", label: str = "Blind") -> str:
        """The End-User API's RTS flow: a free channel, then the device on it. Returns its deviceURL."""
        gw = self.proc.gateway_id
        channel = (await self.api.get(f"/config/{gw}/rts/channel")).json()["rtsChannelId"]
        before = set(await self.devices())
        response = await self.api.post(f"/config/{gw}/devices/{channel}/rts/{device_type}/{quote(label)}")
        assert response.status_code == 201, response.text
        created = [u for u in await self.devices() if u not in before]
        assert len(created) == 1
        return created[0]

    async def address(self, url: str) -> int:
        attrs = (await self.api.get(f"/setup/devices/{quote(url, safe='')}/attributes")).json()
        return int(next(a["value"] for a in attrs if a["name"] == "rts:RemoteAddress"), 16)


@pytest.fixture
async def cul(tmp_path: Path) -> AsyncIterator[CulEmulator]:
    (tmp_path / "cul").mkdir()
    emu = await CulEmulator.start(tmp_path / "cul", time_scale=0.1)
    yield emu
    await emu.stop()


@pytest.fixture
async def box(tmp_path: Path, cul: CulEmulator) -> AsyncIterator[Box]:
    client = Box(HearthProcess(tmp_path / "data", env=rts_env("cul", cul.port_path)))
    await client.open()
    await wait_for(lambda: transmitter_ready(client), timeout=10)
    yield client
    await client.close()
    client.proc.kill()


def transmitter_ready(box: Box) -> bool:
    return any("RTS transmitter" in line and "ready" in line for line in box.proc.output)


def frames_of(emu: CulEmulator, address: int) -> list[Any]:
    return [f for f in emu.frames if f.address == address]


# ----------------------------------------------------------------------------- CUL


async def test_create_command_and_assumed_states(box: Box, cul: CulEmulator) -> None:
    url = await box.create("1", "Kitchen blind")
    address = await box.address(url)
    attrs = {
        a["name"]: a["value"] for a in (await box.api.get(f"/setup/devices/{quote(url, safe='')}/attributes")).json()
    }
    assert attrs["rts:StatesAssumed"] is True
    outcome = await box.run(url, "open")
    assert outcome["newState"] == "COMPLETED", outcome
    sent = frames_of(cul, address)
    assert [f.command for f in sent] == [rf.UP] and sent[0].decoded.address == address
    assert cul.motor(address).accepted and not cul.motor(address).rejected
    # Assumed: moving up from closed (100), then open, with when it was last commanded.
    assert await box.state(url, "rts:LastCommandTimeState") > time.time() * 1000 - 10_000
    assert await wait_for(lambda: _is(box, url, "core:ClosureState", 0), timeout=5)
    assert await box.state(url, "core:OpenClosedState") == "open"
    assert await box.state(url, "core:MovingState") is False

    # setClosure by travel time: Down, then My when it should be there (2 s for the whole way).
    outcome = await box.run(url, "setClosure", 50)
    assert outcome["newState"] == "COMPLETED"
    await wait_for(lambda: len(frames_of(cul, address)) == 3, timeout=5)
    down, my = frames_of(cul, address)[1:]
    assert (down.command, my.command) == (rf.DOWN, rf.MY)
    assert 0.7 < my.started - down.started < 1.6  # half of the 2 s travel, give or take the queue
    assert await wait_for(lambda: _is(box, url, "core:MovingState", False), timeout=5)
    assert 45 <= await box.state(url, "core:ClosureState") <= 55
    # A stop while still sends nothing (My would move it to its favourite position); my does move it.
    assert (await box.run(url, "stop"))["newState"] == "COMPLETED"
    assert len(frames_of(cul, address)) == 3
    assert (await box.run(url, "my"))["newState"] == "COMPLETED"
    assert frames_of(cul, address)[-1].command == rf.MY
    assert await wait_for(lambda: _is(box, url, "core:ClosureState", 30), timeout=5)
    # Assumed open already: an "open" still goes on air (the estimate may be wrong, the frame costs nothing).
    assert (await box.run(url, "open"))["newState"] == "COMPLETED"
    assert await wait_for(lambda: _is(box, url, "core:ClosureState", 0), timeout=5)
    assert (await box.run(url, "open"))["newState"] == "COMPLETED"
    assert [f.command for f in frames_of(cul, address)][-2:] == [rf.UP, rf.UP]
    # Rolling codes strictly increase on air; the motor took every frame.
    codes = [f.rolling_code for f in frames_of(cul, address)]
    assert codes == sorted(set(codes)) and not cul.motor(address).rejected


async def _is(box: Box, url: str, state: str, value: Any) -> bool:
    return await box.state(url, state) == value


async def test_pairing_sends_prog_from_our_address(box: Box, cul: CulEmulator) -> None:
    url = await box.create("2", "Venetian")
    address = await box.address(url)
    assert (await box.run(url, "pair"))["newState"] == "COMPLETED"
    assert [f.command for f in frames_of(cul, address)] == [rf.PROG]
    assert (await box.run(url, "setOrientation", 60))["newState"] == "COMPLETED"
    assert [f.command for f in frames_of(cul, address)][1:] == [rf.DOWN, rf.MY]
    assert await box.state(url, "core:SlateOrientationState") == 60


async def test_a_burst_of_twenty_goes_out_in_order_one_at_a_time(box: Box, cul: CulEmulator) -> None:
    urls = [await box.create("1", f"Shutter {i}") for i in range(20)]
    addresses = [await box.address(u) for u in urls]
    response = await box.api.post(
        "/exec/apply",
        json={"label": "all down", "actions": [{"deviceURL": u, "commands": [{"name": "close"}]} for u in urls]},
    )
    assert (await box.outcome(response.json()["execId"]))["newState"] == "COMPLETED"
    sent = [f for f in cul.frames if f.address in addresses]
    assert [f.address for f in sent] == addresses, "in the order of the action group, none lost"
    for before, after in zip(sent, sent[1:], strict=False):
        assert after.started >= before.ended, "one frame at a time"


async def test_cancelling_drops_frames_not_yet_sent(box: Box, cul: CulEmulator) -> None:
    urls = [await box.create("1", f"Shutter {i}") for i in range(10)]
    addresses = {await box.address(u) for u in urls}
    cul.time_scale = 2.0  # slow air: the queue fills up
    response = await box.api.post(
        "/exec/apply",
        json={"label": "all down", "actions": [{"deviceURL": u, "commands": [{"name": "close"}]} for u in urls]},
    )
    exec_id = response.json()["execId"]
    await wait_for(lambda: any(f.address in addresses for f in cul.frames), timeout=10)
    assert (await box.api.delete(f"/exec/current/setup/{exec_id}")).status_code in (200, 204)
    outcome = await box.outcome(exec_id)
    assert outcome["newState"] == "FAILED"
    await asyncio.sleep(2.5)
    sent = [f for f in cul.frames if f.address in addresses]
    assert 1 <= len(sent) <= 2, f"{len(sent)} frames went out after the cancel"


async def test_sigkill_between_commit_and_send_never_reuses_a_code(tmp_path: Path, box: Box, cul: CulEmulator) -> None:
    url = await box.create("1", "Bedroom")
    address = await box.address(url)
    assert (await box.run(url, "close"))["newState"] == "COMPLETED"
    first = frames_of(cul, address)[-1].rolling_code
    # The next frame takes its time on air: the gateway has committed its code and waits for culfw's answer.
    cul.time_scale = 10.0
    in_flight_exec = await box.apply(url, "open")
    await wait_for(lambda: len(frames_of(cul, address)) == 2, timeout=10)
    box.proc.kill()
    in_flight = frames_of(cul, address)[-1].rolling_code
    cul.time_scale = 0.1
    await cul.wait_idle(timeout=30)
    # Power back: the code on air goes on from the one committed before the kill.
    await box.api.aclose()
    await box.open()
    await wait_for(lambda: transmitter_ready(box), timeout=10)
    assert (await box.run(url, "open"))["newState"] == "COMPLETED"
    after = frames_of(cul, address)[-1].rolling_code
    assert first < in_flight < after
    assert not cul.motor(address).rejected
    # The frame was on air when the gateway died: its outcome is not known, and a one-way motor cannot be asked.
    record = (await box.api.get(f"/history/executions/{in_flight_exec}")).json()["execution"]
    assert record["commands"][0]["failureType"] == "UNKNOWN"
    assert "rts cannot read a device back" in record["commands"][0]["detailedStatus"]["message"]


async def test_unplug_fails_queued_commands_and_replug_recovers(box: Box, cul: CulEmulator) -> None:
    urls = [await box.create("1", f"Shutter {i}") for i in range(6)]
    addresses = [await box.address(u) for u in urls]
    cul.time_scale = 3.0
    response = await box.api.post(
        "/exec/apply",
        json={"label": "all up", "actions": [{"deviceURL": u, "commands": [{"name": "open"}]} for u in urls]},
    )
    exec_id = response.json()["execId"]
    await wait_for(lambda: any(f.address in addresses for f in cul.frames), timeout=10)
    cul.unplug()
    outcome = await box.outcome(exec_id, timeout=20)
    assert outcome["newState"] == "FAILED" and outcome["failureType"] == "SERIAL_IO_ERROR", outcome
    await box.event("DeviceUnavailableEvent", deviceURL=box.stack)
    # While it is gone, commands fail at once.
    started = time.monotonic()
    gone = await box.run(urls[0], "close")
    assert gone["newState"] == "FAILED" and gone["failureType"] == "SERIAL_IO_ERROR"
    assert time.monotonic() - started < 3
    cul.time_scale = 0.1
    await cul.replug()
    await box.event("DeviceAvailableEvent", deviceURL=box.stack, timeout=20)
    assert (await box.run(urls[0], "close"))["newState"] == "COMPLETED"
    for address in addresses:
        codes = [f.rolling_code for f in frames_of(cul, address)]
        assert codes == sorted(set(codes))
    assert not any(cul.motor(a).rejected for a in addresses)


async def test_deleted_device_channel_is_never_given_again(box: Box) -> None:
    gw = box.proc.gateway_id
    url = await box.create("4", "Garage")
    used = (await box.api.get(f"/config/{gw}/rts/channel")).json()["rtsChannelId"] - 1
    response = await box.api.post(f"/setup/devices/{quote(url, safe='')}/_deleteCascade")
    assert response.status_code == 200
    await box.event("SetupJobCompletedEvent", jobId=response.json()["jobId"])
    assert url not in await box.devices()
    assert (await box.api.get(f"/config/{gw}/rts/channel")).json()["rtsChannelId"] > used
    again = await box.api.post(f"/config/{gw}/devices/{used}/rts/1/Reuse")
    assert again.status_code == 400 and "already used" in again.json()["error"]
    bad = await box.api.post(f"/config/{gw}/devices/7/rts/99/Nope")
    assert bad.status_code == 400 and "device type" in bad.json()["error"]


# ----------------------------------------------------------------------------- RFXtrx


async def test_rfxtrx_sends_rfy_packets_pyrfxtrx_decodes(tmp_path: Path) -> None:
    (tmp_path / "rfx").mkdir()
    emu = await RfxtrxEmulator.start(tmp_path / "rfx", time_scale=0.1)
    client = Box(HearthProcess(tmp_path / "data", env=rts_env("rfxtrx", emu.port_path)))
    try:
        await client.open()
        await wait_for(lambda: transmitter_ready(client), timeout=10)
        url = await client.create("1", "Terrace")
        address = await client.address(url)
        assert (await client.run(url, "close"))["newState"] == "COMPLETED"
        assert (await client.run(url, "pair"))["newState"] == "COMPLETED"
        packets = emu.packets
        assert [type(p.packet).__name__ for p in packets] == ["Rfy", "Rfy"]
        assert [p.packet.cmnd for p in packets] == [0x03, 0x07]  # down, program (the RFXtrx SDK's table)
        assert {p.packet.id_combined for p in packets} == {address & 0xFFFFF}
        assert {p.packet.unitcode for p in packets} == {1}
    finally:
        await client.close()
        client.proc.kill()
        await emu.stop()
