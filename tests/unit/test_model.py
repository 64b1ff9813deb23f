"""deviceURL, DataType coercion and the action-group wire model: clear errors that name the fault."""

from __future__ import annotations

import pytest

from hearth.model.action import parse_action_group
from hearth.model.datatype import DataType, InvalidValue, coerce_value
from hearth.model.device_url import DeviceURL, InvalidDeviceURL
from hearth.model.errors import ApiError
from hearth.model.events import DeviceStateChangedEvent, ExecutionStateChangedEvent, ZoneCreatedEvent


@pytest.mark.parametrize(
    "text",
    [
        "zigbee://0201-4432-1174/00:0d:6f:00:0b:12:34:56#1",
        "rts://0201-4432-1174/16711680",
        "zwave://0201-4432-1174/5#2",
        "virtual://1234-5678-9012/3",
    ],
)
def test_device_url_round_trips(text: str) -> None:
    assert str(DeviceURL.parse(text)) == text


def test_device_url_parts() -> None:
    url = DeviceURL.parse("zwave://0201-4432-1174/5#2")
    assert (url.protocol, url.gateway_id, url.address, url.subsystem) == ("zwave", "0201-4432-1174", "5", 2)
    assert str(url.base) == "zwave://0201-4432-1174/5"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("zigbee:/0201-4432-1174/1", "missing '://'"),
        ("Zigbee://0201-4432-1174/1", "protocol"),
        ("zigbee://0201-4432/1", "gateway id"),
        ("zigbee://0201-4432-1174", "missing '/'"),
        ("zigbee://0201-4432-1174/", "device address"),
        ("zigbee://0201-4432-1174/1#x", "subsystem"),
        ("zigbee://0201-4432-1174/a b", "device address"),
    ],
)
def test_device_url_errors_name_the_part(text: str, reason: str) -> None:
    with pytest.raises(InvalidDeviceURL, match=reason):
        DeviceURL.parse(text)


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        (DataType.INTEGER, "42", 42),
        (DataType.INTEGER, 42.0, 42),
        (DataType.FLOAT, "1.5", 1.5),
        (DataType.BOOLEAN, "true", True),
        (DataType.BOOLEAN, "off", False),
        (DataType.STRING, 5, "5"),
        (DataType.JSON_ARRAY, "[1, 2]", [1, 2]),
        (DataType.JSON_OBJECT, {"a": 1}, {"a": 1}),
    ],
)
def test_coerce_value(dtype: DataType, value: object, expected: object) -> None:
    assert coerce_value(dtype, value) == expected


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        (DataType.INTEGER, "4.5"),
        (DataType.INTEGER, True),
        (DataType.FLOAT, "nan"),
        (DataType.FLOAT, "x"),
        (DataType.BOOLEAN, "maybe"),
        (DataType.JSON_OBJECT, "[1]"),
        (DataType.STRING, None),
    ],
)
def test_coerce_value_refuses(dtype: DataType, value: object) -> None:
    with pytest.raises(InvalidValue):
        coerce_value(dtype, value)


def test_event_wire_names() -> None:
    assert DeviceStateChangedEvent(timestamp=1, device_url="u", device_states=[]).to_json() == {
        "name": "DeviceStateChangedEvent",
        "timestamp": 1,
        "deviceURL": "u",
        "deviceStates": [],
    }
    zone = ZoneCreatedEvent(timestamp=1, zone_oid="z", type=0, label="l", device_urls=["u"], place_oids=["p"])
    assert set(zone.to_json()) == {"name", "timestamp", "zoneOID", "type", "label", "deviceURLs", "placeOIDs"}
    changed = ExecutionStateChangedEvent(
        timestamp=1, exec_id="e", old_state="A", new_state="B", owner_key="o", type=1, sub_type=1, time_to_next_state=-1
    ).to_json()
    assert {"execId", "oldState", "newState", "ownerKey", "subType", "timeToNextState"} <= set(changed)


def test_action_group_accepts_pyoverkiz_null_parameters() -> None:
    group = parse_action_group(
        {
            "label": "x",
            "actions": [{"deviceURL": "virtual://1234-5678-9012/3", "commands": [{"name": "on", "parameters": None}]}],
        }
    )
    assert group.actions[0].commands[0].parameters == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"actions": []}, "actions"),
        ({"actions": [{"commands": [{"name": "on"}]}]}, "deviceURL"),
        ({"actions": [{"deviceURL": "u", "commands": [{"name": "on", "delay": -1}]}]}, "delay"),
        ([], "expected a JSON object"),
    ],
)
def test_action_group_errors_name_the_field(body: object, field: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_action_group(body)
    assert err.value.status == 400 and field in err.value.message


def test_protocol_prefix_takes_ascii_numbers_only() -> None:
    from hearth.model.protocols import PREFIXES, protocol_prefix

    assert protocol_prefix("1") == PREFIXES[0]
    assert protocol_prefix("zigbee") == "zigbee"
    for odd in ("²", "١", "0", str(len(PREFIXES) + 1), "", "zig"):
        assert protocol_prefix(odd) is None


def test_a_json_parameter_with_bounds_or_words_takes_a_number_within_them_or_one_of_them() -> None:
    from hearth.model.definition import CommandRejected, ParamSpec

    free = ParamSpec("anything", "json")
    assert free.check("c", 0, {"a": [1]}) == {"a": [1]}
    held = ParamSpec("temperatureOrMode", "json", min=5, max=30, values=("eco", "comfort"))
    assert held.check("c", 0, 21.5) == 21.5 and held.check("c", 0, "eco") == "eco"
    for bad in (4.9, 31, float("nan"), float("inf"), True, "sauna", None, [20]):
        with pytest.raises(CommandRejected):
            held.check("c", 0, bad)
