"""BLE sensors in a real gateway: bleak talks to BlueZ's D-Bus API, mocked by python-dbusmock on a private bus.

The peer (tests/peers/ble) plays the radio: a device's advertisement is a change of its ServiceData and RSSI,
a notification a change of a characteristic's Value, an unplugged adapter its removal from the bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import wait_for
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

pytest.importorskip("bleak", reason="the ble extra is not installed")
pytest.importorskip("dbusmock", reason="python-dbusmock is not installed")

from tests.peers.ble import FakeBlueZ, full_uuid  # noqa: E402 (needs dbus-python, checked above)
from tests.peers.ble import payloads as pl  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

THERMO = "A4:C1:38:11:22:33"
DOOR = "A4:C1:38:44:55:66"
PVVX = "A4:C1:38:77:88:99"
MIJIA = "4C:65:A8:DD:B8:9B"
STRANGER = "11:22:33:44:55:66"


def ble_env(bluez: FakeBlueZ, **settings: str) -> dict[str, str]:
    values = {
        "ENABLED": "true",
        "RECONNECT_MIN_S": "0.2",
        "RECONNECT_MAX_S": "0.5",
        "CONNECT_TIMEOUT_S": "5",
        **settings,
    }
    env = {f"HEARTH_DRIVERS__BLE__{k.upper()}": v for k, v in values.items()}
    env["HEARTH_DRIVERS__VIRTUAL__ENABLED"] = "false"
    env["DBUS_SYSTEM_BUS_ADDRESS"] = bluez.address
    return env


class Box(GatewayClient):
    def __init__(self, proc: HearthProcess) -> None:
        super().__init__(proc, "ble")

    async def states(self, url: str) -> dict[str, Any]:
        response = await self.api.get(f"/setup/devices/{quote(url, safe='')}/states")
        return {s["name"]: s["value"] for s in response.json()} if response.status_code == 200 else {}

    async def has(self, url: str, **expected: Any) -> bool:
        """Every ``state=value`` given holds (state names with ``_`` for ``:``, e.g. core_TemperatureState)."""
        states = await self.states(url)
        return all(states.get(name.replace("_", ":", 1)) == value for name, value in expected.items())


@pytest.fixture
def bluez(tmp_path: Path) -> Iterator[FakeBlueZ]:
    with FakeBlueZ(tmp_path / "bluez.log") as peer:
        peer.add_adapter()
        yield peer


async def start_box(tmp_path: Path, bluez: FakeBlueZ, **settings: str) -> Box:
    box = Box(HearthProcess(tmp_path / "data", env=ble_env(bluez, **settings)))
    await box.open()
    await wait_for(lambda: any("BLE scanning on hci0" in line for line in box.proc.output), timeout=15)
    return box


@pytest.fixture
async def box(tmp_path: Path, bluez: FakeBlueZ) -> AsyncIterator[Box]:
    client = await start_box(tmp_path, bluez, AUTO_ADD="true", UNAVAILABLE_AFTER_S="600")
    yield client
    await client.close()
    client.proc.kill()


async def test_bthome_and_pvvx_sensors_become_devices_with_states(box: Box, bluez: FakeBlueZ) -> None:
    thermo, door, pvvx = box.url(THERMO), box.url(DOOR), box.url(PVVX)
    for mac, name in ((THERMO, "Kitchen thermo"), (DOOR, "Front door"), (PVVX, "ATC_778899")):
        bluez.add_device(mac, name)
    bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(21.37, 48.5, 87, packet_id=1)}, rssi=-61)
    bluez.advertise(DOOR, {pl.BTHOME_UUID: pl.door(True, 95, packet_id=7)}, rssi=-75)
    bluez.advertise(PVVX, {pl.ATC_UUID: pl.pvvx(PVVX, -3.25, 91.02, 64, 2950, 12)}, rssi=-80)

    assert await wait_for(
        lambda: box.has(
            thermo,
            core_TemperatureState=21.37,
            core_RelativeHumidityState=48.5,
            core_BatteryLevelState=87,
            core_RSSILevelState=-61,
        ),
        timeout=10,
    )
    assert await wait_for(lambda: box.has(door, core_ContactState="open", core_BatteryLevelState=95), timeout=10)
    assert await wait_for(
        lambda: box.has(
            pvvx,
            core_TemperatureState=-3.25,
            core_RelativeHumidityState=91.02,
            core_BatteryLevelState=64,
            ble_BatteryVoltageState=2.95,
        ),
        timeout=10,
    )
    devices = await box.devices()
    assert devices[thermo]["controllableName"] == "ble:ClimateSensorBLEComponent"
    assert devices[thermo]["label"] == "Kitchen thermo"
    assert devices[door]["controllableName"] == "ble:ContactMultiSensorBLEComponent"
    assert devices[door]["definition"]["uiClass"] == "ContactSensor"
    assert devices[pvvx]["controllableName"] == "ble:ClimateSensorBLEComponent"
    # The stack: a working adapter, looking for new sensors (auto_add).
    assert await box.has(box.stack, core_StatusState="available", ble_ScanningState=True)
    assert bluez.adapter_discovering()

    # The same packet id again is the same packet: dropped, even with other bytes.
    bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(30.0, 10.0, 87, packet_id=1)}, rssi=-62)
    bluez.advertise(DOOR, {pl.BTHOME_UUID: pl.door(False, 95, packet_id=8)}, rssi=-75)
    assert await wait_for(lambda: box.has(door, core_ContactState="closed"), timeout=10)
    assert await box.has(thermo, core_TemperatureState=21.37, core_RSSILevelState=-61)  # RSSI moved < 5 dB
    bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(22.0, 47.0, 86, packet_id=2)}, rssi=-70)
    assert await wait_for(
        lambda: box.has(thermo, core_TemperatureState=22.0, core_BatteryLevelState=86, core_RSSILevelState=-70),
        timeout=10,
    )
    changed = await box.event("DeviceStateChangedEvent", deviceURL=thermo)
    assert {s["name"] for s in changed["deviceStates"]} >= {"core:TemperatureState"}


async def test_mibeacon_thermometer_becomes_a_device_with_states(box: Box, bluez: FakeBlueZ) -> None:
    # A Xiaomi thermometer sends temperature+humidity and battery in separate MiBeacon frames (UUID 0xFE95).
    bluez.add_device(MIJIA, "MJ_HT_V1")
    mijia = box.url(MIJIA)
    bluez.advertise(MIJIA, {pl.MIBEACON_UUID: pl.mi_climate(MIJIA, 17.8, 62.9, counter=1)}, rssi=-66)
    assert await wait_for(
        lambda: box.has(mijia, core_TemperatureState=17.8, core_RelativeHumidityState=62.9, core_RSSILevelState=-66),
        timeout=10,
    )
    bluez.advertise(MIJIA, {pl.MIBEACON_UUID: pl.mi_battery(MIJIA, 72, counter=2)}, rssi=-66)
    assert await wait_for(lambda: box.has(mijia, core_BatteryLevelState=72), timeout=10)
    devices = await box.devices()
    assert devices[mijia]["controllableName"] == "ble:ClimateSensorBLEComponent"
    assert devices[mijia]["label"] == "MJ_HT_V1"
    # The same frame counter again is the same frame: dropped. An encrypted frame is not read.
    bluez.advertise(MIJIA, {pl.MIBEACON_UUID: pl.mi_climate(MIJIA, 30.0, 10.0, counter=2)}, rssi=-66)
    encrypted = pl.mibeacon(pl.mi_obj(0x1004, 400, 2), counter=3, mac=MIJIA, control=pl.MI_V5 | pl.MI_ENCRYPTED)
    bluez.advertise(MIJIA, {pl.MIBEACON_UUID: encrypted + bytes(7)}, rssi=-66)
    bluez.advertise(MIJIA, {pl.MIBEACON_UUID: pl.mi_battery(MIJIA, 71, counter=4)}, rssi=-66)
    assert await wait_for(lambda: box.has(mijia, core_BatteryLevelState=71), timeout=10)
    assert await box.has(mijia, core_TemperatureState=17.8, core_RelativeHumidityState=62.9)


async def test_hostile_advertisements_change_nothing(box: Box, bluez: FakeBlueZ) -> None:
    bluez.add_device(STRANGER, "\x1b[31mevil\x07")
    bluez.add_device(THERMO, "thermo")
    hostile = [
        b"",
        b"\x40",
        b"\x41\x02\xca\x09",  # empty, header only, encrypted flag
        b"\x20\x02\xca\x09",
        b"\xff" * 30,  # BTHome v1 header, garbage
        b"\x40\x02\xca",  # cut in the middle of the temperature
        bytes(range(256))[:200],
    ]
    for payload in hostile:
        bluez.advertise(STRANGER, {pl.BTHOME_UUID: payload, pl.ATC_UUID: payload[:14]})
    bluez.advertise(STRANGER, {pl.ATC_UUID: b"\x00" * 14})  # neither ATC1441 (13) nor pvvx (15)
    bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(19.5, 40.0, 50, packet_id=3)})
    thermo = box.url(THERMO)
    assert await wait_for(lambda: box.has(thermo, core_TemperatureState=19.5), timeout=10)
    devices = await box.devices()
    assert box.url(STRANGER) not in devices
    # Objects before a truncated one still count, as the format says; a label from the air is cleaned.
    bluez.advertise(STRANGER, {pl.BTHOME_UUID: pl.bthome(pl.obj(0x01, 42, 1), b"\x02\xca", packet_id=1)})
    stranger = box.url(STRANGER)
    assert await wait_for(lambda: box.has(stranger, core_BatteryLevelState=42), timeout=10)
    assert (await box.devices())[stranger]["label"] == "[31mevil"
    assert "core:TemperatureState" not in await box.states(stranger)
    assert box.proc.proc is not None and box.proc.proc.poll() is None


async def test_allow_list_window_and_restart(tmp_path: Path, bluez: FakeBlueZ) -> None:
    box = await start_box(tmp_path, bluez, AUTO_ADD="false", ALLOW=f'["{THERMO.lower()}"]')
    try:
        for mac in (THERMO, DOOR, STRANGER):
            bluez.add_device(mac, mac)
        bluez.advertise(STRANGER, {pl.BTHOME_UUID: pl.climate(1.0, 1.0, 1, packet_id=1)})
        bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(20.0, 50.0, 90, packet_id=1)})
        thermo, door = box.url(THERMO), box.url(DOOR)
        assert await wait_for(lambda: box.has(thermo, core_TemperatureState=20.0), timeout=10)
        assert box.url(STRANGER) not in await box.devices()
        assert await box.has(box.stack, ble_ScanningState=False)
        # addDevice lets one more in; its bind key, if one were given, would be refused and never shown.
        outcome = await box.run(box.stack, "addDevice", DOOR, "00112233445566778899aabbccddeeff")
        assert outcome["newState"] == "FAILED" and "00112233" not in str(outcome)
        assert (await box.run(box.stack, "addDevice", DOOR.lower()))["newState"] == "COMPLETED"
        bluez.advertise(DOOR, {pl.BTHOME_UUID: pl.door(False, 80, packet_id=1)})
        assert await wait_for(lambda: box.has(door, core_ContactState="closed"), timeout=10)
        # A startScan window lets anyone in while it is open.
        assert (await box.run(box.stack, "startScan", 30))["newState"] == "COMPLETED"
        assert await box.has(box.stack, ble_ScanningState=True)
        bluez.advertise(STRANGER, {pl.BTHOME_UUID: pl.climate(2.0, 2.0, 2, packet_id=2)})
        stranger = box.url(STRANGER)
        assert await wait_for(lambda: box.has(stranger, core_TemperatureState=2.0), timeout=10)
        assert (await box.run(box.stack, "stopScan"))["newState"] == "COMPLETED"
        assert await box.has(box.stack, ble_ScanningState=False)
        # Removed by the user: gone, and not added back by its next advertisement.
        assert (await box.run(box.stack, "removeDevice", STRANGER))["newState"] == "COMPLETED"
        assert stranger not in await box.devices()
    finally:
        await box.close()
    box = await start_box(tmp_path, bluez, AUTO_ADD="true")
    try:
        devices = await box.devices()
        assert {thermo, door} <= set(devices) and stranger not in devices
        bluez.advertise(STRANGER, {pl.BTHOME_UUID: pl.climate(3.0, 3.0, 3, packet_id=3)})
        bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(23.5, 50.0, 90, packet_id=2)})
        assert await wait_for(lambda: box.has(thermo, core_TemperatureState=23.5), timeout=10)
        await asyncio.sleep(0.5)
        assert stranger not in await box.devices()
    finally:
        await box.close()


async def test_silence_unavailable_then_back(tmp_path: Path, bluez: FakeBlueZ) -> None:
    box = await start_box(tmp_path, bluez, AUTO_ADD="true", UNAVAILABLE_AFTER_S="1.5")
    try:
        bluez.add_device(THERMO, "thermo")
        bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(20.0, 50.0, 90, packet_id=1)})
        thermo = box.url(THERMO)
        assert await wait_for(
            lambda: box.has(thermo, core_StatusState="available", core_TemperatureState=20.0), timeout=10
        )
        await box.event("DeviceUnavailableEvent", deviceURL=thermo, timeout=10)
        assert await box.has(thermo, core_StatusState="unavailable")
        assert (await box.devices())[thermo]["available"] is False
        bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(20.5, 50.0, 90, packet_id=2)})
        await box.event("DeviceAvailableEvent", deviceURL=thermo, timeout=10)
        assert await box.has(thermo, core_StatusState="available", core_TemperatureState=20.5)
    finally:
        await box.close()


async def test_adapter_loss_and_return(box: Box, bluez: FakeBlueZ) -> None:
    bluez.add_device(THERMO, "thermo")
    bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(20.0, 50.0, 90, packet_id=1)})
    thermo = box.url(THERMO)
    assert await wait_for(lambda: box.has(thermo, core_StatusState="available", core_TemperatureState=20.0), timeout=10)
    bluez.remove_adapter()
    assert await wait_for(
        lambda: box.has(box.stack, core_StatusState="unavailable", ble_ScanningState=False), timeout=10
    )
    assert await wait_for(lambda: box.has(thermo, core_StatusState="unavailable"), timeout=10)
    await asyncio.sleep(1.5)  # several retries go by while it is away: said once
    gone = [line for line in box.proc.output if "adapter hci0" in line and ("gone" in line or "not usable" in line)]
    assert len(gone) == 1, gone

    bluez.add_adapter()
    assert await wait_for(lambda: box.has(box.stack, core_StatusState="available", ble_ScanningState=True), timeout=10)
    assert await wait_for(bluez.adapter_discovering, timeout=10)
    bluez.add_device(THERMO, "thermo")
    bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(21.0, 50.0, 90, packet_id=2)})
    assert await wait_for(lambda: box.has(thermo, core_StatusState="available", core_TemperatureState=21.0), timeout=10)


async def test_active_link_reads_follows_and_reconnects(tmp_path: Path, bluez: FakeBlueZ) -> None:
    probe = "C0:FF:EE:00:00:01"
    bluez.add_device(probe, "probe")
    char = bluez.add_characteristic(probe, full_uuid(0x181A), full_uuid(0x2A6E), (2150).to_bytes(2, "little"))
    link = f'[{{address = "{probe}", characteristic = "2a6e", state = "core:TemperatureState", label = "Probe"}}]'
    box = await start_box(tmp_path, bluez, LINK=link)
    try:
        url = box.url(probe)
        devices = await box.devices()
        assert devices[url]["controllableName"] == "ble:ClimateSensorBLEComponent"
        assert devices[url]["label"] == "Probe"
        bluez.set_rssi(probe, -50)  # heard once: the scanner hands its BLEDevice to the link
        assert await wait_for(lambda: box.has(url, core_TemperatureState=21.5), timeout=15)
        assert await wait_for(lambda: "StartNotify" in bluez.calls(char), timeout=10)
        bluez.notify(char, (2231).to_bytes(2, "little", signed=True))
        assert await wait_for(lambda: box.has(url, core_TemperatureState=22.31), timeout=10)
        bluez.notify(char, b"\x01")  # wrong size: dropped
        bluez.notify(char, (-512).to_bytes(2, "little", signed=True))
        assert await wait_for(lambda: box.has(url, core_TemperatureState=-5.12), timeout=10)

        bluez.drop_connection(probe)
        assert await wait_for(lambda: bluez.calls(char).count("ReadValue") == 2, timeout=15)
        assert await wait_for(lambda: bluez.connected(probe), timeout=10)
        assert any("link lost" in line for line in box.proc.output)
    finally:
        await box.close()


async def test_starts_without_an_adapter_and_takes_it_when_it_comes(tmp_path: Path) -> None:
    with FakeBlueZ(tmp_path / "bluez.log") as bluez:
        box = Box(HearthProcess(tmp_path / "data", env=ble_env(bluez, AUTO_ADD="true")))
        await box.open()
        try:
            # The gateway serves without its radio, and says the stack is unavailable.
            assert await wait_for(lambda: box.has(box.stack, core_StatusState="unavailable"), timeout=10)
            await asyncio.sleep(1.5)  # retries go by: one warning only
            warnings = [line for line in box.proc.output if "adapter hci0 not usable" in line]
            assert len(warnings) == 1, warnings
            bluez.add_adapter()
            assert await wait_for(lambda: box.has(box.stack, core_StatusState="available"), timeout=10)
            assert await wait_for(bluez.adapter_discovering, timeout=10)
            bluez.add_device(THERMO, "thermo")
            bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(18.0, 55.0, 70, packet_id=1)})
            assert await wait_for(lambda: box.has(box.url(THERMO), core_TemperatureState=18.0), timeout=10)
        finally:
            await box.close()


async def test_passive_scanning_registers_a_monitor_and_sends_nothing(tmp_path: Path, bluez: FakeBlueZ) -> None:
    box = await start_box(tmp_path, bluez, AUTO_ADD="true", SCANNING_MODE="passive")
    try:
        bluez.add_device(THERMO, "thermo")
        bluez.advertise(THERMO, {pl.BTHOME_UUID: pl.climate(17.25, 60.0, 77, packet_id=1)})
        assert await wait_for(lambda: box.has(box.url(THERMO), core_TemperatureState=17.25), timeout=10)
        calls = bluez.calls("/org/bluez/hci0")
        # A monitor on our service data, and no discovery: BlueZ sends no scan request on our behalf.
        assert "RegisterMonitor" in calls and "StartDiscovery" not in calls, calls
        # Service data (AD type 0x16) starting with BTHome's UUID 0xFCD2, or the thermometers' 0x181A (LE).
        assert sorted(bluez.monitor_patterns()) == [
            (0, 0x16, b"\x1a\x18"),
            (0, 0x16, b"\x95\xfe"),
            (0, 0x16, b"\xd2\xfc"),
        ]
    finally:
        await box.close()
