"""The bridge's discovery for every controllable of the catalogue, checked against Home Assistant's documented
schema, and what its command topics make of Home Assistant's payloads (each command checked by its controllable,
as the executor would)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.bridge.discovery import device_discovery, object_id
from hearth.core.catalogue import Catalogue
from hearth.model.definition import CommandRejected, Controllable
from tests.peers.ha_discovery import validate_device_discovery

CATALOGUE = Catalogue.load(Path(__file__).resolve().parents[2] / "config" / "controllables")
GW = "1234-5678-9012"


def discover(controllable: Controllable, url: str = f"zigbee://{GW}/1"):  # type: ignore[no-untyped-def]
    return device_discovery(
        gateway_id=GW,
        device_url=url,
        label="A device",
        controllable=controllable,
        area="Kitchen",
        base_topic=f"hearth/{GW}",
        bridge_state_topic=f"hearth/{GW}/bridge/state",
        origin={"name": "Hearth", "sw_version": "0"},
        reported=controllable.states,
    )


@pytest.mark.parametrize("name", CATALOGUE.names())
def test_every_controllable_validates_and_its_routes_make_valid_commands(name: str) -> None:
    controllable = CATALOGUE[name]
    discovery = discover(controllable)
    if controllable.ui_class == "ProtocolGateway":
        assert discovery is None  # a radio stack is not a thing to show in Home Assistant
        return
    assert discovery is not None, f"{name}: nothing to show"
    assert validate_device_discovery(discovery.payload) == []
    for what, route in discovery.routes.items():
        topic = f"hearth/{GW}/{discovery.object_id}/set/{what}"
        assert any(topic in c.values() for c in discovery.payload["components"].values())
        sample = {
            "power": "ON",
            "brightness": "40",
            "color_temp": "3000",
            "rgb": "255,0,10",
            "cover": "OPEN",
            "position": "30",
            "tilt": "50",
            "lock": "LOCK",
            "temperature": "21.5",
            "mode": "HEAT",
        }[what]
        for command, parameters in route.build(sample):
            controllable.command(command).check(parameters)  # raises CommandRejected if the route were wrong


def test_payloads_map_onto_commands() -> None:
    light = discover(CATALOGUE["zigbee:ExtendedColorLightComponent"])
    assert light is not None
    assert light.routes["power"].build("on") == [("on", [])]
    assert light.routes["brightness"].build(" 55 ") == [("setIntensity", [55])]
    assert light.routes["rgb"].build("1,2,3") == [("setRGB", [1, 2, 3])]
    for bad in ("150", "-1", "nan", "inf", "", "ten"):
        with pytest.raises(ValueError):
            light.routes["brightness"].build(bad)
    with pytest.raises(ValueError):
        light.routes["power"].build("TOGGLE")
    with pytest.raises(ValueError):
        light.routes["rgb"].build("1,2")
    awning = discover(CATALOGUE["zigbee:HorizontalAwningComponent"])
    assert awning is not None
    cover = awning.payload["components"]["cover"]
    # Deployment is 0 in .. 100 out, the other way round from ClosureState.
    assert (cover["position_open"], cover["position_closed"]) == (100, 0)
    assert awning.routes["cover"].build("OPEN") == [("deploy", [])]
    assert awning.routes["position"].build("25") == [("setDeployment", [25])]


def test_a_multi_sensor_announces_only_what_it_has_reported() -> None:
    climate = CATALOGUE["ble:ClimateSensorBLEComponent"]
    discovery = device_discovery(
        gateway_id=GW,
        device_url=f"ble://{GW}/A4:C1:38:11:22:33",
        label="Thermometer",
        controllable=climate,
        area=None,
        base_topic=f"hearth/{GW}",
        bridge_state_topic=f"hearth/{GW}/bridge/state",
        origin={"name": "Hearth"},
        reported={"core:TemperatureState", "core:BatteryLevelState", "core:StatusState"},
    )
    assert discovery is not None
    assert set(discovery.payload["components"]) == {"temperature", "battery"}
    assert discovery.measured == {"core:TemperatureState", "core:BatteryLevelState"}
    assert validate_device_discovery(discovery.payload) == []


def test_object_ids_are_stable_and_do_not_collide() -> None:
    a = object_id(GW, f"zigbee://{GW}/00:0d:6f#1")
    assert a == object_id(GW, f"zigbee://{GW}/00:0d:6f#1")
    assert a != object_id(GW, f"zigbee://{GW}/00-0d-6f#1")
    assert a.startswith("hearth_123456789012_zigbee_00_0d_6f_1_")
    assert all(ch.isalnum() or ch in "_-" for ch in a)


def test_a_bad_route_payload_never_reaches_the_device() -> None:
    thermostat = discover(CATALOGUE["zwave:HeatingThermostatZWaveComponent"])
    assert thermostat is not None
    with pytest.raises(ValueError):
        thermostat.routes["temperature"].build("99")  # above the controllable's maximum
    with pytest.raises(CommandRejected):
        CATALOGUE["zwave:HeatingThermostatZWaveComponent"].command("setTargetTemperature").check(["warm"])


def _payload(**states: object) -> str:
    import json

    return json.dumps(states)


def test_tilt_is_home_assistants_way_round() -> None:
    """Our slats are 0 open .. 100 closed; Home Assistant's tilt is 100 open (cover.markdown)."""
    from tests.peers.ha_discovery import cover_tilt, cover_tilt_command

    blind = discover(CATALOGUE["zigbee:VenetianBlindComponent"])
    assert blind is not None
    cover = blind.payload["components"]["cover"]
    assert cover_tilt(cover, _payload(**{"core:SlateOrientationState": 30})) == 70
    assert cover_tilt(cover, _payload(**{"core:SlateOrientationState": 0})) == 100  # slats open: tilt open
    # "open tilt" from Home Assistant opens the slats, and a set tilt of 80 % leaves them 20 % closed.
    assert blind.routes["tilt"].build(cover_tilt_command(cover, opening=True)) == [("setOrientation", [0])]
    assert blind.routes["tilt"].build(cover_tilt_command(cover, opening=False)) == [("setOrientation", [100])]
    assert blind.routes["tilt"].build(cover_tilt_command(cover, 80)) == [("setOrientation", [20])]


def test_a_cover_shows_opening_and_closing_while_it_moves() -> None:
    from hearth.bridge.motion import MotionTracker
    from tests.peers.ha_discovery import cover_state

    shutter = discover(CATALOGUE["rts:RollerShutterRTSComponent"])
    assert shutter is not None
    cover = shutter.payload["components"]["cover"]
    tracker, url = MotionTracker(), "rts://x/1"
    timeline = [
        ({"core:ClosureState": 100, "core:OpenClosedState": "closed", "core:MovingState": False}, "closed"),
        ({"core:ClosureState": 100, "core:OpenClosedState": "closed", "core:MovingState": True}, "opening"),
        ({"core:ClosureState": 60, "core:OpenClosedState": "closed", "core:MovingState": True}, "opening"),
        ({"core:ClosureState": 0, "core:OpenClosedState": "open", "core:MovingState": False}, "open"),
        ({"core:ClosureState": 0, "core:OpenClosedState": "open", "core:MovingState": True}, "closing"),
        ({"core:ClosureState": 50, "core:OpenClosedState": "open", "core:MovingState": False}, "open"),
    ]
    for states, expected in timeline:
        values: dict[str, object] = dict(states)
        way = tracker.way(url, values)
        if way is not None:
            values["motion"] = way
        assert cover_state(cover, _payload(**values)) == expected, states  # type: ignore[arg-type]
    # With a target, the way is known at once, whatever it was at rest; an awning deploys (opens) towards 100.
    assert (
        tracker.way("z://x/2", {"core:ClosureState": 40, "core:TargetClosureState": 90, "core:MovingState": True})
        == "closing"
    )
    tracker.way("z://x/3", {"core:DeploymentState": 10, "core:MovingState": False})
    assert tracker.way("z://x/3", {"core:DeploymentState": 30, "core:MovingState": True}) == "opening"


def test_a_thermostat_shows_its_mode_action_and_temperature() -> None:
    from tests.peers.ha_discovery import CLIMATE_ACTIONS, climate_value

    radiator = discover(CATALOGUE["zigbee:ThermostaticValveComponent"])
    assert radiator is not None
    climate = radiator.payload["components"]["climate"]
    assert climate["modes"] == ["off", "heat"]
    cold = _payload(
        **{
            "core:TargetHeatingLevelState": "comfort",
            "core:TargetTemperatureState": 21.0,
            "core:TemperatureState": 18.5,
        }
    )
    warm = _payload(
        **{"core:TargetHeatingLevelState": "eco", "core:TargetTemperatureState": 17.0, "core:TemperatureState": 18.5}
    )
    off = _payload(
        **{"core:TargetHeatingLevelState": "off", "core:TargetTemperatureState": 21.0, "core:TemperatureState": 18.5}
    )
    assert [climate_value(climate, "mode", p) for p in (cold, warm, off)] == ["heat", "heat", "off"]
    actions = [climate_value(climate, "action", p) for p in (cold, warm, off)]
    assert actions == ["heating", "idle", "off"] and set(actions) <= CLIMATE_ACTIONS
    assert float(climate_value(climate, "current_temperature", cold)) == 18.5
    assert float(climate_value(climate, "temperature", cold)) == 21.0
    assert radiator.routes["mode"].build("off") == [("setHeatingLevel", ["off"])]
    assert radiator.routes["mode"].build("heat") == [("setHeatingLevel", ["comfort"])]
    with pytest.raises(ValueError):
        radiator.routes["mode"].build("cool")


def test_a_colour_light_says_which_colour_mode_it_is_in() -> None:
    """Without a colour mode topic Home Assistant takes the mode of the template it renders last (light.mqtt)."""
    from hearth.bridge.discovery import colour_mode
    from tests.peers.ha_discovery import LIGHT_COLOR_MODES, render

    lamp = discover(CATALOGUE["zigbee:ExtendedColorLightComponent"])
    assert lamp is not None
    light = lamp.payload["components"]["light"]
    rgb_later = {"core:ColorTemperatureState": 10, "core:RedColorIntensityState": 20}
    temp_later = {"core:ColorTemperatureState": 30, "core:RedColorIntensityState": 20}
    assert (colour_mode(rgb_later), colour_mode(temp_later)) == ("rgb", "color_temp")
    for mode in ("rgb", "color_temp"):
        shown = render(light["color_mode_value_template"], _payload(color_mode=mode))
        assert shown == mode and shown in LIGHT_COLOR_MODES
    # A light of one colour kind has no mode to tell.
    hall = discover(CATALOGUE["zigbee:ColorTemperatureLightComponent"])
    assert hall is not None and "color_mode_state_topic" not in hall.payload["components"]["light"]
