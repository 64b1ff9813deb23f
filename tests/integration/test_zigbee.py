"""The Zigbee driver in a real gateway, with the real zigpy and zigpy-znp, against the Z-Stack emulator.

The emulator (tests/peers/znp) runs on this test's loop and plays the coordinator and its devices at the wire;
the gateway is a child process (HearthProcess) that opens the emulator's port like a USB stick.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

znp = pytest.importorskip("tests.peers.znp", reason="the Z-Stack emulator (tests/peers/znp) is not there yet")
sim = pytest.importorskip("tests.peers.znp.devices", reason="the emulator's simulated devices are not there yet")


def emulator_class() -> Any:
    if hasattr(znp, "ZnpEmulator"):
        return znp.ZnpEmulator
    module = pytest.importorskip("tests.peers.znp.emulator", reason="ZnpEmulator is not there yet")
    return module.ZnpEmulator


pytestmark = pytest.mark.slow


async def maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def zigbee_env(port: str) -> dict[str, str]:
    return {
        "HEARTH_DRIVERS__ZIGBEE__ENABLED": "true",
        "HEARTH_DRIVERS__ZIGBEE__RADIO": "znp",
        "HEARTH_DRIVERS__ZIGBEE__PORT": port,
        "HEARTH_DRIVERS__ZIGBEE__COMMAND_TIMEOUT_S": "6",
        "HEARTH_DRIVERS__ZIGBEE__MAINS_UNAVAILABLE_S": "3",
        "HEARTH_DRIVERS__ZIGBEE__BATTERY_UNAVAILABLE_S": "3",
        "HEARTH_DRIVERS__ZIGBEE__AVAILABILITY_CHECK_S": "0.5",
        "HEARTH_DRIVERS__ZIGBEE__RECONNECT_MIN_S": "0.5",
        "HEARTH_DRIVERS__ZIGBEE__RECONNECT_MAX_S": "2",
    }


class Box(GatewayClient):
    """One gateway with Zigbee on the emulator."""

    def __init__(self, proc: HearthProcess, emulator: Any) -> None:
        super().__init__(proc, "zigbee")
        self.emulator = emulator

    async def pair(self, device: Any) -> str:
        """Open the network through the stack device, let the device join, wait for its interview."""
        assert (await self.run(self.stack, "openNetwork", 60))["newState"] == "COMPLETED"
        ieee = str(device.ieee)
        await maybe(self.emulator.add_device(device))
        await maybe(self.emulator.join(device.ieee))
        mine = self.url(ieee)

        async def created() -> bool:
            return any(
                e["name"] == "DeviceCreatedEvent" and e["deviceURL"].split("#")[0] == mine for e in await self.fetch()
            )

        await wait_for(created, timeout=30, interval=0.1)
        # Every function of a device is declared in one go; let the last ones land.
        await asyncio.sleep(0.5)
        return ieee


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Any]:
    emu = await maybe(emulator_class().start(tmp_path))
    yield emu
    for name in ("stop", "close"):
        if hasattr(emu, name):
            await maybe(getattr(emu, name)())
            break


@pytest.fixture
async def box(tmp_path: Path, emulator: Any) -> AsyncIterator[Box]:
    proc = HearthProcess(tmp_path / "data", env=zigbee_env(str(emulator.port_path)))
    box = Box(proc, emulator)
    await box.open()
    yield box
    await box.close()
    proc.kill()


def on_off_light() -> Any:
    return sim.on_off_light()


def install_code(body: bytes) -> str:
    """An install code as printed on a device: the code and its CRC-16/X.25, little endian (Zigbee BDB 10.1)."""
    crc = 0xFFFF
    for byte in body:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return (body + (crc ^ 0xFFFF).to_bytes(2, "little")).hex()


# ----------------------------------------------------------------------------- tests


async def test_stack_device_and_network_formed(box: Box) -> None:
    devices = await box.devices()
    stack = devices[box.stack]
    assert stack["controllableName"] == "zigbee:TransceiverV3_0Component"
    channel = await wait_for(lambda: box.state(box.stack, "zigbee:ChannelState"))
    assert 11 <= channel <= 26
    assert await box.state(box.stack, "zigbee:ExtendedPanIdState")
    assert any("zigbee network formed" in line for line in box.proc.output)
    # The network key is never logged.
    assert not any("key" in line.lower() and "network" in line.lower() and "0x" in line for line in box.proc.output)


async def test_join_interview_maps_to_the_catalogue(box: Box) -> None:
    ieee = await box.pair(on_off_light())
    device = (await box.devices())[box.url(ieee)]
    assert device["controllableName"] == "zigbee:OnOffLightComponent"


async def test_command_round_trip_reaches_the_device(box: Box) -> None:
    ieee = await box.pair(on_off_light())
    outcome = await box.run(box.url(ieee), "on")
    assert outcome["newState"] == "COMPLETED", outcome
    received = await maybe(box.emulator.received(ieee))
    assert received, "the emulator saw no ZCL command"
    assert await wait_for(lambda: box.state(box.url(ieee), "core:OnOffState")) == "on"


async def test_a_radiator_valve_takes_a_derogation_as_home_assistant_sends_it(box: Box) -> None:
    """Home Assistant's overkiz climate entity (widget ValveHeatingTemperatureInterface) needs the set point bounds
    and a preset state from the start, and sets a temperature or a preset with setDerogation."""
    valve = sim.thermostat()
    ieee = await box.pair(valve)
    url = box.url(ieee)
    device = (await box.devices())[url]
    assert (device["controllableName"], device["widget"]) == (
        "zigbee:ThermostaticValveComponent",
        "ValveHeatingTemperatureInterface",
    )
    states = {s["name"]: s["value"] for s in device["states"]}
    assert (states["core:MinSetpointState"], states["core:MaxSetpointState"]) == (5.0, 30.0)
    assert states["io:DerogationHeatingModeState"] == "manual"
    assert states["core:OpenClosedValveState"] == "closed"  # ThermostatRunningState 0: not heating
    outcome = await box.run(url, "setDerogation", 21.5, "further_notice")
    assert outcome["newState"] == "COMPLETED", outcome
    assert valve.get(1, sim.THERMOSTAT, 0x0012) == 2150  # occupied heating setpoint, 0.01 °C
    assert await wait_for(lambda: box.state(url, "core:TargetTemperatureState")) == 21.5
    outcome = await box.run(url, "setDerogation", "eco", "further_notice")
    assert outcome["newState"] == "COMPLETED", outcome
    assert valve.get(1, sim.THERMOSTAT, 0x0012) == 1700
    assert await box.state(url, "io:DerogationHeatingModeState") == "eco"


async def test_a_colour_sent_alone_to_an_off_light_turns_it_on(box: Box) -> None:
    """Home Assistant sends setRGB alone to an off light; ZCL's colour commands would leave it off."""
    lamp = sim.color_light()
    ieee = await box.pair(lamp)
    url = box.url(ieee)
    assert (await box.run(url, "off"))["newState"] == "COMPLETED"
    assert lamp.get(1, sim.ON_OFF, 0x0000) in (0, False)
    outcome = await box.run(url, "setRGB", 255, 0, 10)
    assert outcome["newState"] == "COMPLETED", outcome
    assert lamp.get(1, sim.ON_OFF, 0x0000) in (1, True)
    assert await wait_for(lambda: box.state(url, "core:OnOffState")) == "on"


async def test_attribute_report_becomes_a_state_change(box: Box) -> None:
    sensor = sim.temperature_humidity_sensor()
    ieee = await box.pair(sensor)
    devices = await box.devices()
    kinds = {d["controllableName"] for url, d in devices.items() if url.startswith(box.url(ieee))}
    assert {"zigbee:TemperatureSensorComponent", "zigbee:RelativeHumidityComponent"} <= kinds
    temp_url = next(
        url
        for url, d in devices.items()
        if url.startswith(box.url(ieee)) and d["controllableName"] == "zigbee:TemperatureSensorComponent"
    )
    await maybe(box.emulator.set_attribute(ieee, 1, 0x0402, 0x0000, 2345))
    event = await box.event(
        "DeviceStateChangedEvent",
        deviceURL=temp_url,
        deviceStates=[{"name": "core:TemperatureState", "type": 2, "value": 23.45}],
    )
    assert event


async def test_two_endpoints_become_subsystems(box: Box) -> None:
    plug = sim.smart_plug()
    ieee = await box.pair(plug)
    devices = await box.devices()
    mine = {url: d["controllableName"] for url, d in devices.items() if url.startswith(box.url(ieee) + "#")}
    assert box.url(ieee, 1) in mine and box.url(ieee, 2) in mine
    assert "zigbee:ElectricityMeterComponent" in mine.values()
    assert list(mine.values()).count("zigbee:SmartPlugComponent") == 2


async def test_leave_removes_the_device(box: Box) -> None:
    ieee = await box.pair(on_off_light())
    await maybe(box.emulator.leave(ieee))
    await box.event("DeviceRemovedEvent", deviceURL=box.url(ieee))
    assert box.url(ieee) not in await box.devices()


async def test_leave_network_command_removes_the_device(box: Box) -> None:
    ieee = await box.pair(on_off_light())
    response = await box.api.post(f"/config/{box.proc.gateway_id}/zigbee/leaveNetwork", json={"ieeeAddress": ieee})
    assert response.status_code == 200, response.text
    await box.event("ZigbeeLeaveNetworkCompletedEvent", timeout=40)
    await box.event("DeviceRemovedEvent", deviceURL=box.url(ieee))


async def test_silent_device_becomes_unavailable_then_available(box: Box) -> None:
    ieee = await box.pair(on_off_light())
    await maybe(box.emulator.silence(ieee, True))
    await box.event("DeviceUnavailableEvent", timeout=20, deviceURL=box.url(ieee))
    await maybe(box.emulator.silence(ieee, False))
    await maybe(box.emulator.set_attribute(ieee, 1, 0x0006, 0x0000, 1))
    await box.event("DeviceAvailableEvent", timeout=20, deviceURL=box.url(ieee))


async def test_unplugged_radio_fails_fast_and_recovers(box: Box) -> None:
    ieee = await box.pair(on_off_light())
    await maybe(box.emulator.unplug())
    await wait_for(lambda: box.state(box.stack, "core:StatusState"), timeout=20)

    async def stack_down() -> bool:
        return await box.state(box.stack, "core:StatusState") == "unavailable"

    await wait_for(stack_down, timeout=30)
    started = time.monotonic()
    outcome = await box.run(box.url(ieee), "on")
    assert outcome["newState"] == "FAILED"
    assert outcome["failureType"] == "SERIAL_IO_ERROR", outcome
    assert time.monotonic() - started < 3
    await maybe(box.emulator.replug())

    async def stack_up() -> bool:
        return await box.state(box.stack, "core:StatusState") == "available"

    await wait_for(stack_up, timeout=30)
    outcome = await box.run(box.url(ieee), "off")
    assert outcome["newState"] == "COMPLETED", outcome


async def test_restart_restores_the_network(box: Box) -> None:
    ieee = await box.pair(on_off_light())
    epid = await wait_for(lambda: box.state(box.stack, "zigbee:ExtendedPanIdState"))
    await box.close()
    box.events.clear()
    await box.open()
    assert any("zigbee network restored" in line for line in box.proc.output), "".join(box.proc.output)
    assert await wait_for(lambda: box.state(box.stack, "zigbee:ExtendedPanIdState")) == epid
    assert box.url(ieee) in await box.devices()
    outcome = await box.run(box.url(ieee), "on")
    assert outcome["newState"] == "COMPLETED", outcome


async def test_zigbee_shims_and_commissioning_codes(box: Box) -> None:
    gw = box.proc.gateway_id
    response = await box.api.post(f"/config/{gw}/zigbee/joinNetwork")
    assert response.status_code == 200 and "execId" in response.json()
    await box.event("ZigbeeJoinNetworkCompletedEvent", gatewayId=gw)
    assert await wait_for(lambda: box.state(box.stack, "zigbee:PermitJoinState")) is True
    response = await box.api.post(f"/config/{gw}/zigbee/refreshNetwork")
    assert response.status_code == 200
    await box.event("ZigbeeRefreshNetworkCompletedEvent", gatewayId=gw)
    bad = await box.api.post(f"/config/{gw}/zigbee/createNetwork/channels", json=[5])
    assert bad.status_code == 400

    codes = f"/config/{gw}/devices/zigbee/commissioning/codes"
    too_many = [
        {
            "code": install_code(i.to_bytes(6, "big")),
            "metadata": None,
            "commissioningId": f"00:0d:6f:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}",
        }
        for i in range(128)
    ]
    assert (await box.api.post(codes, json=too_many)).status_code == 400
    # A code whose CRC is wrong, or without the device's IEEE address, is refused and nothing is kept.
    broken = install_code(b"\x01" * 6)[:-2] + "00"
    for wrong in ({"code": broken, "commissioningId": "000d6f0000000001"}, {"code": install_code(b"\x02" * 6)}):
        refused = await box.api.post(codes, json=[wrong])
        assert refused.status_code == 400 and "commissioning code" in refused.json()["error"], refused.text
    assert (await box.api.get(codes)).json() == []
    assert (await box.api.post(codes, json=too_many[:127])).status_code == 200
    listed = (await box.api.get(codes)).json()
    assert len(listed) == 127 and listed[0]["code"] == too_many[0]["code"]
    assert (await box.api.delete(f"{codes}/{too_many[0]['code']}")).status_code == 204
    assert len((await box.api.get(codes)).json()) == 126


async def test_install_codes_admit_only_their_devices(box: Box) -> None:
    gw = box.proc.gateway_id
    light, plug = sim.on_off_light(), sim.smart_plug()
    code = install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505"))
    response = await box.api.post(
        f"/config/{gw}/devices/zigbee/commissioning/codes",
        json=[{"code": code, "metadata": "hall light", "commissioningId": str(light.ieee)}],
    )
    assert response.status_code == 200, response.text
    await maybe(box.emulator.add_device(light))
    await maybe(box.emulator.add_device(plug))

    assert (await box.run(box.stack, "openNetwork", 30))["newState"] == "COMPLETED"
    # The radio holds the link key derived from the code (Silicon Labs AN1089's example: install code
    # 83FED3407A939723A5C639B26916D505C3B5 gives key 66B6900981E1EE3CA4206B6B861C02BB), and only such joins.
    assert code.upper() == "83FED3407A939723A5C639B26916D505C3B5"
    assert box.emulator.install_codes == {str(light.ieee): bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")}
    assert box.emulator.joins_need_install_code
    with pytest.raises(RuntimeError, match="install code"):
        await maybe(box.emulator.join(plug.ieee))
    await maybe(box.emulator.join(light.ieee))
    await box.event("DeviceCreatedEvent", deviceURL=box.url(str(light.ieee)))

    assert (await box.run(box.stack, "closeNetwork"))["newState"] == "COMPLETED"
    await box.emulator.wait_for(lambda: not box.emulator.joins_need_install_code, timeout=10)
    assert not box.emulator.permit_join_open


async def test_permit_join_through_one_router(box: Box) -> None:
    router = await box.pair(sim.smart_plug())
    outcome = await box.run(box.stack, "openNetwork", 40, router)
    assert outcome["newState"] == "COMPLETED", outcome
    assert box.emulator.permit_join_via == box.emulator.device(router).nwk
    sensor = sim.contact_sensor()
    await maybe(box.emulator.add_device(sensor))
    await maybe(box.emulator.join(sensor.ieee))
    # A contact sensor with a battery: two functions, two subsystems.
    await box.event("DeviceCreatedEvent", deviceURL=box.url(str(sensor.ieee), 1))
    # A device that is not a router of the network is refused, with the reason.
    outcome = await box.run(box.stack, "openNetwork", 40, "00:00:00:00:00:00:00:99")
    assert outcome["newState"] == "FAILED" and outcome["failureType"] == "BAD_ADDRESS", outcome
    # The shim takes the router too.
    response = await box.api.post(
        f"/config/{box.proc.gateway_id}/zigbee/joinNetwork", json={"duration": 30, "routerIeeeAddress": router}
    )
    assert response.status_code == 200, response.text
    await box.event("ZigbeeJoinNetworkCompletedEvent")


async def test_backup_restores_the_network_onto_another_coordinator(box: Box, tmp_path: Path) -> None:
    await box.pair(on_off_light())
    response = await box.api.get("/ext/zigbee/backup")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    backup = response.json()
    # zigpy's own format (NetworkBackup.as_dict): what any zigpy-based system can restore.
    info, network = backup["network_info"], box.emulator.network
    secret = info["network_key"]["key"]
    assert secret.replace(":", "") == network.network_key.hex()
    assert info["pan_id"].lower() == f"{network.pan_id:04x}"
    assert info["nwk_addresses"].get("00:0d:6f:00:0b:12:34:01") == "1001"

    # A second box on a blank coordinator forms its own network; the backup brings the first one over.
    other_emulator = await maybe(emulator_class().start(tmp_path / "other", ieee="00:12:4b:00:24:c0:00:02"))
    other = Box(HearthProcess(tmp_path / "other-data", env=zigbee_env(str(other_emulator.port_path))), other_emulator)
    await other.open()
    try:
        await wait_for(lambda: other.state(other.stack, "zigbee:ExtendedPanIdState"))
        assert other_emulator.network.network_key != network.network_key
        bad = await other.api.post("/ext/zigbee/restore", json={"network_info": {"network_key": "nope"}})
        assert bad.status_code == 400 and "backup" in bad.json()["error"]
        restored = await other.api.post("/ext/zigbee/restore", json=backup)
        assert restored.status_code == 204, restored.text
        moved = other_emulator.network
        assert (moved.channel, moved.pan_id, moved.extended_pan_id, moved.network_key) == (
            network.channel,
            network.pan_id,
            network.extended_pan_id,
            network.network_key,
        )
        assert await wait_for(lambda: other.state(other.stack, "zigbee:ExtendedPanIdState")) == (
            network.extended_pan_id
        )
    finally:
        await other.close()
        await maybe(other_emulator.stop())
    # The network key is a secret: in neither gateway's output.
    for output in (box.proc.output, other.proc.output):
        text = "".join(output).lower()
        assert network.network_key.hex() not in text and secret not in text
