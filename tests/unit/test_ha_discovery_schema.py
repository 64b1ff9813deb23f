"""The test-side validator of Home Assistant MQTT discovery payloads, checked on the docs' own examples.

The valid payloads are the examples printed in home-assistant.io's source/_integrations/mqtt.markdown and
sensor.mqtt.markdown; each broken one changes a single thing, so the one error it must yield is known.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.peers.ha_discovery import (
    BIRTH_TOPIC,
    DEVICE_ABBREVIATIONS,
    OPTION_ABBREVIATIONS,
    DiscoveryTopic,
    expand_abbreviations,
    parse_discovery_topic,
    validate_config,
    validate_device_discovery,
    validate_discovery_message,
)

# mqtt.markdown, "Device discovery payload" (the templates' {% raw %} markers left out).
DOCS_DEVICE_DISCOVERY: dict[str, Any] = {
    "dev": {
        "ids": "ea334450945afc",
        "name": "Kitchen",
        "mf": "Bla electronics",
        "mdl": "xya",
        "sw": "1.0",
        "sn": "ea334450945afc",
        "hw": "1.0rev2",
    },
    "o": {"name": "bla2mqtt", "sw": "2.1", "url": "https://bla2mqtt.example.com/support"},
    "cmps": {
        "some_unique_component_id1": {
            "p": "sensor",
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "value_template": "{{ value_json.temperature}}",
            "unique_id": "temp01ae_t",
        },
        "some_unique_id2": {
            "p": "sensor",
            "device_class": "humidity",
            "unit_of_measurement": "%",
            "value_template": "{{ value_json.humidity}}",
            "unique_id": "temp01ae_h",
        },
    },
    "state_topic": "sensorBedroom/state",
    "qos": 2,
}
# mqtt.markdown, "Single component discovery payload".
DOCS_SINGLE_SENSOR: dict[str, Any] = {
    "dev": {
        "ids": "ea334450945afc",
        "name": "Kitchen",
        "mf": "Bla electronics",
        "mdl": "xya",
        "sw": "1.0",
        "sn": "ea334450945afc",
        "hw": "1.0rev2",
    },
    "o": {"name": "bla2mqtt", "sw": "2.1", "url": "https://bla2mqtt.example.com/support"},
    "device_class": "temperature",
    "unit_of_measurement": "°C",
    "value_template": "{{ value_json.temperature}}",
    "unique_id": "temp01ae_t",
    "state_topic": "sensorBedroom/state",
    "qos": 2,
}
# mqtt.markdown, "Sensors" (configuration payload no1).
DOCS_BEDROOM_TEMPERATURE: dict[str, Any] = {
    "device_class": "temperature",
    "state_topic": "homeassistant/sensor/sensorBedroom/state",
    "unit_of_measurement": "°C",
    "value_template": "{{ value_json.temperature}}",
    "unique_id": "temp01ae",
    "device": {
        "identifiers": ["bedroom01ae"],
        "name": "Bedroom",
        "manufacturer": "Example sensors Ltd.",
        "model": "Example Sensor",
        "model_id": "K9",
        "serial_number": "12AE3010545",
        "hw_version": "1.01a",
        "sw_version": "2024.1.0",
        "configuration_url": "https://example.com/sensor_portal/config",
    },
}
# sensor.mqtt.markdown, "Processing Unix EPOCH timestamps" (discovery variant).
DOCS_TIMESTAMP_SENSOR: dict[str, Any] = {
    "name": "turned on",
    "state_topic": "pump/timestamp_on",
    "device_class": "timestamp",
    "value_template": "{{ as_datetime(value) }}",
    "unique_id": "hp_1231232_ts_on",
    "device": {"name": "Heat pump", "identifiers": ["hp_1231232"]},
}
# mqtt.markdown, "Motion detection (binary sensor)".
DOCS_MOTION: dict[str, Any] = {
    "name": None,
    "device_class": "motion",
    "state_topic": "homeassistant/binary_sensor/garden/state",
    "unique_id": "motion01ad",
    "device": {"identifiers": ["01ad"], "name": "Garden"},
}
# mqtt.markdown, "Entities with command topics".
DOCS_IRRIGATION: dict[str, Any] = {
    "name": "Irrigation",
    "command_topic": "homeassistant/switch/irrigation/set",
    "state_topic": "homeassistant/switch/irrigation/state",
    "unique_id": "irr01ad",
    "device": {"identifiers": ["garden01ad"], "name": "Garden"},
}
# mqtt.markdown, "Using abbreviations and base topic".
DOCS_ABBREVIATED_SWITCH: dict[str, Any] = {
    "~": "homeassistant/switch/irrigation",
    "name": "garden",
    "cmd_t": "~/set",
    "stat_t": "~/state",
}
# mqtt.markdown, "Example with using abbreviated Device and Origin info in discovery messages".
DOCS_ABBREVIATED_LIGHT: dict[str, Any] = {
    "~": "homeassistant/light/kitchen",
    "name": None,
    "uniq_id": "kitchen_light",
    "cmd_t": "~/set",
    "stat_t": "~/state",
    "schema": "json",
    "dev": {
        "ids": "ea334450945afc",
        "name": "Kitchen",
        "mf": "Bla electronics",
        "mdl": "xya",
        "mdl_id": "ABC123",
        "sw": "1.0",
        "sn": "ea334450945afc",
        "hw": "1.0rev2",
    },
    "o": {"name": "bla2mqtt", "sw": "2.1", "url": "https://bla2mqtt.example.com/support"},
}


def changed(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy with top-level keys set (a value of ... deletes the key)."""
    out = copy.deepcopy(payload)
    for key, value in changes.items():
        if value is ...:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def one_error(errors: list[str], *fragments: str) -> None:
    assert len(errors) == 1, errors
    assert all(f in errors[0] for f in fragments), errors


# --- the docs' examples are valid --------------------------------------------------------------------------------


def test_the_docs_device_discovery_example_is_valid() -> None:
    # Its sensors carry no state_topic of their own: they inherit the shared one at the root.
    assert validate_device_discovery(DOCS_DEVICE_DISCOVERY) == []


@pytest.mark.parametrize(
    ("component", "payload"),
    [
        ("sensor", DOCS_SINGLE_SENSOR),
        ("sensor", DOCS_BEDROOM_TEMPERATURE),
        ("sensor", DOCS_TIMESTAMP_SENSOR),
        ("binary_sensor", DOCS_MOTION),
        ("switch", DOCS_IRRIGATION),
        ("switch", DOCS_ABBREVIATED_SWITCH),
        ("light", DOCS_ABBREVIATED_LIGHT),
    ],
)
def test_the_docs_single_component_examples_are_valid(component: str, payload: dict[str, Any]) -> None:
    assert validate_config(component, payload) == []


def test_a_whole_message_is_checked_by_its_topic() -> None:
    assert (
        validate_discovery_message(
            "homeassistant/device/ea334450945afc/config", json.dumps(DOCS_DEVICE_DISCOVERY).encode()
        )
        == []
    )
    assert (
        validate_discovery_message("homeassistant/switch/irrigation/config", json.dumps(DOCS_ABBREVIATED_SWITCH)) == []
    )
    # An empty payload removes what the topic discovered.
    assert validate_discovery_message("homeassistant/sensor/sensorBedroomT/config", b"") == []


def test_removing_one_component_needs_only_its_platform() -> None:
    # mqtt.markdown: a component config of just `p` removes that component from the device.
    payload = copy.deepcopy(DOCS_DEVICE_DISCOVERY)
    payload["cmps"]["some_unique_id2"] = {"p": "sensor"}
    assert validate_device_discovery(payload) == []


def test_abbreviations_expand_options_device_origin_and_availability() -> None:
    expanded = expand_abbreviations(
        {
            "stat_t": "a/b",
            "dev": {"ids": "x", "mf": "m"},
            "o": {"url": "u"},
            "avty": [{"t": "a/avail", "pl_avail": "up"}],
        }
    )
    assert expanded == {
        "state_topic": "a/b",
        "device": {"identifiers": "x", "manufacturer": "m"},
        "origin": {"support_url": "u"},
        "availability": [{"topic": "a/avail", "payload_available": "up"}],
    }
    assert OPTION_ABBREVIATIONS["cmps"] == "components" and OPTION_ABBREVIATIONS["p"] == "platform"
    assert DEVICE_ABBREVIATIONS["sn"] == "serial_number"


def test_the_base_topic_is_substituted_before_topics_are_checked() -> None:
    # "~/s+t" is a wildcard only once "~" is replaced; a leading or trailing "~" is the base.
    one_error(validate_config("switch", changed(DOCS_ABBREVIATED_SWITCH, cmd_t="~/+")), "command_topic", "wildcard")
    assert validate_config("switch", changed(DOCS_ABBREVIATED_SWITCH, cmd_t="set/~")) == []


# --- broken payloads each yield their error ---------------------------------------------------------------------


def test_an_unknown_key_is_an_error() -> None:
    one_error(
        validate_config("sensor", changed(DOCS_BEDROOM_TEMPERATURE, stat_topic="x/y")), "stat_topic", "unknown option"
    )


def test_a_switch_without_command_topic_is_an_error() -> None:
    one_error(validate_config("switch", changed(DOCS_IRRIGATION, command_topic=...)), "command_topic", "required")


def test_a_device_class_outside_the_documented_list_is_an_error() -> None:
    one_error(
        validate_config("sensor", changed(DOCS_BEDROOM_TEMPERATURE, device_class="temp")), "device_class", "'temp'"
    )
    one_error(validate_config("binary_sensor", changed(DOCS_MOTION, device_class="temperature")), "device_class")
    one_error(validate_config("cover", {"command_topic": "c/set", "device_class": "roller"}), "device_class")


def test_a_wildcard_in_a_command_topic_is_an_error() -> None:
    one_error(
        validate_config("switch", changed(DOCS_IRRIGATION, command_topic="homeassistant/switch/#")),
        "command_topic",
        "wildcard",
    )
    one_error(
        validate_config("cover", {"command_topic": "c/set", "set_position_topic": "c/+/pos"}),
        "set_position_topic",
        "wildcard",
    )


def test_device_discovery_without_origin_is_an_error() -> None:
    one_error(validate_device_discovery(changed(DOCS_DEVICE_DISCOVERY, o=...)), "origin", "required")
    one_error(validate_device_discovery(changed(DOCS_DEVICE_DISCOVERY, o={"sw": "2.1"})), "origin", "'name'")


def test_a_component_without_platform_is_an_error() -> None:
    payload = copy.deepcopy(DOCS_DEVICE_DISCOVERY)
    del payload["cmps"]["some_unique_id2"]["p"]
    one_error(validate_device_discovery(payload), "some_unique_id2", "platform")


def test_device_discovery_structure_errors() -> None:
    one_error(validate_device_discovery(changed(DOCS_DEVICE_DISCOVERY, dev=...)), "device", "required")
    one_error(validate_device_discovery(changed(DOCS_DEVICE_DISCOVERY, cmps={})), "components")
    one_error(
        validate_device_discovery(changed(DOCS_DEVICE_DISCOVERY, unit_of_measurement="°C")),
        "unit_of_measurement",
        "shared",
    )
    payload = copy.deepcopy(DOCS_DEVICE_DISCOVERY)
    del payload["cmps"]["some_unique_id2"]["unique_id"]
    one_error(validate_device_discovery(payload), "some_unique_id2", "unique_id")
    payload = copy.deepcopy(DOCS_DEVICE_DISCOVERY)
    payload["cmps"]["some_unique_id2"]["p"] = "thermostat"
    one_error(validate_device_discovery(payload), "'thermostat'")


def test_a_device_needs_identifiers_or_connections_and_the_entity_a_unique_id() -> None:
    one_error(
        validate_config("sensor", changed(DOCS_BEDROOM_TEMPERATURE, device={"name": "Bedroom"})),
        "identifiers",
        "connections",
    )
    assert (
        validate_config(
            "sensor", changed(DOCS_BEDROOM_TEMPERATURE, device={"connections": [["mac", "02:5b:26:a8:dc:12"]]})
        )
        == []
    )
    one_error(validate_config("sensor", changed(DOCS_BEDROOM_TEMPERATURE, unique_id=...)), "unique_id")


@pytest.mark.parametrize(
    ("component", "payload", "fragment"),
    [
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, state_class="average"), "state_class"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, entity_category="config"), "entity_category"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, expire_after="60"), "expire_after"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, qos=3), "qos"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, force_update=1), "force_update"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, options=["a"], device_class="enum"), "unit_of_measurement"),
        (
            "sensor",
            changed(DOCS_BEDROOM_TEMPERATURE, availability=[{"t": "a/avail"}], avty_t="a/avail"),
            "availability_topic",
        ),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, availability=[{"payload_available": "up"}]), "topic"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, availability_mode="some"), "availability_mode"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, stat_t="x/y"), "given twice"),
        ("switch", changed(DOCS_IRRIGATION, state_topic=""), "state_topic"),
        ("light", changed(DOCS_ABBREVIATED_LIGHT, schema="neon"), "schema"),
        ("light", changed(DOCS_ABBREVIATED_LIGHT, supported_color_modes=["onoff", "rgb"]), "only value"),
        ("number", {"command_topic": "n/set", "mode": "dial"}, "mode"),
        ("number", {"command_topic": "n/set", "step": 0.0001}, "step"),
        ("select", {"command_topic": "s/set"}, "options"),
        ("climate", {"modes": ["off", "boost"]}, "modes"),
        ("climate", {"temperature_unit": "K"}, "temperature_unit"),
        ("lock", {"command_topic": "l/set", "device_class": "door"}, "device_class"),
        ("sensor", changed(DOCS_BEDROOM_TEMPERATURE, p="sensor"), "platform"),
    ],
)
def test_documented_rules(component: str, payload: dict[str, Any], fragment: str) -> None:
    one_error(validate_config(component, payload), fragment)


def test_a_platform_not_modelled_is_said_so_not_passed() -> None:
    one_error(validate_config("fan", {"command_topic": "f/set"}), "not modelled")
    one_error(validate_config("toaster", {}), "not a platform")


# --- topics ----------------------------------------------------------------------------------------------------


def test_discovery_topics_parse() -> None:
    assert parse_discovery_topic("homeassistant/binary_sensor/garden/config") == DiscoveryTopic(
        "homeassistant", "binary_sensor", None, "garden"
    )
    assert parse_discovery_topic("homeassistant/sensor/0AFFD2/bla2/config") == DiscoveryTopic(
        "homeassistant", "sensor", "0AFFD2", "bla2"
    )
    assert parse_discovery_topic("homeassistant/device/0AFFD2/config").component == "device"
    assert parse_discovery_topic("my/prefix/switch/irrigation/config", "my/prefix").object_id == "irrigation"
    assert BIRTH_TOPIC == "homeassistant/status"


@pytest.mark.parametrize(
    "topic",
    [
        "homeassistant/sensor/garden/state",  # not /config
        "homeassistant/sensor/config",  # no object_id
        "homeassistant/sensor/a/b/c/config",  # too many levels
        "homeassistant/thermostat/garden/config",  # not a component
        "homeassistant/sensor/gar.den/config",  # object_id outside [a-zA-Z0-9_-]
        "homeassistant/sensor/no de/garden/config",  # node_id outside [a-zA-Z0-9_-]
        "hass/sensor/garden/config",  # another prefix
    ],
)
def test_malformed_discovery_topics_are_refused(topic: str) -> None:
    with pytest.raises(ValueError):
        parse_discovery_topic(topic)
    assert validate_discovery_message(topic, b"{}") != []
