"""A well-formed request for each seed operation, with real ids of the demo house.

Path variables take the id of a real object of their kind (the gateway, a device and one of its states, an
action group, a place, a zone, a trigger, an execution, an event listener...). Operations that destroy what
they name get objects made for them (a second action group, zone, place, condition group, trigger, a device
nobody else uses), and run last, so that every other operation sees the house whole. Bodies are the seed's
example bodies, except where the example's placeholders ("a command name") could only be refused: there the
body is the same shape with real values. A variable with no object of its kind here keeps the seed's example.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.conformance.seed_operations import Operation, gateway_operations


@dataclass
class HouseIds:
    """Real ids gathered from the running gateway before the sweep."""

    gateway_id: str
    setup_oid: str
    device_url: str  # an actuator: commands, states, attributes
    state_name: str
    state_type: int
    state_value: str
    attribute_name: str
    controllable_name: str
    spare_device_url: str  # deleted by _deleteCascade
    action_group_oid: str
    spare_action_group_oid: str  # deleted
    condition_group_oid: str
    spare_condition_group_oid: str  # deleted
    place_oid: str
    parent_place_oid: str
    spare_place_oid: str  # deleted
    zone_oid: str
    spare_zone_oid: str  # deleted
    trigger_type: str
    trigger_oid: str
    spare_trigger_oid: str  # deleted
    exec_id: str  # a running execution (cancelled at the end)
    listener_id: str
    scheduled_trigger_id: str = ""  # a run scheduled for tomorrow (/exec/schedule)
    trigger_body: dict[str, Any] = field(default_factory=dict)  # the seed's example trigger, made real
    extra: dict[str, str] = field(default_factory=dict)


# Operations that remove what they name: they get the spare objects and run after everything else.
DESTRUCTIVE = {
    "DELETE /actionGroups/{oid}",
    "DELETE /conditionGroups/{oid}",
    "DELETE /setup/places/{placeOID}",
    "DELETE /setup/zones/{zoneOID}",
    "DELETE /triggers/{type}/{triggerOID}",
    "POST /setup/devices/{deviceURL}/_deleteCascade",
    "POST /events/{listenerId}/unregister",
    "DELETE /exec/current/setup/{execId}",
    "DELETE /exec/current/setup",
    "DELETE /history",
    "POST /config/{gatewayId}/zwave/reset",
    "POST /config/{gatewayId}/zigbee/leaveNetwork",
}


def order(operations: list[Operation]) -> list[Operation]:
    """Reads first, then writes, then what destroys: each in the seed's order."""

    def rank(op: Operation) -> int:
        if op.key in DESTRUCTIVE:
            return 3 if op.key != "POST /events/{listenerId}/unregister" else 4
        return 0 if op.method == "GET" else (2 if op.method == "DELETE" else 1)

    return sorted(operations, key=lambda op: (rank(op), op.line))


def _now_ms() -> int:
    return int(time.time() * 1000)


def path_values(op: Operation, ids: HouseIds) -> dict[str, str]:
    spare = op.key in DESTRUCTIVE
    today = time.gmtime()
    oid = ids.action_group_oid
    if op.path.startswith("/actionGroups"):
        oid = ids.spare_action_group_oid if spare else ids.action_group_oid
    elif op.path.startswith("/conditionGroups"):
        oid = ids.spare_condition_group_oid if spare else ids.condition_group_oid
    values = {
        "gatewayId": ids.gateway_id,
        "sourceGatewayId": ids.gateway_id,
        "targetGatewayId": ids.gateway_id,
        "setupOID": ids.setup_oid,
        "deviceURL": quote(ids.spare_device_url if spare else ids.device_url, safe=""),
        "name": ids.attribute_name if "/attributes/{name}" in op.path else ids.state_name,
        "stateType": str(ids.state_type),
        "stateValue": ids.state_value,
        "controllableName": quote(ids.controllable_name, safe=""),
        "newControllableName": quote(ids.controllable_name, safe=""),
        "oid": oid,
        "actionGroupOID": ids.action_group_oid,
        "placeOID": ids.spare_place_oid if spare else ids.place_oid,
        "parentPlaceOID": ids.parent_place_oid,
        "newParentPlaceOID": ids.parent_place_oid,
        "zoneOID": ids.spare_zone_oid if spare else ids.zone_oid,
        "sourceZoneOID": ids.zone_oid,
        "targetZoneOID": ids.spare_zone_oid,
        "type": ids.trigger_type if op.path.startswith("/triggers") else op.path_examples.get("type", "1"),
        "triggerOID": ids.spare_trigger_oid if spare else ids.trigger_oid,
        "triggerId": ids.scheduled_trigger_id,
        "execId": ids.exec_id,
        "listenerId": ids.listener_id,
        "from": str(_now_ms() - 86_400_000),
        "to": str(_now_ms()),
        "startDate": str(_now_ms() - 86_400_000),
        "endDate": str(_now_ms() + 7 * 86_400_000),
        "utcTimestamp": str(_now_ms() + 3_600_000),
        "year": str(today.tm_year),
        "month": str(today.tm_mon),
        "day": str(today.tm_mday),
        "label": "Conformance label",
        "profileName": "RollerShutter",
        "templateId": "serialNumber",
        "value": "conformance",
        "protocolType": "rts",
        "deviceAddress": "123456",
        "deviceType": "1",
        "deviceLabel": "Conformance device",
    }
    values.update(ids.extra)
    return values


# A rename answers {"execId"} of the execution that renames the device itself (updateDeviceName=true): these
# run on a device whose controllable has setName (a Z-Wave garage door of the demo house).
RENAMES = {"PUT /setup/devices/{deviceURL}/{label}", "PUT /setup/devices/{deviceURL}/{label}/{category}"}
# The state history routes read a thermometer (drivers/hearth_virtual/house.py: "Living room temperature").
THERMOMETER = "5"


def url_of(op: Operation, ids: HouseIds) -> str:
    values = path_values(op, ids)
    if op.section == "Device State History":
        # A measurement with a unit (the seed's answers carry deviceUnit): the demo house's living-room thermometer.
        values["deviceURL"] = quote(f"virtual://{ids.gateway_id}/{THERMOMETER}", safe="")
        values["name"] = "core:TemperatureState"
    if op.key in RENAMES:  # a garage door; the category (of a measurement) goes to the electricity meter
        address = "13" if "{category}" in op.path else "17"
        values["deviceURL"] = quote(f"virtual://{ids.gateway_id}/{address}", safe="")
        values["category"] = "electric"
    path = op.path
    for name, example in op.path_examples.items():
        path = path.replace("{" + name + "}", values.get(name, quote(example, safe="")))
    return path


def params_of(op: Operation) -> dict[str, str]:
    # Manufacturer data is documented in the example answers, and answered only when asked for.
    if op.key in RENAMES:
        return {"updateDeviceName": "true"}
    return {"withManufacturerData": "true"} if "withManufacturerData" in op.request_params else {}


def body_of(op: Operation, ids: HouseIds) -> Any:
    real = real_bodies(ids).get(op.key)
    if real is not None:
        return real
    return op.request_body


def seed_operation(key: str) -> Operation:
    [op] = [op for op in gateway_operations() if op.key == key]
    return op


def seed_shaped_group(label: str, device_url: str) -> dict[str, Any]:
    """The seed's example action group (every documented field set), on a real device with a real command."""
    group = copy.deepcopy(seed_operation("POST /actionGroups").request_body)
    group["label"] = label
    [action] = group["actions"]
    [command] = action["commands"]
    action["deviceURL"] = device_url
    command.update(name="setClosure", parameters=[50], sensitiveParametersIndexes=[0])
    return dict(group)


def real_bodies(ids: HouseIds) -> dict[str, Any]:
    """The seed's example bodies with real values where its placeholders could only be refused."""
    group = seed_shaped_group("conformance", ids.device_url)
    actions = group["actions"]
    execution = {"label": "conformance", "actions": actions}
    condition = {
        "label": "conformance condition",
        "conditions": [
            {
                "device": {
                    "deviceURL": ids.device_url,
                    "stateName": ids.state_name,
                    "operator": "EQUALS",
                    "value": ids.state_value,
                }
            }
        ],
    }
    return {
        "POST /actionGroups": group,
        "PUT /actionGroups": dict(group, oid=ids.action_group_oid, label="conformance group (renamed)"),
        "POST /exec/apply": execution,
        "POST /exec/apply/geolocated": execution,
        "POST /exec/apply/highPriority": execution,
        "POST /exec/apply/internal": execution,
        "POST /exec/optimizeWithProtocolGroups": group,
        "POST /conditionGroups": condition,
        "POST /triggers": ids.trigger_body,
        "POST /setup/devices/states/growingIndexes": [
            {
                "deviceUrl": f"virtual://{ids.gateway_id}/13",
                "stateName": "core:ElectricEnergyConsumptionState",
                "from": 0,
                "to": int(time.time() * 1000),
            }
        ],
        "POST /setup/automation": [{"actionGroupOperation": {"type": "READ", "referenceOID": ids.action_group_oid}}],
        "PUT /conditionGroups": {**condition, "oid": ids.condition_group_oid},
        "POST /setup/places/{parentPlaceOID}/subPlaces": {"label": "Conformance room", "type": 3},
        "PUT /setup/places/{placeOID}": {"label": "Conformance room (renamed)"},
        "POST /setup/zones": {"label": "Conformance zone", "type": 0, "items": []},
        "PUT /setup/zones/{zoneOID}": {"label": "Conformance zone (renamed)", "type": 0, "items": []},
        "POST /setup/zones/{zoneOID}/items": [{"itemType": "device", "deviceURL": ids.device_url}],
        "POST /setup/zones/{zoneOID}/items/_delete": [{"itemType": "device", "deviceURL": ids.device_url}],
        "PUT /setup/devices/{deviceURL}/metadata": {"metadata": "conformance"},
        "PUT /setup/metadata": {"metadata": "conformance"},
        "POST /setup/devices/{deviceURL}/_deleteCascade": {"deleteAllSubSystems": True},
        # The seed's criteria, real values, every part of the answer asked for.
        "POST /reference/devices/search": {
            "uiClasses": ["RollerShutter"],
            "withManufacturerReferences": True,
            "withStates": True,
            "withCommands": True,
            "withAttributes": True,
        },
    }
