"""The seed's Device section beyond reads and edits of setup.py: firmware, alternative controllables,
manufacturer references, additional information, renaming with subsystems, availability refresh.

Registered before setup.py: ``PUT /setup/devices/{url}/{label}`` (rename) would otherwise take
``.../updateFirmware`` for a label.

Where the seed is silent:
- firmware: none of our drivers updates a device's firmware, so every device is up to date, none supports an
  update, and asking for one is refused (UNSUPPORTED_OPERATION).
- alternative controllables: those of the catalogue with the device's protocol prefix and uiClass.
- manufacturer references: the catalogue names no manufacturer: an empty list.
- additional information of a device: its serial number and firmware revision attributes, where it has them.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.action import Action, ActionGroup, Command
from hearth.model.datatype import DataType
from hearth.model.device import Attribute, Device
from hearth.model.errors import ApiError
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.store.state_history_view import StateHistoryView

# The seed's categories are "<energy>/<use>" ("electric/heatingSystem", "gas/heatingSystem"), or an energy alone.
MEASUREMENT_CATEGORY = re.compile(r"[A-Za-z]{1,32}(/[A-Za-z]{1,32})?")

# Attributes of a device that are its additional information: attribute name -> (templateId, type, label).
_INFORMATION = {
    "core:SerialNumber": ("serialNumber", "SERIAL_NUMBER", "Serial number"),
    "core:FirmwareRevision": ("firmwareRevision", "FIRMWARE_REVISION", "Firmware revision"),
    "core:Manufacturer": ("manufacturer", "MANUFACTURER", "Manufacturer"),
    "core:Model": ("model", "MODEL", "Model"),
}


MAX_INDEX_QUERIES = 200


class GrowingIndexQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    deviceUrl: str = Field(min_length=1, max_length=512)
    stateName: str = Field(min_length=1, max_length=128)
    from_: int = Field(alias="from", ge=0)
    to: int = Field(ge=0)


async def index_at(gw: Any, device_url: str, state: str, at_ms: int) -> float | None:
    """A growing index's value at a time, from the state history: the last point at or before it, else (the
    index began later) the first after it; None when the history has no point of it."""
    value = await StateHistoryView(gw.db).value_at(device_url, state, at_ms)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def information(device: Device) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name, attribute in device.attributes.items():
        if name in _INFORMATION:
            template, kind, label = _INFORMATION[name]
            found.append(
                {
                    "templateId": template,
                    "type": kind,
                    "label": label,
                    "value": str(attribute.value),
                    "rank": len(found) + 1,
                    "unsafe": False,
                    "deviceURL": device.url_text,
                }
            )
    return found


async def rename(gw: Any, device: Device, label: str, update_device_name: bool, caller: Caller) -> str | None:
    """Rename a device; with ``updateDeviceName`` also on the device itself (its ``setName``), whose
    execution id is the answer (``{"execId"}``). None when nothing was sent to the device."""
    await gw.registry.update(device, label=label)
    if not (update_device_name and "setName" in device.controllable.commands):
        return None
    execution = await gw.executor.submit(
        ActionGroup(
            label=f"rename {label}",
            actions=[Action(device_url=device.url_text, commands=[Command(name="setName", parameters=[label])])],
        ),
        owner=caller.owner,
        type=ExecutionType.TECHNICAL,
        sub_type=ExecutionSubType.INTERNAL,
    )
    exec_id: str = execution.id
    return exec_id


def category_routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    """Registered after setup.py: its ``{category:path}`` (``electric/heatingSystem``) must not take the
    fixed paths of setup.py (``states/{name}/{type}/{value}``)."""
    router = APIRouter()
    gw = ctx.gateway

    @router.put(
        "/setup/devices/{device_url:deviceurl}/{label}/{category:path}",
        summary="Rename a sensor and set its measurement category (core:MeasurementCategory)",
    )
    async def rename_with_category(
        device_url: str,
        label: str = Path(min_length=1, max_length=256),
        category: str = Path(max_length=64),
        update_device_name: bool = Query(False, alias="updateDeviceName"),
        caller: Caller = guard.admin(),
    ) -> Response:
        device = gw.registry.require(device_url)
        if not MEASUREMENT_CATEGORY.fullmatch(category):
            raise ApiError.bad_request(
                f"Not a measurement category : {category} (e.g. electric/heatingSystem)", "INVALID_FIELD_VALUE"
            )
        measures = any(s.type in (DataType.INTEGER, DataType.FLOAT) for s in device.controllable.states.values())
        if device.controllable.type != "SENSOR" or not measures:
            raise ApiError.unsupported(f"{device.url_text} is not a measuring sensor: it has no measurement category")
        device.attributes["core:MeasurementCategory"] = Attribute("core:MeasurementCategory", DataType.STRING, category)
        exec_id = await rename(gw, device, label, update_device_name, caller)
        return json_response({"execId": exec_id} if exec_id else {})

    return router


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    def device_for(url: str) -> Device:
        return gw.registry.require(url)

    def alternatives(device: Device) -> list[str]:
        mine = device.controllable
        return sorted(
            c.name
            for c in gw.catalogue.all()
            if c.name != mine.name and c.protocol == mine.protocol and c.ui_class == mine.ui_class
        )

    @router.get("/setup/devices/{device_url:deviceurl}/firmwareUpToDate", summary="Is the firmware up to date")
    async def firmware_up_to_date(device_url: str, _: Caller = guard.view()) -> Response:
        device_for(device_url)
        return json_response({"upToDate": True, "notes": []})

    @router.get("/setup/devices/{device_url:deviceurl}/firmwareUpdateCapability")
    async def firmware_capability(device_url: str, _: Caller = guard.view()) -> Response:
        device_for(device_url)
        return json_response({"supportsFirmwareUpdate": False})

    @router.put("/setup/devices/{device_url:deviceurl}/updateFirmware", summary="Update a device's firmware")
    async def update_firmware(device_url: str, _: Caller = guard.admin()) -> Response:
        device = device_for(device_url)
        raise ApiError.unsupported(f"No firmware update for {device.url_text}: its driver updates none")

    @router.get("/setup/devices/notUpToDate", summary="Devices whose firmware is not up to date")
    async def not_up_to_date(_: Caller = guard.view()) -> Response:
        return json_response([])

    @router.put("/setup/devices/updateFirmwares", summary="Update the firmware of the devices listed")
    async def update_firmwares(body: list[str] = Body(max_length=1000), _: Caller = guard.admin()) -> Response:
        devices = [device_for(url) for url in body]
        if devices:
            raise ApiError.unsupported(f"No firmware update for {devices[0].url_text}: its driver updates none")
        return json_response({})

    @router.get("/setup/devices/{device_url:deviceurl}/manufacturerReferences")
    async def manufacturer_references(device_url: str, _: Caller = guard.view()) -> Response:
        device_for(device_url)
        return json_response([])

    @router.get(
        "/setup/devices/{device_url:deviceurl}/alternativeControllables",
        summary="Controllables this device could be declared as",
    )
    async def alternative_controllables(device_url: str, _: Caller = guard.view()) -> Response:
        return json_response(alternatives(device_for(device_url)))

    # A device's controllable (and so its type) is what its driver found the device to be: the driver drives it
    # by that controllable's commands and states, so it cannot be swapped from the API. Both answer so, and are
    # declared here so that the rename-with-category route never takes them for a label.
    @router.put(
        "/setup/devices/{device_url:deviceurl}/alternativeControllables/{controllable_name}",
        summary="Declare a device as another controllable (refused: its driver decides)",
    )
    async def set_controllable(device_url: str, controllable_name: str, _: Caller = guard.admin()) -> Response:
        device = device_for(device_url)
        if controllable_name == device.controllable.name:
            return json_response({})
        if controllable_name not in alternatives(device):
            raise ApiError.bad_request(
                f"{controllable_name} is not an alternative controllable of {device.url_text}", "INVALID_FIELD_VALUE"
            )
        raise ApiError.unsupported(f"The controllable of {device.url_text} is chosen by its driver")

    @router.put(
        "/setup/devices/{device_url:deviceurl}/deviceType/{device_type}",
        summary="Change a device's type (refused: its driver decides)",
    )
    async def set_device_type(device_url: str, device_type: int, _: Caller = guard.admin()) -> Response:
        device = device_for(device_url)
        if device_type == device.controllable.product_type:
            return json_response({})
        raise ApiError.unsupported(f"The type of {device.url_text} is chosen by its driver")

    @router.get("/setup/devices/additionalInformation", summary="The additional information of every device")
    async def all_information(_: Caller = guard.view("bulk")) -> Response:
        return json_response([entry for device in gw.registry.all() for entry in information(device)])

    @router.get("/setup/devices/{device_url:deviceurl}/additionalInformation")
    async def device_information(device_url: str, _: Caller = guard.view()) -> Response:
        return json_response(information(device_for(device_url)))

    @router.get("/setup/devices/{device_url:deviceurl}/additionalInformation/{template_id}")
    async def device_information_one(device_url: str, template_id: str, _: Caller = guard.view()) -> Response:
        for entry in information(device_for(device_url)):
            if entry["templateId"] == template_id:
                return json_response(entry)
        raise ApiError.not_found(f"No such additional information : {template_id}")

    @router.put(
        "/setup/devices/{device_url:deviceurl}/{label}/subSystems", summary="Rename a device and every subsystem of it"
    )
    async def rename_with_subsystems(
        device_url: str, label: str = Path(min_length=1, max_length=256), _: Caller = guard.admin()
    ) -> Response:
        device = device_for(device_url)
        base = device.url_text.partition("#")[0]
        for other in gw.registry.all():
            if other.url_text == base or other.url_text.startswith(base + "#"):
                await gw.registry.update(other, label=label)
        return json_response({})

    @router.post(
        "/setup/devices/states/growingIndexes",
        summary="How much growing indexes (energy, water... counters) grew between two dates",
    )
    async def growing_indexes(
        body: list[GrowingIndexQuery] = Body(max_length=MAX_INDEX_QUERIES), _: Caller = guard.view("bulk")
    ) -> Response:
        for query in body:  # every query checked before any is answered
            spec = device_for(query.deviceUrl).controllable.states.get(query.stateName)
            if spec is None or spec.type not in (DataType.INTEGER, DataType.FLOAT):
                raise ApiError.bad_request(
                    f"{query.stateName} is not a numeric state of {query.deviceUrl}", "INVALID_FIELD_VALUE"
                )
            if query.to < query.from_:
                raise ApiError.bad_request("from must not be after to", "INVALID_FIELD_VALUE")
        answers = []
        for query in body:
            device_url = device_for(query.deviceUrl).url_text
            start = await index_at(gw, device_url, query.stateName, query.from_)
            end = await index_at(gw, device_url, query.stateName, query.to)
            answers.append(
                {
                    "deviceUrl": query.deviceUrl,
                    "stateName": query.stateName,
                    "delta": (end - start) if start is not None and end is not None else 0,
                }
            )
        return json_response(answers)

    @router.put("/setup/devices/refresh", summary="Refresh the availability of every device")
    async def refresh_availability(_: Caller = guard.control("bulk")) -> Response:
        # Our drivers report availability as it changes (a radio's link, a lost node): it is always current.
        return json_response({})

    return router
