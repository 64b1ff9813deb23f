"""The Z-Stack emulator against the real zigpy + zigpy-znp (no Hearth code): formation, restore, join, interview,
commands, reports, leave, radio loss."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import zigpy.device
import zigpy.types as zt
from zigpy.zcl import foundation
from zigpy_znp.zigbee.application import ControllerApplication

from tests.peers.znp import (
    ZnpEmulator,
    contact_sensor,
    dimmable_light,
    door_lock,
    on_off_light,
    smart_plug,
    temperature_humidity_sensor,
    window_covering,
)

pytestmark = pytest.mark.timeout(60)


def _config(emulator: ZnpEmulator, tmp_path: Path) -> dict[str, Any]:
    return {
        "device": {"path": emulator.port_path},
        "nwk_backup_enabled": False,
        "database_path": str(tmp_path / "zigbee.db"),
    }


def _exists(path: str) -> bool:
    return Path(path).exists()


async def _until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
    return result


class _Listener:
    """zigpy application listener: joins, initialised devices, leaves, attribute updates."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.lost: list[Any] = []

    def connection_lost(self, exc: Any) -> None:
        self.lost.append(exc)

    def device_joined(self, device: zigpy.device.Device) -> None:
        self.events.append(("joined", device.ieee))

    def device_initialized(self, device: zigpy.device.Device) -> None:
        self.events.append(("initialized", device.ieee))

    def device_left(self, device: zigpy.device.Device) -> None:
        self.events.append(("left", device.ieee))

    def seen(self, kind: str, ieee: str) -> bool:
        return (kind, zt.EUI64.convert(ieee)) in self.events


class _Attributes:
    """Attribute reports and updates of one zigpy cluster."""

    def __init__(self, cluster: Any) -> None:
        self.updates: list[tuple[int, Any]] = []
        for event in ("attribute_report", "attribute_updated"):
            cluster.on_event(event, lambda e: self.updates.append((e.attribute_id, e.value)))


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[ZnpEmulator]:
    emu = await ZnpEmulator.start(tmp_path)
    yield emu
    await emu.stop()


@pytest.fixture
async def app(emulator: ZnpEmulator, tmp_path: Path) -> AsyncIterator[ControllerApplication]:
    application = await ControllerApplication.new(_config(emulator, tmp_path), auto_form=True)
    yield application
    await application.shutdown()


async def _join(app: ControllerApplication, emulator: ZnpEmulator, ieee: str) -> zigpy.device.Device:
    """Permit joins, let the device join, wait until zigpy has interviewed it and said so (so it is saved)."""
    listener = _Listener()
    app.add_listener(listener)
    await app.permit(60)
    assert emulator.permit_join_open
    await emulator.join(ieee)
    await _until(lambda: listener.seen("initialized", ieee))
    app.remove_listener(listener)
    device = app.get_device(ieee=zt.EUI64.convert(ieee))
    assert device.is_initialized
    return device


async def test_form_then_restore_and_persist(tmp_path: Path) -> None:
    emulator = await ZnpEmulator.start(tmp_path)
    try:
        started = time.monotonic()
        app = await ControllerApplication.new(_config(emulator, tmp_path), auto_form=True)
        first_start = time.monotonic() - started
        formed = emulator.network
        assert formed is not None and emulator.running
        info = app.state.network_info
        assert (info.channel, info.pan_id) == (formed.channel, formed.pan_id)
        assert str(info.extended_pan_id).lower() == formed.extended_pan_id
        assert bytes(info.network_key.key) == formed.network_key
        await app.shutdown()
        assert not emulator.running

        # A later start restores the same network instead of forming a new one
        app = await ControllerApplication.new(_config(emulator, tmp_path), auto_form=True)
        assert emulator.network == formed
        assert app.state.network_info.pan_id == formed.pan_id
        assert bytes(app.state.network_info.network_key.key) == formed.network_key
        await app.shutdown()
        assert first_start < 5
    finally:
        await emulator.stop()

    # A new emulator on the same directory boots from the saved NVRAM
    assert "nvram" in json.loads((tmp_path / "ttyZNP.nvram.json").read_text())
    again = await ZnpEmulator.start(tmp_path)
    try:
        assert again.network == formed
        app = await ControllerApplication.new(_config(again, tmp_path), auto_form=False)
        assert app.state.network_info.extended_pan_id == zt.EUI64.convert(formed.extended_pan_id)
        await app.shutdown()
    finally:
        await again.stop()


async def test_join_interview_command_report_leave(app: ControllerApplication, emulator: ZnpEmulator) -> None:
    listener = _Listener()
    app.add_listener(listener)
    light = emulator.add_device(dimmable_light())
    with pytest.raises(RuntimeError):
        await emulator.join(light.ieee)  # joins are not permitted yet

    device = await _join(app, emulator, light.ieee)
    assert emulator.interviewed(light.ieee)
    await _until(lambda: listener.seen("joined", light.ieee) and listener.seen("initialized", light.ieee))
    assert (device.nwk, device.manufacturer, device.model) == (0x1002, "Hearth", "SimDimmer")
    assert sorted(device.endpoints) == [0, 1]
    assert set(device.endpoints[1].in_clusters) == {0x0000, 0x0003, 0x0004, 0x0006, 0x0008}
    assert device.node_desc is not None and device.node_desc.is_router

    # Read attributes and configure reporting, as a driver would
    on_off = device.endpoints[1].on_off
    values, failed = await on_off.read_attributes(["on_off"])
    assert values == {"on_off": 0} and not failed
    result = await on_off.configure_reporting("on_off", 0, 300, 1)
    assert list(result.values()) == [foundation.Status.SUCCESS]
    assert emulator.reporting(light.ieee)[(1, 0x0006, 0x0000)][1:3] == (0, 300)

    # A command: default response SUCCESS, the device state changes and it reports it
    seen = _Attributes(on_off)
    rsp = await on_off.on()
    assert rsp.status == foundation.Status.SUCCESS
    assert emulator.device(light.ieee).get(1, 0x0006, 0x0000) is True
    await _until(lambda: (0x0000, True) in seen.updates)
    assert emulator.received(light.ieee)[-1] == (1, 0x0006, 0x01, b"")

    level = device.endpoints[1].level
    rsp = await level.move_to_level_with_on_off(level=77, transition_time=0)
    assert rsp.status == foundation.Status.SUCCESS
    assert emulator.device(light.ieee).get(1, 0x0008, 0x0000) == 77
    assert emulator.received(light.ieee)[-1] == (1, 0x0008, 0x04, bytes([77, 0, 0]))

    # A refused command
    emulator.fail_next(light.ieee, foundation.Status.NOT_AUTHORIZED)
    rsp = await on_off.off()
    assert rsp.status == foundation.Status.NOT_AUTHORIZED
    assert emulator.device(light.ieee).get(1, 0x0006, 0x0000) is True

    # The device changes on its own (a wall switch): the report reaches zigpy
    emulator.set_attribute(light.ieee, 1, 0x0006, 0x0000, False)
    await _until(lambda: seen.updates and seen.updates[-1] == (0x0000, False))
    assert on_off.get("on_off") == False  # noqa: E712 (zigpy Bool)

    # It leaves
    await emulator.leave(light.ieee)
    await _until(lambda: listener.seen("left", light.ieee))


async def test_device_kinds(app: ControllerApplication, emulator: ZnpEmulator) -> None:
    await app.permit(60)
    kinds = [
        on_off_light(),
        window_covering(),
        temperature_humidity_sensor(),
        contact_sensor(),
        door_lock(),
        smart_plug(),
    ]
    for sim in kinds:
        emulator.add_device(sim)
        await emulator.join(sim.ieee)

    def initialized(ieee: str) -> zigpy.device.Device | None:
        device = app.devices.get(zt.EUI64.convert(ieee))
        return device if device is not None and device.is_initialized else None

    devices = {sim.ieee: await _until(functools.partial(initialized, sim.ieee)) for sim in kinds}

    plug = devices[smart_plug().ieee]
    assert sorted(plug.endpoints) == [0, 1, 2]
    assert {0x0B04, 0x0702} <= set(plug.endpoints[1].in_clusters)
    rsp = await plug.endpoints[2].on_off.on()
    assert rsp.status == foundation.Status.SUCCESS
    assert emulator.device(plug.ieee).get(2, 0x0006, 0x0000) is True
    assert emulator.device(plug.ieee).get(1, 0x0006, 0x0000) is False

    cover = devices[window_covering().ieee].endpoints[1].window_covering
    assert (await cover.go_to_lift_percentage(40)).status == foundation.Status.SUCCESS
    assert emulator.device(cover.endpoint.device.ieee).get(1, 0x0102, 0x0008) == 40

    lock = devices[door_lock().ieee].endpoints[1].door_lock
    rsp = await lock.unlock_door()
    assert rsp.status == foundation.Status.SUCCESS
    assert emulator.device(lock.endpoint.device.ieee).get(1, 0x0101, 0x0000) == 2

    climate = devices[temperature_humidity_sensor().ieee]
    assert climate.node_desc is not None and not climate.node_desc.is_router
    values, _ = await climate.endpoints[1].temperature.read_attributes(["measured_value"])
    assert values == {"measured_value": 2150}
    seen = _Attributes(climate.endpoints[1].humidity)
    emulator.set_attribute(climate.ieee, 1, 0x0405, 0x0000, 6120)
    await _until(lambda: (0x0000, 6120) in seen.updates)

    contact = devices[contact_sensor().ieee].endpoints[1].ias_zone
    values, _ = await contact.read_attributes(["zone_type"])
    assert values == {"zone_type": 0x0015}


async def test_silence_and_radio_loss(emulator: ZnpEmulator, tmp_path: Path) -> None:
    app = await ControllerApplication.new(_config(emulator, tmp_path), auto_form=True)
    light = emulator.add_device(on_off_light())
    device = await _join(app, emulator, light.ieee)
    on_off = device.endpoints[1].on_off

    emulator.silence(light.ieee, True, mode="no_ack")
    with pytest.raises(zigpy.exceptions.DeliveryError):
        await on_off.on()
    emulator.silence(light.ieee, True, mode="ack")
    with pytest.raises(asyncio.TimeoutError):
        await on_off.on(timeout=0.3)
    emulator.silence(light.ieee, False)
    assert (await on_off.on()).status == foundation.Status.SUCCESS

    # The stick is pulled out: zigpy hears of it, the port is gone; put back, a new start finds everything
    listener = _Listener()
    app.add_listener(listener)
    emulator.unplug()
    await _until(lambda: listener.lost, timeout=5)
    assert not _exists(emulator.port_path)
    await app.shutdown()
    await emulator.replug()
    assert not emulator.running
    again = await ControllerApplication.new(_config(emulator, tmp_path), auto_form=False)
    try:
        device = again.get_device(ieee=zt.EUI64.convert(light.ieee))
        assert (await device.endpoints[1].on_off.off()).status == foundation.Status.SUCCESS
        assert emulator.received(light.ieee)[-1] == (1, 0x0006, 0x00, b"")
    finally:
        await again.shutdown()


async def test_tcp_transport(tmp_path: Path) -> None:
    emulator = await ZnpEmulator.start(tmp_path, transport="tcp")
    try:
        assert emulator.port_path.startswith("socket://127.0.0.1:")
        app = await ControllerApplication.new(_config(emulator, tmp_path), auto_form=True)
        try:
            assert emulator.network is not None
            light = emulator.add_device(on_off_light())
            device = await _join(app, emulator, light.ieee)
            assert (await device.endpoints[1].on_off.toggle()).status == foundation.Status.SUCCESS
            assert emulator.device(light.ieee).get(1, 0x0006, 0x0000) is True
        finally:
            await app.shutdown()
    finally:
        await emulator.stop()


async def test_given_settings_backup_remove_and_extras(tmp_path: Path) -> None:
    """Formation with configured settings, a backup with the joined devices, IAS enrollment, joins through a
    router, groups, and zigpy removing a device (Mgmt_Leave_req)."""
    emulator = await ZnpEmulator.start(tmp_path, transport="tcp")
    key = bytes(range(16))
    config = {
        **_config(emulator, tmp_path),
        "network": {"channel": 20, "pan_id": 0x1A2B, "extended_pan_id": "11:22:33:44:55:66:77:88", "key": list(key)},
    }
    app = await ControllerApplication.new(config, auto_form=True)
    try:
        network = emulator.network
        assert network is not None
        assert (network.channel, network.pan_id, network.network_key) == (20, 0x1A2B, key)
        assert network.extended_pan_id == "11:22:33:44:55:66:77:88"

        plug = emulator.add_device(smart_plug())
        await _join(app, emulator, plug.ieee)
        contact = emulator.add_device(contact_sensor())
        zone = (await _join(app, emulator, contact.ieee)).endpoints[1].ias_zone

        # IAS: writing the CIE address makes the zone ask to enroll; the driver answers; the zone is enrolled
        commands: list[tuple[int, Any]] = []

        class Zone:
            def cluster_command(self, tsn: int, command_id: int, args: Any) -> None:
                commands.append((command_id, args))
                if command_id == 0x01:  # zone enroll request
                    asyncio.get_running_loop().create_task(zone.enroll_response(0, 7))

        zone.add_listener(Zone())
        await zone.write_attributes({"cie_addr": app.state.node_info.ieee})
        await _until(lambda: emulator.device(contact.ieee).get(1, 0x0500, 0x0000) == 1)
        assert emulator.device(contact.ieee).get(1, 0x0500, 0x0011) == 7
        assert emulator.received(contact.ieee)[-1] == (1, 0x0500, 0x00, bytes([0, 7]))
        emulator.set_attribute(contact.ieee, 1, 0x0500, 0x0002, 0x0001)  # open: a zone status notification
        await _until(lambda: commands and commands[-1][0] == 0x00)
        assert commands[-1][1].zone_status == 0x0001 and commands[-1][1].zone_id == 7

        # The backup holds the network and the devices the coordinator knows
        backup = await app.backups.create_backup(load_devices=True)
        assert backup.network_info.pan_id == 0x1A2B
        assert {zt.EUI64.convert(plug.ieee), zt.EUI64.convert(contact.ieee)} <= set(backup.network_info.nwk_addresses)
        assert zt.EUI64.convert(contact.ieee) in backup.network_info.children

        # ... and restores onto a new coordinator: same network, same devices
        other = await ZnpEmulator.start(tmp_path / "second")
        restorer = await ControllerApplication.new(
            {**_config(other, tmp_path / "second"), "network": config["network"]}, start_radio=False
        )
        try:
            await restorer.connect()
            await restorer.backups.restore_backup(backup)
            assert other.network == network
            await restorer.load_network_info(load_devices=True)
            assert restorer.state.network_info.nwk_addresses == backup.network_info.nwk_addresses
            keys = {k.partner_ieee: bytes(k.key) for k in restorer.state.network_info.key_table}
            assert keys == {k.partner_ieee: bytes(k.key) for k in backup.network_info.key_table} and len(keys) == 2
        finally:
            await restorer.shutdown()
            await other.stop()

        # Joins through one router
        await app.permit(30, node=zt.EUI64.convert(plug.ieee))
        assert emulator.permit_join_via == plug.nwk
        light = emulator.add_device(on_off_light())
        await emulator.join(light.ieee)
        await _until(lambda: (d := app.devices.get(zt.EUI64.convert(light.ieee))) is not None and d.is_initialized)

        # Groups: the device adds itself, a multicast reaches it
        group_light = app.get_device(ieee=zt.EUI64.convert(light.ieee))
        await group_light.endpoints[1].add_to_group(0x0123, "Hearth")
        assert 0x0123 in emulator.device(light.ieee).groups[1]
        await app.groups[0x0123].endpoint.on_off.on()
        await _until(lambda: emulator.device(light.ieee).get(1, 0x0006, 0x0000) is True)

        # zigpy removes a device: Mgmt_Leave_req, then the device leaves
        await app.remove(zt.EUI64.convert(light.ieee))
        await _until(lambda: not emulator.device(light.ieee).joined)
        await _until(lambda: zt.EUI64.convert(light.ieee) not in app.devices)
    finally:
        await app.shutdown()
        await emulator.stop()
