"""The seed's Gateway section beyond the gateway object itself (``/setup/gateways/{gatewayId}/...``).

- ``version``: the firmware version, as in the gateway object (``hearth-<version>``).
- ``functions``: what this gateway runs besides its radios (its extensions: cloud connectors, MQTT bridge,
  scheduled backups, alerts), as set in its configuration file; ``PUT functions/{type}`` cannot switch one at run time,
  and says so, unless it asks for what already is.
- ``developerMode``: the vendor's box opens its local API in developer mode; here the local API is always
  served, so developer mode is always active, and activating it changes nothing.
- protocols: ``supportedProtocols`` every protocol a driver of this software speaks, ``availableProtocols``
  those whose driver is installed, ``activeProtocols`` those whose driver runs, ``usedActiveProtocols`` the
  active ones with at least one device. As the End-User API's protocol numbers; our ``virtual`` and ``ble``
  protocols have none, and are not listed (the seed has no number for them).
- ``keepAlive``: a protocol's driver is asked nothing (our drivers keep their links themselves); the answer
  says whether it runs.
- state refresh, of the gateway or of one protocol (state_refresh.py).
- ``disconnectionAlert/configuration``: the ``timeout`` (seconds) after which a lost gateway is announced;
  kept across restarts. The seed is silent on its default: 0, no alert.
- ``additionalInformation``: what the gateway knows of itself (its serial number is its gateway id).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hearth import __version__
from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures, state_refresh
from hearth.core.drivers import available_drivers
from hearth.model import events as ev
from hearth.model.errors import ApiError
from hearth.model.protocols import PREFIXES
from hearth.store.repositories import SettingsRepository

DISCONNECTION_TIMEOUT_KEY = "gateway.disconnectionAlert.timeout"
MAX_DISCONNECTION_TIMEOUT_S = 7 * 86400


class DisconnectionConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout: int = Field(ge=0, le=MAX_DISCONNECTION_TIMEOUT_S)


class FunctionSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


# The library each shipped driver needs (its pip extra): looked up, never imported, since importing zigpy or
# bleak into a running gateway for a listing would cost seconds and memory. A driver not named here needs none.
DRIVER_LIBRARIES = {"zigbee": "zigpy", "zwave": "zwave_js_server", "rts": "serial_asyncio_fast", "ble": "bleak"}


def _installed(driver: str) -> bool:
    library = DRIVER_LIBRARIES.get(driver)
    try:
        return library is None or importlib.util.find_spec(library) is not None
    except (ImportError, ValueError):
        return False


def _numbers(prefixes: set[str]) -> list[int]:
    return sorted(PREFIXES.index(p) + 1 for p in prefixes if p in PREFIXES)


def functions_of(gw: Any) -> list[str]:
    """The extensions this gateway runs, by name (from its configuration)."""
    settings = gw.settings
    found = []
    if "cloud" in gw.extensions:
        found.append("cloud")
    if getattr(settings, "bridge", None) is not None and getattr(settings.bridge, "enabled", False):
        found.append("mqttBridge")
    if getattr(gw, "alerts", None) is not None:
        found.append("alerts")
    if getattr(getattr(settings, "backup", None), "enabled", False):
        found.append("scheduledBackup")
    found.append("localAPI")
    return found


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway
    settings = SettingsRepository(gw.db)

    def check(gateway_id: str) -> None:
        procedures.check_gateway(gw, gateway_id)

    @router.get("/setup/gateways/{gateway_id}/version", summary="The gateway's firmware version")
    async def version(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        return json_response({"result": f"hearth-{__version__}"})

    @router.get("/setup/gateways/{gateway_id}/functions", summary="The extensions this gateway runs")
    async def functions(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        return json_response(functions_of(gw))

    @router.put(
        "/setup/gateways/{gateway_id}/functions/{function_type}",
        summary="Switch an extension (only through the configuration file)",
    )
    async def switch_function(
        gateway_id: str, function_type: str, body: FunctionSwitch, _: Caller = guard.admin()
    ) -> Response:
        check(gateway_id)
        running = function_type in functions_of(gw)
        if body.enabled == running:
            return json_response({})
        raise ApiError.unsupported(
            f"The function {function_type} is switched in the gateway's configuration file, then a restart"
        )

    @router.get("/setup/gateways/{gateway_id}/developerMode", summary="Developer mode (always active here)")
    async def developer_mode(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        return json_response({"active": True})

    @router.post("/setup/gateways/{gateway_id}/developerMode", summary="Activate developer mode (it is already)")
    async def activate_developer_mode(gateway_id: str, _: Caller = guard.admin()) -> Response:
        check(gateway_id)
        return json_response({})

    @router.get("/setup/gateways/{gateway_id}/supportedProtocols", summary="Protocols this software speaks")
    async def supported(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        return json_response(_numbers(set(available_drivers())))

    @router.get("/setup/gateways/{gateway_id}/availableProtocols", summary="Protocols whose driver is installed")
    async def available(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        return json_response(_numbers({name for name in available_drivers() if _installed(name)}))

    @router.get("/setup/gateways/{gateway_id}/activeProtocols", summary="Protocols whose driver runs")
    async def active(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        return json_response(_numbers(set(gw.drivers.by_protocol)))

    @router.get("/setup/gateways/{gateway_id}/usedActiveProtocols", summary="Active protocols with a device")
    async def used(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        with_devices = {d.url.protocol for d in gw.registry.all()}
        return json_response(_numbers(set(gw.drivers.by_protocol) & with_devices))

    @router.post(
        "/setup/gateways/{gateway_id}/protocols/{protocol_type}/keepAlive",
        summary="Keep a protocol's link alive (our drivers keep theirs)",
    )
    async def keep_alive(gateway_id: str, protocol_type: str, _: Caller = guard.control()) -> Response:
        check(gateway_id)
        state_refresh.running_protocol(gw, protocol_type)
        return json_response({})

    @router.post(
        "/setup/gateways/{gateway_id}/devices/states/refresh",
        summary="Refresh every device's states, protocol by protocol",
    )
    async def refresh_gateway(gateway_id: str, caller: Caller = guard.control("bulk")) -> Response:
        check(gateway_id)
        for prefix in list(gw.drivers.by_protocol):
            await state_refresh.refresh_protocol(gw, prefix, caller)
        return json_response({})

    @router.post(
        "/setup/gateways/{gateway_id}/protocols/{protocol_type}/devices/states/refresh",
        summary="Refresh the states of one protocol's devices",
    )
    async def refresh_gateway_protocol(
        gateway_id: str, protocol_type: str, caller: Caller = guard.control("bulk")
    ) -> Response:
        check(gateway_id)
        await state_refresh.refresh_protocol(gw, state_refresh.running_protocol(gw, protocol_type), caller)
        return json_response({})

    @router.get(
        "/setup/gateways/{gateway_id}/disconnectionAlert/configuration",
        summary="After how long a lost gateway is announced",
    )
    async def disconnection(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        stored = await settings.get(DISCONNECTION_TIMEOUT_KEY)
        return json_response({"timeout": int(stored) if stored else 0})

    @router.put("/setup/gateways/{gateway_id}/disconnectionAlert/configuration")
    async def set_disconnection(
        gateway_id: str, body: DisconnectionConfiguration, _: Caller = guard.admin()
    ) -> Response:
        check(gateway_id)
        await settings.put(DISCONNECTION_TIMEOUT_KEY, str(body.timeout))
        gw.bus.publish(ev.GatewayDownOptionsChangedEvent(gateway_id=gw.identity.gateway_id, timeout=body.timeout))
        return json_response({})

    def information() -> list[dict[str, Any]]:
        gateway_id = gw.identity.gateway_id
        return [
            {
                "templateId": "serialNumber",
                "type": "SERIAL_NUMBER",
                "label": "Serial number",
                "value": gateway_id,
                "rank": 1,
                "unsafe": False,
                "gatewayId": gateway_id,
            }
        ]

    @router.get("/setup/gateways/{gateway_id}/additionalInformation", summary="What the gateway knows of itself")
    async def additional(gateway_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        return json_response(information())

    @router.get("/setup/gateways/{gateway_id}/additionalInformation/{template_id}")
    async def additional_one(gateway_id: str, template_id: str, _: Caller = guard.view()) -> Response:
        check(gateway_id)
        for entry in information():
            if entry["templateId"] == template_id:
                return json_response(entry)
        raise ApiError.not_found(f"No such additional information : {template_id}")

    return router
