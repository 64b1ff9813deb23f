"""Reference Data (``/reference/*``), answered from the catalogue of controllables (config/controllables/).

The seed documents the shapes; what fills them comes from the catalogue, where the seed is silent:
- UI profiles: our catalogue declares none per controllable, so a profile is derived per uiClass: its name is
  the uiClass, its commands and states those every controllable of that class has (what a client can rely on).
- Controllable types: ``id`` is the type's rank in the sorted list of the catalogue's types (the seed gives no
  numbering).
- Time zones: ``offset`` is the raw offset from UTC in milliseconds (outside daylight saving time), ``dst``
  whether the zone moves its clocks; read from the system's IANA database.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures
from hearth.model.definition import Controllable
from hearth.model.errors import ApiError
from hearth.model.protocols import PREFIXES

_SEARCH_LISTS = ("uiWidgets", "uiClassifiers", "controllableTypes", "protocolTypes", "uiClasses")
_SEARCH_FLAGS = ("withManufacturerReferences", "withStates", "withCommands", "withAttributes")


def _described(parameter: dict[str, Any]) -> dict[str, Any]:
    for prototype in parameter.get("valuePrototypes", []):
        prototype.setdefault("description", parameter.get("name", ""))
    return parameter


def _command_json(command: Any) -> dict[str, Any]:
    # protocolSpecifics: the catalogue keeps no protocol detail per command (its driver does): empty.
    return {
        "commandName": command.name,
        "nparams": command.nparams,
        "description": command.name,
        "protocolSpecifics": [],
        "prototype": {"parameters": [_described(p.to_json()) for p in command.parameters]},
    }


def _state_json(state: Any) -> dict[str, Any]:
    prototype: dict[str, Any] = {"type": state.type.name, "description": state.name}
    if state.values:
        prototype["enumValues"] = list(state.values)
    if state.min is not None:
        prototype["minValue"] = state.min
    if state.max is not None:
        prototype["maxValue"] = state.max
    return {
        "name": state.name,
        "type": "DiscreteState" if state.values else "ContinuousState",
        "eventBased": False,
        "persistent": state.persistent,
        "prototype": {"valuePrototypes": [prototype]},
        "protocolSpecifics": [],
    }


def _device_type_json(c: Controllable, flags: dict[str, bool]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "typeId": c.product_type,
        "subsystemId": 0,
        "localPairing": True,
        "uiClassifiers": list(c.ui_classifiers),
        "uiProfiles": [c.ui_class],
        "uiClass": c.ui_class,
        "uiWidget": c.widget,
        "controllableType": c.type,
        "protocolType": c.protocol.upper(),
        "controllableName": c.name,
    }
    if flags.get("withCommands", True):
        entry["commands"] = [_command_json(cmd) for cmd in c.commands.values()]
    if flags.get("withStates", True):
        entry["states"] = [_state_json(s) for s in c.states.values()]
    if flags.get("withAttributes", False):
        entry["attributes"] = [
            {
                "name": a.get("name"),
                "type": a.get("type"),
                "protocolSpecifics": [],
                **({"defaultValue": a["value"]} if "value" in a else {}),
            }
            for a in c.attributes
        ]
    if flags.get("withManufacturerReferences", False):
        entry["manufacturerReferences"] = []  # the catalogue names no manufacturer
    return entry


def _matches(c: Controllable, criteria: dict[str, list[str]], any_criteria: str | None) -> bool:
    checks = {
        "uiWidgets": [c.widget],
        "uiClassifiers": list(c.ui_classifiers),
        "controllableTypes": [c.type],
        "protocolTypes": [c.protocol, c.protocol.upper()],
        "uiClasses": [c.ui_class],
    }
    for key, wanted in criteria.items():
        if wanted and not set(wanted) & set(checks[key]):
            return False
    if any_criteria:
        needle = any_criteria.lower()
        return any(needle in text.lower() for text in (c.name, c.ui_class, c.widget, c.type))
    return True


def _profiles(controllables: list[Controllable]) -> dict[str, dict[str, Any]]:
    by_class: dict[str, list[Controllable]] = {}
    for c in controllables:
        by_class.setdefault(c.ui_class, []).append(c)
    profiles: dict[str, dict[str, Any]] = {}
    for name, members in sorted(by_class.items()):
        commands = set.intersection(*(set(m.commands) for m in members))
        states = set.intersection(*(set(m.states) for m in members))
        first = members[0]
        profiles[name] = {
            "name": name,
            "formFactor": False,
            "commands": [
                {
                    "name": cmd,
                    "description": f"{cmd} (every {name} has it)",
                    "prototype": {"parameters": [_described(p.to_json()) for p in first.commands[cmd].parameters]},
                }
                for cmd in sorted(commands)
            ],
            "states": [
                {
                    "name": s,
                    "description": f"{s} (every {name} has it)",
                    "prototype": {"valuePrototypes": _state_json(first.states[s])["prototype"]["valuePrototypes"]},
                }
                for s in sorted(states)
            ],
        }
    return profiles


def _timezones() -> list[dict[str, Any]]:
    january, july = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 7, 15, tzinfo=UTC)
    zones = []
    for name in sorted(zoneinfo.available_timezones()):
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        winter = january.astimezone(zone).utcoffset() or timedelta(0)
        summer = july.astimezone(zone).utcoffset() or timedelta(0)
        zones.append({"name": name, "dst": winter != summer, "offset": int(min(winter, summer).total_seconds() * 1000)})
    return zones


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    catalogue = ctx.gateway.catalogue

    def sorted_set(values: list[str]) -> list[str]:
        return sorted({v for v in values if v})

    @router.get("/reference/controllable/{controllable_name}", summary="A controllable of the catalogue")
    async def controllable(controllable_name: str, _: Caller = guard.view()) -> Response:
        found = catalogue.get(controllable_name)
        if found is None:
            raise ApiError.not_found(f"Unknown controllable : {controllable_name}")
        return json_response(found.definition_json())

    @router.get("/reference/controllableTypes", summary="The controllable types of the catalogue")
    async def controllable_types(_: Caller = guard.view()) -> Response:
        names = sorted_set([c.type for c in catalogue.all()])
        return json_response([{"id": i, "name": n, "label": n.capitalize()} for i, n in enumerate(names, 1)])

    @router.get("/reference/protocolTypes", summary="The protocol types of the End-User API")
    async def protocol_types(_: Caller = guard.view()) -> Response:
        return json_response([{"id": i, "prefix": p, "name": p.upper(), "label": p} for i, p in enumerate(PREFIXES, 1)])

    @router.get("/reference/timezones", summary="Time zones (the system's IANA database)")
    async def timezones(_: Caller = guard.view()) -> Response:
        return json_response(_timezones())

    @router.get("/reference/ui/classes", summary="The uiClasses of the catalogue")
    async def ui_classes(_: Caller = guard.view()) -> Response:
        return json_response(sorted_set([c.ui_class for c in catalogue.all()]))

    @router.get("/reference/ui/classifiers", summary="The uiClassifiers of the catalogue")
    async def ui_classifiers(_: Caller = guard.view()) -> Response:
        return json_response(sorted_set([x for c in catalogue.all() for x in c.ui_classifiers]))

    @router.get("/reference/ui/widgets", summary="The widgets of the catalogue")
    async def ui_widgets(_: Caller = guard.view()) -> Response:
        return json_response(sorted_set([c.widget for c in catalogue.all()]))

    @router.get("/reference/ui/profileNames", summary="UI profiles (one per uiClass)")
    async def profile_names(_: Caller = guard.view()) -> Response:
        return json_response(list(_profiles(catalogue.all())))

    @router.get("/reference/ui/profile/{profile_name}", summary="A UI profile: what every device of a uiClass has")
    async def profile(profile_name: str, _: Caller = guard.view()) -> Response:
        found = _profiles(catalogue.all()).get(profile_name)
        if found is None:
            raise ApiError.not_found(f"Unknown UI profile : {profile_name}")
        return json_response(found)

    @router.post("/reference/devices/search", summary="Device types of the catalogue matching criteria")
    async def search(request: Request, _: Caller = guard.view()) -> Response:
        body = await procedures.json_body(request)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ApiError.bad_request("The body must be a JSON object")
        criteria: dict[str, list[str]] = {}
        for key in _SEARCH_LISTS:
            value = body.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ApiError.bad_request(f"{key} must be a list of strings")
            criteria[key] = value
        flags: dict[str, bool] = {}
        for key in _SEARCH_FLAGS:
            if key in body:
                if not isinstance(body[key], bool):
                    raise ApiError.bad_request(f"{key} must be a boolean")
                flags[key] = body[key]
        any_criteria = body.get("anyCriteria")
        if any_criteria is not None and not isinstance(any_criteria, str):
            raise ApiError.bad_request("anyCriteria must be a string")
        found = [
            _device_type_json(c, flags)
            for c in sorted(catalogue.all(), key=lambda c: c.name)
            if _matches(c, criteria, any_criteria)
        ]
        return json_response({"allResult": True, "devicesTypes": found})

    return router
