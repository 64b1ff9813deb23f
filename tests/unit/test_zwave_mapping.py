"""The Z-Wave mapping: zwave-js value ids to controllables, values to states, commands to value writes."""

from __future__ import annotations

import pytest

pytest.importorskip("zwave_js_server", reason="the zwave extra is not installed")

from hearth_zwave import mapping as m  # noqa: E402

PLUG = [
    (0x25, 0, "currentValue", None),
    (0x25, 0, "targetValue", None),
    (0x32, 0, "value", m.METER_KWH),
    (0x32, 0, "value", m.METER_W),
    (0x72, 0, "manufacturerId", None),
]


def kinds(values: list[m.ValueKey], generic: int | None = 0x10, specific: int | None = 0x01) -> list[str]:
    return [f.kind for f in m.functions_of(values, generic, specific)]


def test_a_metering_switch_is_a_plug_and_a_meter() -> None:
    assert kinds(PLUG) == ["plug", "meter"]
    assert kinds(PLUG[:2]) == ["switch"]


def test_multilevel_switch_is_a_dimmer_unless_its_device_class_is_a_motor() -> None:
    level = [(0x26, 0, "currentValue", None), (0x26, 0, "targetValue", None)]
    assert kinds(level, 0x11, 0x01) == ["dimmer"]
    assert kinds(level, 0x11, 0x06) == ["shutter"]


def test_multi_channel_endpoints_are_the_devices_not_the_root() -> None:
    values = [(0x25, 0, "currentValue", None), (0x25, 1, "currentValue", None), (0x25, 2, "currentValue", None)]
    assert [(f.kind, f.endpoint) for f in m.functions_of(values, 0x10, 0x01)] == [("switch", 1), ("switch", 2)]


def test_a_lock_shows_its_battery_and_a_sensor_has_its_own() -> None:
    lock = [(0x62, 0, "currentMode", None), (0x80, 0, "level", None)]
    assert kinds(lock) == ["lock"]
    sensor = [(0x31, 0, "Air temperature", None), (0x71, 0, "Access Control", "Door state"), (0x80, 0, "level", None)]
    assert kinds(sensor) == ["temperature", "contact", "battery"]


def test_values_become_states() -> None:
    dimmer = m.Function("dimmer", 0, (0x26,))
    assert m.states_for(dimmer, (0x26, 0, "currentValue", None), 99) == {
        "core:LightIntensityState": 100,
        "core:OnOffState": "on",
    }
    assert m.states_for(dimmer, (0x26, 0, "currentValue", None), 0)["core:OnOffState"] == "off"
    assert m.states_for(dimmer, (0x26, 1, "currentValue", None), 50) == {}  # another endpoint's value
    shutter = m.Function("shutter", 0, (0x26,))
    assert m.states_for(shutter, (0x26, 0, "currentValue", None), 25) == {
        "core:ClosureState": 75,
        "core:OpenClosedState": "open",
    }
    meter = m.Function("meter", 0, (0x32,))
    assert m.states_for(meter, (0x32, 0, "value", m.METER_KWH), 1.5) == {"core:ElectricEnergyConsumptionState": 1500}
    temp = m.Function("temperature", 0, (0x31,))
    assert m.states_for(temp, (0x31, 0, "Air temperature", None), 68, "°F") == {"core:TemperatureState": 20.0}
    contact = m.Function("contact", 0, (0x71, 0x30))
    assert m.states_for(contact, (0x71, 0, "Access Control", "Door state"), 22) == {"core:ContactState": "open"}
    assert m.states_for(contact, (0x71, 0, "Access Control", "Door state"), 23) == {"core:ContactState": "closed"}
    lock = m.Function("lock", 0, (0x62, 0x63))
    battery = {"core:BatteryLevelState": 25, "core:BatteryState": "low"}
    assert m.states_for(lock, (0x80, 0, "level", None), 25) == battery
    assert m.states_for(lock, (0x62, 0, "currentMode", None), 255) == {"core:LockedUnlockedState": "locked"}


def test_commands_become_value_writes() -> None:
    dimmer = m.Function("dimmer", 2, (0x26,))
    assert m.plan(dimmer, "setIntensity", [100]) == [m.Write(0x26, 2, "targetValue", None, 99)]
    assert m.plan(dimmer, "on", []) == [m.Write(0x26, 2, "targetValue", None, 255)]
    shutter = m.Function("shutter", 0, (0x26,))
    assert m.plan(shutter, "setClosure", [30]) == [m.Write(0x26, 0, "targetValue", None, 70)]
    lock = m.Function("lock", 0, (0x62, 0x63))
    assert m.plan(lock, "lock", []) == [m.Write(0x62, 0, "targetMode", None, 255)]
    assert m.plan(lock, "open", []) is None
