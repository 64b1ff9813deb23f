"""One pass over every operation of the seed against a running gateway, and the coverage it measures."""

from __future__ import annotations

import copy
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from tests.conformance import left_out, requests
from tests.conformance.requests import HouseIds
from tests.conformance.seed_operations import GATEWAY_SECTIONS, Operation
from tests.conformance.shapes import MISSING, PRESENT, UNVERIFIED, WRONG_TYPE, FieldResult, check, documented_fields
from tests.support.process import BASE_PATH

# What the gateway answers for a path no route matches (api/errors.py): not the same as a 404 for an unknown id,
# which names the object.
NO_ROUTE = {"errorCode": "UNKNOWN_OBJECT", "error": "Unknown object"}


@dataclass
class OperationResult:
    op: Operation
    status: int
    served: bool
    answer: Any = None
    fields: list[FieldResult] = field(default_factory=list)

    @property
    def checked(self) -> bool:
        """Its fields were checked: a documented body and a 2xx JSON answer."""
        return self.op.response_body is not None and 200 <= self.status < 300 and self.answer is not None


def gather_ids(client: httpx.Client, gateway_id: str) -> HouseIds:
    """Real ids of the demo house, and the objects the sweep needs (made through the API)."""

    def ok(method: str, path: str, body: Any = None) -> Any:
        response = client.request(method, path, json=body)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    setup = ok("GET", "/setup")
    # The seed's own example location (its placeholders are valid strings), at a real place: sun times exist.
    location = dict(
        requests.seed_operation("PUT /setup/location").request_body,
        latitude=48.8566,
        longitude=2.3522,
        timezone="Europe/Paris",
        country="FR",
        city="Paris",
    )
    ok("PUT", "/setup/location", location)
    device_url = f"virtual://{gateway_id}/2"  # a Zigbee roller shutter
    runner_url = f"virtual://{gateway_id}/24"  # a Z-Wave roller shutter: the long execution
    door_url = f"virtual://{gateway_id}/15"
    door_controllable = ok("GET", f"/setup/devices/{quote(door_url, safe='')}")["controllableName"]
    encoded = quote(device_url, safe="")
    state = ok("GET", f"/setup/devices/{encoded}/states/core:ClosureState")
    attributes = ok("GET", f"/setup/devices/{encoded}/attributes")
    controllable = ok("GET", f"/setup/devices/{encoded}")["controllableName"]

    def group(label: str) -> str:
        created = ok("POST", "/actionGroups", requests.seed_shaped_group(label, device_url))
        return str(created["actionGroupOID"])

    def condition_group(label: str) -> str:
        # The seed's example (a controllable condition), and a device condition beside it.
        body = copy.deepcopy(requests.seed_operation("POST /conditionGroups").request_body)
        body["label"] = label
        body["conditions"][0]["controllable"].update(
            stateName="core:ContactState", operator="EQUALS", value="closed", controllableNames=[door_controllable]
        )
        body["conditions"].append(
            {
                "device": {
                    "deviceURL": door_url,
                    "stateName": "core:ContactState",
                    "operator": "EQUALS",
                    "value": "closed",
                }
            }
        )
        return str(ok("POST", "/conditionGroups", body)["conditionGroupOID"])

    def trigger_body(label: str) -> dict[str, Any]:
        # The seed's example if-then trigger, on the door sensor, running a real command.
        body = copy.deepcopy(requests.seed_operation("POST /triggers").request_body)
        trigger = body["ifThenSetupTrigger"]
        trigger["label"] = label
        condition = trigger["rootConditionBlock"]["orBlock"]["subConditionBlocks"][0]["staticDeviceStateCondition"]
        condition.update(deviceURL=door_url, stateName="core:ContactState", operator="EQUALS", value1="open")
        for key in ("value2", "objectPath"):
            condition.pop(key)
        effect = trigger["effects"][0]["actionGroupEffect"]
        effect.pop("actionGroupOID")
        effect["localActionGroup"] = requests.seed_shaped_group(label, device_url)
        return dict(body)

    def trigger(label: str) -> str:
        return str(ok("POST", "/triggers", trigger_body(label))["setupTriggerOID"])

    def zone(label: str) -> str:
        body = dict(
            requests.seed_operation("POST /setup/zones").request_body,
            label=label,
            items=[{"itemType": "device", "deviceURL": device_url}],
        )
        return str(ok("POST", "/setup/zones", body)["zoneOID"])

    root = setup["rootPlace"]
    ground = root["subPlaces"][0]
    for place in (root, ground, ground["subPlaces"][0]):
        ok("PUT", f"/setup/places/{place['oid']}", {"label": place["label"], "metadata": "some metadata"})
    ok("PUT", f"/setup/devices/{encoded}/metadata", {"metadata": "some metadata"})
    ok("POST", "/setup/additionalInformation/serialNumber/0123456789")
    ok("PUT", "/setup/metadata", {"metadata": "some metadata"})
    spare_place = ok("POST", f"/setup/places/{ground['oid']}/subPlaces", {"label": "Spare room", "type": 3})
    action_group_oid = group("conformance group")
    # A stored action group, running for minutes (a full travel of the shutter): /exec/current shows it.
    ok("POST", "/exec/apply", {"label": "open", "actions": [{"deviceURL": runner_url, "commands": [{"name": "open"}]}]})
    running_group = ok("POST", "/actionGroups", requests.seed_shaped_group("a long move", runner_url))
    running = ok("POST", f"/exec/{running_group['actionGroupOID']}")
    # An internal one running too (the venetian blind's travel), a finished one, and a run scheduled for later.
    ok(
        "POST",
        "/exec/apply/internal",
        {
            "label": "internal close",
            "actions": [{"deviceURL": f"virtual://{gateway_id}/20", "commands": [{"name": "close"}]}],
        },
    )
    light_group = ok(
        "POST",
        "/actionGroups",
        {
            "label": "light on",
            "metadata": "some metadata",
            "actions": [{"deviceURL": f"virtual://{gateway_id}/3", "commands": [{"name": "on"}]}],
        },
    )["actionGroupOID"]
    finished = ok("POST", f"/exec/{light_group}")["execId"]
    deadline = time.monotonic() + 20
    while finished not in {e["id"] for e in ok("GET", "/history/lastExecutions")}:
        assert time.monotonic() < deadline, "a one-command execution did not finish in 20 s"
        time.sleep(0.1)
    # A failed execution, seen by the sweep's listener: a lamp that does not answer (the virtual driver's
    # unavailable device), then put back.
    listener = ok("POST", "/events/register")["id"]
    lamp = quote(f"virtual://{gateway_id}/10", safe="")
    ok("PUT", f"/setup/devices/{lamp}/states/core:StatusState/3/unavailable")
    failed = ok(
        "POST",
        "/exec/apply",
        {"label": "lamp on", "actions": [{"deviceURL": f"virtual://{gateway_id}/10", "commands": [{"name": "on"}]}]},
    )["execId"]
    while failed not in {e["id"] for e in ok("GET", "/history/lastExecutions") if e["state"] == "FAILED"}:
        assert time.monotonic() < deadline + 20, "an execution on a lamp that does not answer did not fail"
        time.sleep(0.1)
    ok("PUT", f"/setup/devices/{lamp}/states/core:StatusState/3/available")
    scheduled = ok("POST", f"/exec/schedule/{action_group_oid}/{int(time.time() * 1000) + 86_400_000}")
    return HouseIds(
        gateway_id=gateway_id,
        setup_oid=setup["oid"],
        device_url=device_url,
        state_name=state["name"],
        state_type=state["type"],
        state_value=str(state["value"]),
        attribute_name=attributes[0]["name"] if attributes else "core:PowerSourceType",
        controllable_name=controllable,
        spare_device_url=f"virtual://{gateway_id}/33",
        action_group_oid=action_group_oid,
        spare_action_group_oid=group("spare group"),
        condition_group_oid=condition_group("conformance condition"),
        spare_condition_group_oid=condition_group("spare condition"),
        place_oid=ground["oid"],
        parent_place_oid=root["oid"],
        spare_place_oid=spare_place["placeOID"]
        if isinstance(spare_place, dict) and "placeOID" in spare_place
        else _find_place(ok("GET", "/setup/places"), "Spare room"),
        zone_oid=zone("Conformance zone"),
        spare_zone_oid=zone("Spare zone"),
        trigger_type="ifThenSetupTrigger",
        trigger_oid=trigger("conformance trigger"),
        spare_trigger_oid=trigger("spare trigger"),
        exec_id=running["execId"],
        listener_id=listener,
        scheduled_trigger_id=scheduled["triggerId"],
        trigger_body=trigger_body("conformance trigger 2"),
    )


def _find_place(place: dict[str, Any], label: str) -> str:
    if place.get("label") == label:
        return str(place["oid"])
    for child in place.get("subPlaces", []):
        found = _find_place(child, label)
        if found:
            return found
    return ""


def _segments(path: str) -> list[str | None]:
    """A path template as its segments, a variable as None: ``/a/{x}/b`` -> ["a", None, "b"]."""
    return [None if part.startswith("{") else part for part in path.strip("/").split("/")]


def declared_routes(client: httpx.Client) -> set[tuple[str, tuple[str | None, ...]]]:
    """The routes the gateway declares (its /openapi.json), as (METHOD, segments) under the API's base path."""
    schema = httpx.get(
        str(client.base_url).split("/enduser-mobile-web")[0] + "/openapi.json", verify=False, timeout=30
    ).json()
    base = _segments(BASE_PATH)
    found = set()
    for path, methods in schema["paths"].items():
        segments = _segments(path)
        if segments[: len(base)] == base:
            found.update((method.upper(), tuple(segments[len(base) :])) for method in methods)
    return found


def run(client: httpx.Client, operations: list[Operation], ids: HouseIds) -> list[OperationResult]:
    """Each operation called; served when a route of its own answered: not 405, not the no-route 404, and the
    gateway declares a route of the same shape (literal segments the same, variables where the seed has them), so
    that an operation taken by a wider route (``POST /exec/{oid}`` for ``POST /exec/optimize...``) is not served."""
    declared = declared_routes(client)
    results: list[OperationResult] = []
    for op in requests.order(operations):
        body = requests.body_of(op, ids)
        response = client.request(
            op.method,
            requests.url_of(op, ids),
            params=requests.params_of(op),
            content=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = None
        served = (
            response.status_code != 405
            and not (response.status_code == 404 and answer == NO_ROUTE)
            and (op.method, tuple(_segments(op.path))) in declared
        )
        result = OperationResult(op, response.status_code, served, answer)
        if result.checked:
            result.fields = check(op.response_body, answer)
        results.append(result)
    return sorted(results, key=lambda r: r.op.line)


@dataclass
class Coverage:
    served: int = 0
    documented: int = 0
    fields_present: int = 0
    fields_documented: int = 0

    def percent(self) -> tuple[float, float]:
        ops = 100.0 * self.served / self.documented if self.documented else 100.0
        fields = 100.0 * self.fields_present / self.fields_documented if self.fields_documented else 100.0
        return ops, fields


def coverage(results: list[OperationResult]) -> dict[str, Coverage]:
    """Per section and in total (key ``""``). Documented fields are those of every documented operation: an
    operation not served, or answered with an error, counts its fields as absent."""
    table: dict[str, Coverage] = defaultdict(Coverage)
    for result in results:
        for key in (result.op.section, ""):
            row = table[key]
            row.documented += 1
            row.served += result.served
            documented = len(documented_fields(result.op.response_body)) if result.op.response_body else 0
            row.fields_documented += documented
            row.fields_present += sum(f.status == PRESENT for f in result.fields)
    return dict(table)


def report(results: list[OperationResult]) -> str:
    table = coverage(results)
    lines = [
        "End-User API conformance (seed 003): operations served / documented, fields present / documented",
        f"{'section':28} {'operations':>16} {'fields':>18}",
    ]
    for section in (*GATEWAY_SECTIONS, ""):
        row = table.get(section)
        if row is None:
            continue
        ops, fields = row.percent()
        lines.append(
            f"{section or 'TOTAL':28} {row.served:>4}/{row.documented:<4} {ops:5.1f} %"
            f" {row.fields_present:>5}/{row.fields_documented:<5} {fields:5.1f} %"
        )
    not_served = [r.op.key for r in results if not r.served and r.op.key not in left_out.OPERATIONS_LEFT_OUT]
    if not_served:
        lines.append(f"not served ({len(not_served)}): " + ", ".join(not_served))
    lines.append(
        f"left out by design (tests/conformance/left_out.py, each with its reason): "
        f"{len(left_out.OPERATIONS_LEFT_OUT)} operations, {len(left_out.FIELDS_LEFT_OUT)} fields"
    )
    for key, reason in left_out.OPERATIONS_LEFT_OUT.items():
        lines.append(f"  {key}: {reason}")
    errors = [
        f"{r.op.key} -> {r.status}" for r in results if r.served and r.op.response_body is not None and not r.checked
    ]
    if errors:
        lines.append(f"served, fields not checked (no 2xx JSON answer) ({len(errors)}): " + ", ".join(errors))
    unverified = [f"{r.op.key} {f.path}" for r in results for f in r.fields if f.status == UNVERIFIED]
    if unverified:
        lines.append(f"fields unverified (an empty list in our answer) ({len(unverified)})")
    return "\n".join(lines)


FAILING = (MISSING, WRONG_TYPE)
