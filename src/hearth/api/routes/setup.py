"""``/apiVersion``, ``/setup``, gateways, devices, places and zones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from pydantic import Field
from starlette.responses import Response

from hearth import PROTOCOL_VERSION, __version__
from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import device as device_routes
from hearth.api.routes import setup_settings
from hearth.api.setup_json import SetupJson
from hearth.core.state_updates import InvalidStateValue
from hearth.model.action import Action as WireAction
from hearth.model.action import ActionGroup, Command
from hearth.model.datatype import DataType, InvalidValue, coerce_value
from hearth.model.device import Device
from hearth.model.errors import ApiError
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.model.place import Zone
from hearth.model.strict import Label, Name, StrictModel

# The gateway ``type`` we answer: 0 is not one of the vendor's hardware models.
GATEWAY_TYPE = 0


# Request bodies of seed 003 (section "Places and zones"): a key it does not define is refused (StrictModel).
# The seed types a place's and a zone's ``type`` as an integer (a place's "could be an integer or a string")
# and gives no range: Java's int (32 bits) is the vendor's.
MAX_TYPE = 2**31 - 1
PlaceType = Annotated[int, Field(ge=0, le=MAX_TYPE)] | Annotated[Name, Field(min_length=1, max_length=64)]


class PlaceBody(StrictModel):
    label: Label = Field(min_length=1, max_length=128)
    type: PlaceType = 2
    metadata: str | None = Field(None, max_length=4096)


class PlaceUpdate(StrictModel):
    # The seed's "place settings : type, label and metadata", nothing else.
    label: Label | None = Field(None, min_length=1, max_length=128)
    type: PlaceType | None = None
    metadata: str | None = Field(None, max_length=4096)


class ZoneItemBody(StrictModel):
    itemType: Name = Field("device", max_length=64)
    deviceOID: Name | None = Field(None, max_length=64)
    deviceURL: Name | None = Field(None, max_length=512)


class ZoneBody(StrictModel):
    oid: Name | None = Field(None, max_length=64)  # in the seed's PUT body (the path's zoneOID is the one used)
    label: Label = Field(min_length=1, max_length=128)
    type: int = Field(0, ge=0, le=MAX_TYPE)
    items: list[ZoneItemBody] = Field(default_factory=list, max_length=10_000)
    externalOID: Name | None = Field(None, max_length=64)
    metadata: str | None = Field(None, max_length=4096)


class MetadataBody(StrictModel):
    metadata: str = Field(max_length=4096)


def gateway_json(ctx: ApiContext) -> dict[str, Any]:
    gw = ctx.gateway
    cloud = gw.extensions.status("cloud")
    # Without a cloud configured the box is complete on its own; with one, a lost link is a partial connectivity.
    connectivity: dict[str, Any] = {"status": "OK", "problems": [], "protocolVersion": PROTOCOL_VERSION}
    if cloud is not None and not cloud.connected:
        connectivity.update(status="PARTIAL", problems=["NO_CLOUD"])
    return {
        "partners": [],
        "placeOID": gw.places.root.oid if gw.places.root else None,
        "functions": "",
        "subType": 1,
        "gatewayId": gw.identity.gateway_id,
        "mode": "ACTIVE",
        "alive": True,
        "autoUpdateEnabled": False,
        "firmwareVersion": f"hearth-{__version__}",
        "timeReliable": True,
        "updateStatus": "UP_TO_DATE",
        "connectivity": connectivity,
        "syncInProgress": bool(cloud is not None and cloud.syncing),
        "upToDate": True,
        "automaticUpdate": False,
        # No update is pending (updates come from the system's packages): the seed names only BLOCKING.
        "updateCriticityLevel": "NONE",
        "type": GATEWAY_TYPE,
    }


# Attributes that are manufacturer data (``withManufacturerData=true``), besides the device's protocol address.
MANUFACTURER_ATTRIBUTES = (
    "core:Manufacturer",
    "core:ManufacturerName",
    "core:Model",
    "core:ModelName",
    "core:SerialNumber",
    "core:FirmwareRevision",
    "core:HardwareRevision",
)


def device_json(device: Device, manufacturer: bool = False) -> dict[str, Any]:
    """A device as the API shows it; with its ``manufacturerData`` when asked (``withManufacturerData``)."""
    out = device.to_json()
    if manufacturer:
        data = [{"name": "protocol", "value": device.url.protocol}, {"name": "address", "value": device.url.address}]
        data += [
            {"name": name, "value": str(device.attributes[name].value)}
            for name in MANUFACTURER_ATTRIBUTES
            if name in device.attributes
        ]
        out["manufacturerData"] = data
    return out


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway
    setup_json = SetupJson.of(gw.bus)

    def device_for(url: str) -> Device:
        return gw.registry.require(url)

    # ------------------------------------------------------------------ version, setup, gateways

    @router.get("/apiVersion", summary="Protocol version (no authentication)")
    async def api_version() -> Response:
        return json_response({"protocolVersion": PROTOCOL_VERSION})

    @router.get("/setup", summary="The whole setup")
    async def setup(
        _: Caller = guard.view("bulk"), manufacturer: bool = Query(False, alias="withManufacturerData")
    ) -> Response:
        root = gw.places.root
        devices = gw.registry.all()
        out: dict[str, Any] = {
            "creationTime": root.creation_time if root else 0,
            "lastUpdateTime": max((d.last_update_time for d in devices), default=0),
            "id": f"SETUP-{gw.identity.gateway_id}",
            "oid": gw.identity.setup_oid,
            "gateways": [gateway_json(ctx)],
            "devices": None,  # filled below: cached per device (setup_json), or with manufacturer data
            "zones": [z.to_json() for z in gw.zones.all()],
            "features": [],
        }
        # The seed's API leaves out what is not set, rather than answering null.
        if gw.location.is_set:
            out["location"] = gw.location.to_json()
        if root:
            out["rootPlace"] = root.to_json()
        out.update((await setup_settings.setup_settings(gw)).setup_fields())
        if manufacturer:
            out["devices"] = [device_json(d, manufacturer) for d in devices]
            return json_response(out)
        return setup_json.setup_response(out, devices)

    @router.get("/setup/gateways")
    async def gateways(_: Caller = guard.view("bulk")) -> Response:
        return json_response([gateway_json(ctx)])

    @router.get("/setup/gateways/{gateway_id}")
    async def gateway(gateway_id: str, _: Caller = guard.view()) -> Response:
        if gateway_id != gw.identity.gateway_id:
            raise ApiError.not_found(f"No such gateway : {gateway_id}")
        return json_response(gateway_json(ctx))

    # ------------------------------------------------------------------ devices: reads

    @router.get("/setup/devices")
    async def devices(
        _: Caller = guard.view("bulk"), manufacturer: bool = Query(False, alias="withManufacturerData")
    ) -> Response:
        if manufacturer:
            return json_response([device_json(d, manufacturer) for d in gw.registry.all()])
        return setup_json.response(gw.registry.all())

    @router.get("/setup/devices/controllables")
    async def controllables(_: Caller = guard.view()) -> Response:
        return json_response(gw.registry.by_controllable())

    @router.get("/setup/devices/controllables/{controllable_name}")
    async def controllable_devices(controllable_name: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.registry.by_controllable().get(controllable_name, []))

    @router.get("/setup/devices/{device_url:deviceurl}")
    async def device(
        device_url: str, _: Caller = guard.view(), manufacturer: bool = Query(False, alias="withManufacturerData")
    ) -> Response:
        return json_response(device_json(device_for(device_url), manufacturer))

    @router.get("/setup/devices/{device_url:deviceurl}/states")
    async def device_states(device_url: str, _: Caller = guard.view()) -> Response:
        return json_response([s.to_json() for s in device_for(device_url).states.values()])

    @router.get("/setup/devices/{device_url:deviceurl}/states/{name}")
    async def device_state(device_url: str, name: str, _: Caller = guard.view()) -> Response:
        state = device_for(device_url).states.get(name)
        if state is None:
            raise ApiError.not_found(f"No such state : {name}")
        return json_response(state.to_json())

    @router.get("/setup/devices/{device_url:deviceurl}/attributes")
    async def device_attributes(device_url: str, _: Caller = guard.view()) -> Response:
        return json_response([a.to_json() for a in device_for(device_url).attributes.values()])

    @router.get("/setup/devices/{device_url:deviceurl}/attributes/{name}")
    async def device_attribute(device_url: str, name: str, _: Caller = guard.view()) -> Response:
        attribute = device_for(device_url).attributes.get(name)
        if attribute is None:
            raise ApiError.not_found(f"No such attribute : {name}")
        return json_response(attribute.to_json())

    @router.get("/setup/devices/{device_url:deviceurl}/controllable")
    async def device_controllable(device_url: str, _: Caller = guard.view()) -> Response:
        return json_response(device_for(device_url).controllable.definition_json())

    @router.post("/setup/devices/states/refresh", summary="Ask every device (or those listed) to report")
    async def refresh_all(body: list[str] | None = Body(None), caller: Caller = guard.control("bulk")) -> Response:
        targets = [device_for(u) for u in body] if body else gw.registry.all()
        await _refresh(targets, caller)
        return json_response({})

    @router.post("/setup/devices/{device_url:deviceurl}/states/refresh")
    async def refresh_one(device_url: str, caller: Caller = guard.control()) -> Response:
        await _refresh([device_for(device_url)], caller)
        return json_response({})

    async def _refresh(targets: list[Device], caller: Caller) -> None:
        actions = [
            WireAction(device_url=d.url_text, commands=[Command(name="refreshState")])
            for d in targets
            if "refreshState" in d.controllable.commands and d.enabled
        ]
        if actions:
            await gw.executor.submit(
                ActionGroup(label="refresh states", actions=actions),
                owner=caller.owner,
                type=ExecutionType.TECHNICAL,
                sub_type=ExecutionSubType.INTERNAL,
                internal=True,
            )

    # ------------------------------------------------------------------ devices: edits

    @router.put(
        "/setup/devices/{device_url:deviceurl}/states/{name}/{state_type}/{value}",
        summary="Set a persistent state, or any state of a virtual device (plays the physical world)",
    )
    async def put_state(
        device_url: str, name: str, state_type: int, value: str, _: Caller = guard.control()
    ) -> Response:
        device = device_for(device_url)
        try:
            dtype = DataType(state_type)
        except ValueError:
            raise ApiError.bad_request(f"Unknown state type : {state_type}") from None
        spec = device.controllable.states.get(name)
        if spec is not None and spec.type != dtype:
            raise ApiError.bad_request(f"State {name} has type {int(spec.type)}, not {state_type}")
        try:
            native = spec.check(value) if spec is not None else coerce_value(dtype, value)
        except InvalidValue as exc:
            raise ApiError.bad_request(f"Invalid value for {name}: {exc}") from None
        driver = gw.drivers.by_protocol.get(device.url.protocol)
        played = driver is not None and await driver.set_state(device.url, name, native)
        if not played:
            if spec is None or not spec.persistent:
                raise ApiError.unsupported(f"State {name} of {device.url_text} is not persistent")
            try:
                gw.states.report(device, {name: native})
            except InvalidStateValue as exc:
                raise ApiError.bad_request(str(exc)) from None
        return json_response({})

    @router.put("/setup/devices/{device_url:deviceurl}/relocate/{place_oid}")
    async def relocate(device_url: str, place_oid: str, _: Caller = guard.admin()) -> Response:
        device = device_for(device_url)
        gw.places.require(place_oid)
        await gw.registry.update(device, place_oid=place_oid)
        return json_response({})

    @router.put("/setup/devices/{device_url:deviceurl}/metadata")
    async def metadata(device_url: str, body: MetadataBody, _: Caller = guard.admin()) -> Response:
        await gw.registry.update(device_for(device_url), metadata=body.metadata)
        return json_response({})

    @router.put("/setup/devices/{device_url:deviceurl}/{label}", summary="Rename a device")
    async def rename(
        device_url: str,
        label: str = Path(min_length=1, max_length=256),
        update_device_name: bool = Query(False, alias="updateDeviceName"),
        caller: Caller = guard.admin(),
    ) -> Response:
        exec_id = await device_routes.rename(gw, device_for(device_url), label, update_device_name, caller)
        return json_response({"execId": exec_id} if exec_id else {})

    # ------------------------------------------------------------------ places

    @router.get("/setup/places")
    async def places(_: Caller = guard.view("bulk")) -> Response:
        root = gw.places.root
        return json_response(root.to_json() if root else {})

    @router.get("/setup/places/{place_oid}")
    async def place(place_oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.places.require(place_oid).to_json())

    @router.post("/setup/places/{parent_oid}/subPlaces", status_code=201)
    async def create_place(parent_oid: str, body: PlaceBody, _: Caller = guard.admin()) -> Response:
        created = await gw.places.create(parent_oid, label=body.label, type=body.type, metadata=body.metadata)
        return json_response({"placeOID": created.oid}, 201)

    @router.put("/setup/places/{place_oid}")
    async def update_place(place_oid: str, body: PlaceUpdate, _: Caller = guard.admin()) -> Response:
        await gw.places.update(gw.places.require(place_oid), label=body.label, type=body.type, metadata=body.metadata)
        return json_response({})

    @router.put("/setup/places/{place_oid}/parent/{parent_oid}")
    async def move_place(place_oid: str, parent_oid: str, _: Caller = guard.admin()) -> Response:
        await gw.places.move(gw.places.require(place_oid), parent_oid)
        return json_response({})

    @router.delete("/setup/places/{place_oid}", status_code=204)
    async def delete_place(place_oid: str, _: Caller = guard.admin()) -> Response:
        removed = await gw.places.delete(gw.places.require(place_oid))
        await gw.registry.clear_place(removed)
        return Response(status_code=204)

    # ------------------------------------------------------------------ zones

    @router.get("/setup/zones")
    async def zones(_: Caller = guard.view("bulk")) -> Response:
        return json_response([z.to_json() for z in gw.zones.all()])

    @router.get("/setup/zones/{zone_oid}")
    async def zone(zone_oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.zones.get(zone_oid).to_json())

    @router.post("/setup/zones", status_code=201)
    async def create_zone(body: ZoneBody, _: Caller = guard.admin()) -> Response:
        items = gw.zones.items_from([i.model_dump() for i in body.items])
        created = await gw.zones.create(body.label, body.type, items, body.externalOID, body.metadata)
        return json_response({"zoneOID": created.oid}, 201)

    @router.put("/setup/zones/{zone_oid}")
    async def update_zone(zone_oid: str, body: ZoneBody, _: Caller = guard.admin()) -> Response:
        existing: Zone = gw.zones.get(zone_oid)
        existing.items = gw.zones.items_from([i.model_dump() for i in body.items])
        existing.label, existing.type = body.label, body.type
        existing.external_oid, existing.metadata = body.externalOID, body.metadata
        await gw.zones.update(existing)
        return json_response({})

    @router.get("/setup/zones/{zone_oid}/items")
    async def zone_items(zone_oid: str, _: Caller = guard.view()) -> Response:
        return json_response([i.to_json() for i in gw.zones.get(zone_oid).items])

    @router.post("/setup/zones/{zone_oid}/items")
    async def add_zone_items(zone_oid: str, body: list[ZoneItemBody], _: Caller = guard.admin()) -> Response:
        existing = gw.zones.get(zone_oid)
        known = {i.device_url for i in existing.items}
        existing.items += [i for i in gw.zones.items_from([b.model_dump() for b in body]) if i.device_url not in known]
        await gw.zones.update(existing)
        return json_response({})

    @router.post("/setup/zones/{zone_oid}/items/_delete")
    async def remove_zone_items(zone_oid: str, body: list[ZoneItemBody], _: Caller = guard.admin()) -> Response:
        existing = gw.zones.get(zone_oid)
        doomed = {i.device_url for i in gw.zones.items_from([b.model_dump() for b in body])}
        existing.items = [i for i in existing.items if i.device_url not in doomed]
        await gw.zones.update(existing)
        return json_response({})

    @router.delete("/setup/zones/{zone_oid}", status_code=204)
    async def delete_zone(zone_oid: str, _: Caller = guard.admin()) -> Response:
        await gw.zones.delete(gw.zones.get(zone_oid))
        return Response(status_code=204)

    return router
