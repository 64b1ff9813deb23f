"""The MQTT bridge against a real mosquitto, with a test client in Home Assistant's place: discovery checked
against Home Assistant's documented schema, commands on command topics moving virtual devices (and bad ones
dropped), Home Assistant's birth message, removals, and restarts of the broker and of the gateway leaving one
config per device."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import wait_for
from tests.peers.ha_discovery import (
    CLIMATE_ACTIONS,
    climate_value,
    cover_state,
    cover_tilt,
    cover_tilt_command,
    parse_discovery_topic,
    render,
    validate_device_discovery,
)
from tests.peers.mosquitto import Mosquitto
from tests.peers.mqtt_listener import TopicListener
from tests.support.gateway_client import GatewayClient
from tests.support.process import HearthProcess

aiomqtt = pytest.importorskip("aiomqtt", reason="the bridge extra is not installed")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

DISCOVERY = "homeassistant/device/+/config"
# Of the demo house's 34 devices, every one has something to show in Home Assistant.
DEMO_DEVICES = 34


def bridge_env(port: int) -> dict[str, str]:
    return {
        "HEARTH_BRIDGE__ENABLED": "true",
        "HEARTH_BRIDGE__HOST": "127.0.0.1",
        "HEARTH_BRIDGE__PORT": str(port),
        "HEARTH_BRIDGE__KEEPALIVE_S": "5",
        "HEARTH_BRIDGE__RECONNECT_MIN_S": "0.2",
        "HEARTH_BRIDGE__RECONNECT_MAX_S": "0.5",
    }


async def retained(port: int, topic: str, quiet: float = 0.7) -> dict[str, bytes]:
    """What a new subscriber gets on ``topic``: the retained messages, by topic (empty ones are not retained)."""
    found: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", port, identifier="test-retained-reader") as client:
        await client.subscribe(topic, qos=1)
        while True:
            try:
                async with asyncio.timeout(quiet):
                    message = await anext(client.messages)
            except TimeoutError:
                return found
            found[str(message.topic)] = bytes(message.payload)


class HomeAssistant(TopicListener):
    """Plays Home Assistant's side of the broker: hears everything under the discovery prefix and the bridge."""

    def __init__(self, port: int) -> None:
        super().__init__(port, ["homeassistant/#", "hearth/#"], "test-home-assistant")
        self.messages: list[tuple[str, bytes, bool]] = []

    def record(self, topic: str, payload: bytes, retain: bool) -> None:
        self.messages.append((topic, payload, retain))

    def live_configs(self) -> list[str]:
        return [t for t, p, retain in self.messages if t.startswith("homeassistant/device/") and p and not retain]


@pytest.fixture
async def box(tmp_path: Path, broker: Mosquitto) -> AsyncIterator[GatewayClient]:
    client = GatewayClient(HearthProcess(tmp_path / "data", env=bridge_env(broker.port)), "virtual")
    await client.open()
    yield client
    await client.close()
    client.proc.kill()


async def configs(port: int, expected: int) -> dict[str, dict[str, Any]]:
    """The retained discovery configs once there are ``expected`` of them, by object id."""

    async def enough() -> dict[str, bytes] | None:
        found = await retained(port, DISCOVERY, quiet=0.4)
        return found if len(found) >= expected else None

    found = await wait_for(enough, timeout=15, interval=0.1)
    return {parse_discovery_topic(topic)[-1]: json.loads(payload) for topic, payload in found.items()}


def component(config: dict[str, Any], platform: str) -> dict[str, Any]:
    return next(c for c in config["components"].values() if c["p"] == platform)


async def test_discovery_follows_home_assistants_schema(box: GatewayClient, broker: Mosquitto) -> None:
    found = await configs(broker.port, DEMO_DEVICES)
    assert len(found) == DEMO_DEVICES
    unique_ids: list[str] = []
    for oid, config in found.items():
        assert validate_device_discovery(config) == [], oid
        unique_ids += [c["unique_id"] for c in config["components"].values()]
        assert config["device"]["identifiers"] == [oid]
    assert len(unique_ids) == len(set(unique_ids))
    devices = await box.devices()
    labels = {d["label"]: url for url, d in devices.items()}
    ceiling = next(c for c in found.values() if c["device"]["name"] == "Living room ceiling")
    light = component(ceiling, "light")
    assert light["brightness_scale"] == 100 and light["brightness_command_topic"].endswith("/set/brightness")
    assert ceiling["device"]["suggested_area"] == "Living room"
    shutter = next(c for c in found.values() if c["device"]["name"] == "Living room bay window")
    cover = component(shutter, "cover")
    # ClosureState is 0 open .. 100 closed: Home Assistant is told which end is which.
    assert (cover["position_open"], cover["position_closed"]) == (0, 100)
    thermometer = next(c for c in found.values() if c["device"]["name"] == "Living room temperature")
    sensor = component(thermometer, "sensor")
    assert (sensor["device_class"], sensor["unit_of_measurement"]) == ("temperature", "°C")
    # States and availability are retained on the topics the configs name, matching what the API says.
    state_topic = sensor["state_topic"]
    states = await retained(broker.port, state_topic, quiet=0.3)
    reported = json.loads(states[state_topic])
    api_states = {s["name"]: s["value"] for s in devices[labels["Living room temperature"]]["states"]}
    assert reported["core:TemperatureState"] == api_states["core:TemperatureState"]
    topics = [a["topic"] for a in thermometer["availability"]]
    availability = await retained(broker.port, "hearth/#", quiet=0.3)
    assert all(availability[t] == b"online" for t in topics)


async def test_a_command_topic_moves_a_device_and_bad_payloads_are_dropped(
    box: GatewayClient, broker: Mosquitto
) -> None:
    found = await configs(broker.port, DEMO_DEVICES)
    ceiling = next(c for c in found.values() if c["device"]["name"] == "Living room ceiling")
    light = component(ceiling, "light")
    url = box.url("3")
    home = await HomeAssistant(broker.port).start()
    try:
        await home.publish(light["command_topic"], "OFF")
        assert await wait_for(lambda: _equals(box.state(url, "core:OnOffState"), "off"), timeout=10)
        await home.publish(light["brightness_command_topic"], "40")
        assert await wait_for(lambda: _equals(box.state(url, "core:LightIntensityState"), 40), timeout=10)
        # The execution is in the history like any other, with its source.
        history = (await box.api.get("/history/executions")).json()
        mqtt_runs = [e for e in history if e.get("source") == "mqtt"]
        assert len(mqtt_runs) >= 2
        # The state topic follows: Home Assistant sees the new level.
        await wait_for(
            lambda: any(
                t == light["brightness_state_topic"] and json.loads(p).get("core:LightIntensityState") == 40
                for t, p, _ in home.messages
            ),
            timeout=10,
        )
        # Bad payloads: out of range, not a word the topic knows, not JSON, an unknown command, a foreign topic.
        before = len((await box.api.get("/history/executions")).json())
        base = light["command_topic"].rsplit("/set/", 1)[0]
        for topic, payload in [
            (light["brightness_command_topic"], "400"),
            (light["command_topic"], "BANANA"),
            (light["brightness_command_topic"], "nan"),
            (f"{base}/command", "{not json"),
            (f"{base}/command", '{"name": "selfDestruct"}'),
            (f"{base}/command", '{"name": "setIntensity", "parameters": ["x"]}'),
            (f"{base}/set/nothing", "1"),
            (light["command_topic"], b"\xff\xfe"),
        ]:
            await home.publish(topic, payload)
        # A raw End-User API command on the device's command topic works.
        await home.publish(f"{base}/command", json.dumps({"name": "setIntensity", "parameters": [70]}))
        assert await wait_for(lambda: _equals(box.state(url, "core:LightIntensityState"), 70), timeout=10)
        after = (await box.api.get("/history/executions")).json()
        assert len(after) == before + 1  # only the good one ran
        output = "".join(box.proc.output)
        assert (
            output.count("MQTT bridge: bad payload") + output.count("refused") + output.count("no such command topic")
            >= 7
        )
        assert box.proc.proc is not None and box.proc.proc.poll() is None
    finally:
        await home.stop()


async def _equals(value: Any, expected: Any) -> bool:
    return await value == expected


async def test_home_assistant_online_makes_the_bridge_announce_again(box: GatewayClient, broker: Mosquitto) -> None:
    await configs(broker.port, DEMO_DEVICES)
    home = await HomeAssistant(broker.port).start()
    try:
        await asyncio.sleep(0.3)
        assert home.live_configs() == []
        await home.publish("homeassistant/status", "online")
        announced = await wait_for(
            lambda: len(set(home.live_configs())) >= DEMO_DEVICES and home.live_configs(), timeout=10
        )
        assert len(set(announced)) == DEMO_DEVICES
    finally:
        await home.stop()


async def test_removed_device_loses_its_config_even_when_removed_while_the_broker_was_away(
    tmp_path: Path, box: GatewayClient, broker: Mosquitto
) -> None:
    found = await configs(broker.port, DEMO_DEVICES)
    plug = box.url("9")
    lamp = box.url("10")
    assert (await box.api.delete(f"/setup/devices/{quote(plug, safe='')}")).status_code == 204
    after = await wait_for(lambda: _fewer(broker.port, DEMO_DEVICES - 1), timeout=10)
    assert {c["device"]["name"] for c in after.values()} == {c["device"]["name"] for c in found.values()} - {
        "Coffee machine plug"
    }
    # The broker goes away; a device is removed meanwhile; the broker comes back with its retained configs.
    await broker.stop()
    assert (await box.api.delete(f"/setup/devices/{quote(lamp, safe='')}")).status_code == 204
    await broker.start()
    final = await wait_for(lambda: _fewer(broker.port, DEMO_DEVICES - 2), timeout=20)
    assert "Kitchen light" not in {c["device"]["name"] for c in final.values()}


async def _fewer(port: int, expected: int) -> dict[str, dict[str, Any]] | None:
    found = await retained(port, DISCOVERY, quiet=0.4)
    return {t: json.loads(p) for t, p in found.items()} if len(found) == expected else None


async def test_restarts_of_broker_and_gateway_leave_one_config_per_device(
    tmp_path: Path, box: GatewayClient, broker: Mosquitto
) -> None:
    first = await configs(broker.port, DEMO_DEVICES)
    await broker.stop()
    await broker.start()
    await asyncio.sleep(1.0)  # the bridge reconnects and announces again over the retained configs
    again = await configs(broker.port, DEMO_DEVICES)
    assert set(again) == set(first)
    await asyncio.to_thread(box.proc.stop)
    await asyncio.to_thread(box.proc.start, 30)
    await asyncio.sleep(1.0)
    after_restart = await configs(broker.port, DEMO_DEVICES)
    assert set(after_restart) == set(first)  # the same object ids: nothing new, nothing twice
    assert {json.dumps(c, sort_keys=True) for c in after_restart.values()} == {
        json.dumps(c, sort_keys=True) for c in first.values()
    }
    bridge_state = await retained(broker.port, "hearth/+/bridge/state", quiet=0.3)
    assert list(bridge_state.values()) == [b"online"]


async def test_a_flood_on_the_command_topics_is_cut_to_the_rate_limit(tmp_path: Path, broker: Mosquitto) -> None:
    env = bridge_env(broker.port) | {"HEARTH_BRIDGE__COMMANDS_PER_S": "0.1", "HEARTH_BRIDGE__COMMANDS_BURST": "3"}
    box = GatewayClient(HearthProcess(tmp_path / "data", env=env), "virtual")
    await box.open()
    try:
        found = await configs(broker.port, DEMO_DEVICES)
        plug = component(next(c for c in found.values() if c["device"]["name"] == "Coffee machine plug"), "switch")
        before = len((await box.api.get("/history/executions")).json())
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="test-flood") as client:
            for i in range(200):
                await client.publish(plug["command_topic"], "ON" if i % 2 else "OFF", qos=1)
        await asyncio.sleep(1.0)
        ran = len((await box.api.get("/history/executions")).json()) - before
        assert ran == 3  # the burst; at 0.1/s no more within the test
        output = "".join(box.proc.output)
        assert "too many commands per second" in output
        assert output.count("too many commands per second") <= 2  # counted, not one log line each
        assert box.proc.proc is not None and box.proc.proc.poll() is None
    finally:
        await box.close()


def by_name(found: dict[str, dict[str, Any]], name: str, platform: str) -> dict[str, Any]:
    return component(next(c for c in found.values() if c["device"]["name"] == name), platform)


def heard(home: HomeAssistant, topic: str) -> list[bytes]:
    return [p for t, p, _ in home.messages if t == topic and p]


async def test_covers_as_home_assistant_sees_them_tilt_and_motion(box: GatewayClient, broker: Mosquitto) -> None:
    found = await configs(broker.port, DEMO_DEVICES)
    home = await HomeAssistant(broker.port).start()
    try:
        # Tilt: Home Assistant's "open tilt" opens the slats (our 0), and it then shows the tilt at 100 (open).
        blind = by_name(found, "Bedroom blind", "cover")
        blind_url = box.url("20")
        await home.publish(blind["tilt_command_topic"], cover_tilt_command(blind, opening=False))
        assert await wait_for(lambda: _equals(box.state(blind_url, "core:SlateOrientationState"), 100), timeout=10)
        await home.publish(blind["tilt_command_topic"], cover_tilt_command(blind, 70))
        assert await wait_for(lambda: _equals(box.state(blind_url, "core:SlateOrientationState"), 30), timeout=10)
        assert await wait_for(
            lambda: any(cover_tilt(blind, p) == 70 for p in heard(home, blind["tilt_status_topic"])), timeout=10
        )
        # Motion: a shutter and a garage door (no position) show opening, then open; closing, then closed.
        for name, address in (("Living room bay window", "2"), ("Garage door", "17")):
            cover = by_name(found, name, "cover")
            for word, moving, rest in (("OPEN", "opening", "open"), ("CLOSE", "closing", "closed")):
                home.messages.clear()
                await home.publish(cover["command_topic"], word)
                seen: list[str | None] = []

                async def arrived(
                    cover: dict[str, Any] = cover, rest: str = rest, seen: list[str | None] = seen
                ) -> bool:
                    seen[:] = [cover_state(cover, p) for p in heard(home, cover["state_topic"])]
                    return bool(seen) and seen[-1] == rest

                assert await wait_for(arrived, timeout=10), (name, word, seen)
                assert moving in seen, (name, word, seen)
                assert seen.index(moving) < len(seen) - 1
                assert await box.state(box.url(address), "core:MovingState") is False
    finally:
        await home.stop()


async def test_a_colour_on_an_off_light_and_a_thermostat_as_home_assistant_drives_them(
    box: GatewayClient, broker: Mosquitto
) -> None:
    found = await configs(broker.port, DEMO_DEVICES)
    home = await HomeAssistant(broker.port).start()
    try:
        lamp, lamp_url = by_name(found, "Living room lamp", "light"), box.url("4")
        await home.publish(lamp["command_topic"], "OFF")
        assert await wait_for(lambda: _equals(box.state(lamp_url, "core:OnOffState"), "off"), timeout=10)
        await box.run(lamp_url, "setIntensity", 0)
        # Home Assistant sends a colour alone (light.mqtt: "r,g,b" on rgb_command_topic): the lamp comes on, lit.
        await home.publish(lamp["rgb_command_topic"], "255,0,10")
        assert await wait_for(lambda: _equals(box.state(lamp_url, "core:OnOffState"), "on"), timeout=10)
        assert await box.state(lamp_url, "core:LightIntensityState") == 100
        assert await wait_for(
            lambda: any(
                render(lamp["brightness_value_template"], p) == "100"
                and render(lamp["rgb_value_template"], p) == "255,0,10"
                and render(lamp["color_mode_value_template"], p) == "rgb"
                for p in heard(home, lamp["state_topic"])
            ),
            timeout=10,
        )
        await home.publish(lamp["color_temp_command_topic"], "3000")
        assert await wait_for(
            lambda: any(
                render(lamp["color_mode_value_template"], p) == "color_temp" for p in heard(home, lamp["state_topic"])
            ),
            timeout=10,
        )

        heating, heating_url = by_name(found, "Living room heating", "climate"), box.url("8")
        topic = heating["mode_state_topic"]
        for word, level, mode in (("off", "off", "off"), ("heat", "comfort", "heat")):
            home.messages.clear()
            await home.publish(heating["mode_command_topic"], word)
            assert await wait_for(
                lambda level=level: _equals(box.state(heating_url, "core:TargetHeatingLevelState"), level), timeout=10
            )
            assert await wait_for(
                lambda mode=mode: any(climate_value(heating, "mode", p) == mode for p in heard(home, topic)), timeout=10
            )
        last = heard(home, topic)[-1]
        action = climate_value(heating, "action", last)
        assert action in CLIMATE_ACTIONS - {"off"}
        current = float(climate_value(heating, "current_temperature", last))
        assert current == await box.state(heating_url, "core:TemperatureState")
        target = current + 2 if current + 2 <= 30 else 5
        await home.publish(heating["temperature_command_topic"], str(target))
        assert await wait_for(
            lambda: any(
                float(climate_value(heating, "temperature", p)) == target
                and climate_value(heating, "action", p) == ("heating" if target > current else "idle")
                for p in heard(home, topic)
            ),
            timeout=10,
        )
    finally:
        await home.stop()
