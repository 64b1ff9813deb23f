"""The seed's Setup section beyond the setup tree: the current setup, its metadata, its features, its
disconnection alert and its additional information; all kept in the gateway's settings table, read once.

Where the seed is silent:
- ``features``: what this setup can do locally, by name (``localExecution``, ``localTriggers``, ...), with
  ``source`` ``GATEWAY`` (the vendor's sources are its commercial offers; here the gateway itself).
- the disconnection alert: stored as given and shown in ``/setup``'s ``disconnectionConfiguration``; a box
  with no push service sends nothing itself. Its default is ``notificationType`` ``NONE`` with a default
  title and text.
- additional information: entries a user adds (``POST .../{templateId}/{value}``), typed ``FREE_TEXT``.
- reseller delegation: no reseller reaches a local box: ``resellerDelegationType`` is ``NEVER`` and there is
  no end date.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.errors import ApiError
from hearth.store.repositories import SettingsRepository

NOTIFICATION_TYPES = ("NONE", "PUSH", "EMAIL", "SMS")
FEATURES = ("localExecution", "localTriggers", "localConditionGroups", "localEvents", "localHistory")
MAX_ADDITIONAL = 64


def features_json() -> list[dict[str, str]]:
    return [{"name": name, "source": "GATEWAY"} for name in FEATURES]


class DisconnectionAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notificationTitle: str = Field("Gateway disconnected", max_length=256)
    notificationText: str = Field("The gateway lost its connection", max_length=2048)
    targetPushSubscriptions: list[str] = Field(default_factory=list, max_length=64)
    notificationType: str = "NONE"


class SetupMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata: str = Field(max_length=4096)


class SetupSettings:
    """The setup's own small values, cached after the first read (the store's settings table is the truth)."""

    def __init__(self, repo: SettingsRepository) -> None:
        self._repo = repo
        self._loaded = False
        self.metadata: str | None = None
        self.disconnection: dict[str, Any] = DisconnectionAlert().model_dump()
        self.additional: dict[str, str] = {}

    async def load(self) -> SetupSettings:
        if not self._loaded:
            self.metadata = await self._repo.get("setup.metadata")
            if stored := await self._repo.get("setup.disconnectionAlert"):
                self.disconnection = json.loads(stored)
            if stored := await self._repo.get("setup.additionalInformation"):
                self.additional = json.loads(stored)
            self._loaded = True
        return self

    async def set_metadata(self, metadata: str) -> None:
        await self._repo.put("setup.metadata", metadata)
        self.metadata = metadata

    async def set_disconnection(self, config: dict[str, Any]) -> None:
        await self._repo.put("setup.disconnectionAlert", json.dumps(config))
        self.disconnection = config

    async def set_additional(self, additional: dict[str, str]) -> None:
        await self._repo.put("setup.additionalInformation", json.dumps(additional))
        self.additional = additional

    def setup_fields(self) -> dict[str, Any]:
        """What ``GET /setup`` adds from here."""
        out: dict[str, Any] = {
            "resellerDelegationType": "NEVER",
            "disconnectionConfiguration": self.disconnection,
            "features": features_json(),
        }
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out


_BY_GATEWAY: weakref.WeakKeyDictionary[Any, SetupSettings] = weakref.WeakKeyDictionary()


async def setup_settings(gw: Any) -> SetupSettings:
    found = _BY_GATEWAY.get(gw)
    if found is None:
        found = _BY_GATEWAY[gw] = SetupSettings(SettingsRepository(gw.db))
    return await found.load()


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    def check_setup(setup_oid: str) -> None:
        if setup_oid != gw.identity.setup_oid:
            raise ApiError.not_found(f"No such setup : {setup_oid}")

    @router.get("/setup/current", summary="The current setup (a gateway serves one)")
    async def current(_: Caller = guard.view()) -> Response:
        return json_response({"setupOID": gw.identity.setup_oid})

    @router.post("/setup/current/{setup_oid}", summary="Choose the current setup (this one is the only one)")
    async def choose_current(setup_oid: str, _: Caller = guard.view()) -> Response:
        check_setup(setup_oid)
        return json_response({})

    @router.put("/setup/metadata", summary="The setup's metadata")
    async def metadata(body: SetupMetadata, _: Caller = guard.admin()) -> Response:
        await (await setup_settings(gw)).set_metadata(body.metadata)
        return json_response({})

    @router.get("/setup/features", summary="What this setup does locally")
    async def features(_: Caller = guard.view()) -> Response:
        return json_response(features_json())

    @router.get("/setup/disconnectionAlert/configuration", summary="How a lost gateway is announced")
    async def disconnection(_: Caller = guard.view()) -> Response:
        return json_response((await setup_settings(gw)).disconnection)

    @router.put("/setup/disconnectionAlert/configuration")
    async def set_disconnection(body: DisconnectionAlert, _: Caller = guard.admin()) -> Response:
        if body.notificationType not in NOTIFICATION_TYPES:
            raise ApiError.bad_request(
                f"notificationType must be one of {', '.join(NOTIFICATION_TYPES)}", "INVALID_FIELD_VALUE"
            )
        await (await setup_settings(gw)).set_disconnection(body.model_dump())
        return json_response({})

    def entry(rank: int, template_id: str, value: str) -> dict[str, Any]:
        return {
            "templateId": template_id,
            "type": "FREE_TEXT",
            "label": template_id,
            "value": value,
            "rank": rank,
            "unsafe": False,
        }

    @router.get("/setup/additionalInformation", summary="The setup's additional information")
    async def additional(_: Caller = guard.view()) -> Response:
        stored = (await setup_settings(gw)).additional
        return json_response([entry(i, k, v) for i, (k, v) in enumerate(stored.items(), 1)])

    @router.get("/setup/additionalInformation/{template_id}")
    async def additional_one(template_id: str, _: Caller = guard.view()) -> Response:
        stored = (await setup_settings(gw)).additional
        if template_id not in stored:
            raise ApiError.not_found(f"No such additional information : {template_id}")
        return json_response(entry(list(stored).index(template_id) + 1, template_id, stored[template_id]))

    @router.post("/setup/additionalInformation/{template_id}/{value}", summary="Set an additional information")
    async def set_additional(
        template_id: str = Path(min_length=1, max_length=128),
        value: str = Path(min_length=1, max_length=1024),
        _: Caller = guard.admin(),
    ) -> Response:
        settings = await setup_settings(gw)
        if template_id not in settings.additional and len(settings.additional) >= MAX_ADDITIONAL:
            raise ApiError.bad_request(f"At most {MAX_ADDITIONAL} additional information entries")
        await settings.set_additional({**settings.additional, template_id: value})
        return json_response({})

    @router.delete("/setup/additionalInformation/{template_id}", status_code=204)
    async def delete_additional(template_id: str, _: Caller = guard.admin()) -> Response:
        settings = await setup_settings(gw)
        if template_id not in settings.additional:
            raise ApiError.not_found(f"No such additional information : {template_id}")
        await settings.set_additional({k: v for k, v in settings.additional.items() if k != template_id})
        return Response(status_code=204)

    return router
