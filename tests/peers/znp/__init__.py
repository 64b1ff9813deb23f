"""Z-Stack 3.30 coordinator emulator (TI MT protocol) with simulated Zigbee devices, for the real zigpy + zigpy-znp.

    emulator = await ZnpEmulator.start(tmp_path)     # socat pty pair; transport="tcp" -> socket://127.0.0.1:PORT
    zigpy config: {"device": {"path": emulator.port_path}, "nwk_backup_enabled": False, "database_path": ...}
    emulator.add_device(on_off_light())              # or SimDevice(ieee=..., nwk=..., endpoints=..., attributes=...)
    ... zigpy permits joins (app.permit) ...
    await emulator.join("00:0d:6f:00:0b:12:34:01")   # TC device indication + Device_annce; answers the interview
    emulator.received(ieee) -> [(endpoint, cluster, command id, payload bytes), ...]   (cluster-specific commands)
    emulator.set_attribute(ieee, ep, cluster, attr, value, report=True)               (device-side change + report)
    emulator.silence(ieee, True, mode="ack"|"no_ack"|"none"); emulator.fail_next(ieee, status)
    await emulator.leave(ieee); emulator.unplug(); await emulator.replug(); await emulator.stop()

The formed network lives in the emulator's NVRAM across host restarts and is saved to <tmp>/ttyZNP.nvram.json, so a
new emulator on the same directory boots with it (``persist=False`` to start blank each time).
"""

from tests.peers.znp.devices import (
    HA_PROFILE,
    Outgoing,
    ReceivedCommand,
    SimDevice,
    battery_device,
    color_light,
    contact_sensor,
    dimmable_light,
    door_lock,
    multi_sensor,
    on_off_light,
    smart_plug,
    temperature_humidity_sensor,
    thermostat,
    window_covering,
)
from tests.peers.znp.emulator import NetworkState, ZnpEmulator
from tests.peers.znp.zcl import Typed, ZclFrame

__all__ = [
    "HA_PROFILE",
    "NetworkState",
    "Outgoing",
    "ReceivedCommand",
    "SimDevice",
    "Typed",
    "ZclFrame",
    "ZnpEmulator",
    "battery_device",
    "color_light",
    "contact_sensor",
    "dimmable_light",
    "door_lock",
    "multi_sensor",
    "on_off_light",
    "smart_plug",
    "temperature_humidity_sensor",
    "thermostat",
    "window_covering",
]
