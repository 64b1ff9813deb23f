"""``/setup/location`` and the dawn and dusk times computed from it."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.model.errors import ApiError, ErrorCode


def _day(year: int, month: int, day: int) -> date:
    try:
        if not 1900 <= year <= 2200:
            raise ValueError("year out of range")
        return date(year, month, day)
    except (ValueError, OverflowError):
        raise ApiError.bad_request(
            f"Invalid date : {year}/{month}/{day} (years 1900 to 2200)", ErrorCode.INVALID_FIELD_VALUE
        ) from None


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    @router.get("/setup/location", summary="The setup's location (the host's timezone until one is set)")
    async def location(_: Caller = guard.view()) -> Response:
        return json_response(gw.location.to_json())

    @router.put("/setup/location", summary="Update the location (fields given replace, null clears)")
    async def update_location(body: Any = Body(...), _: Caller = guard.admin()) -> Response:
        await gw.location.update(body)
        return json_response({})

    @router.get("/setup/dawnTime", summary="Today's dawn ({} when undefined: no coordinates, polar day or night)")
    async def dawn(_: Caller = guard.view()) -> Response:
        return json_response(gw.location.dawn_json())

    @router.get("/setup/dawnTime/{year}/{month}/{day}")
    async def dawn_on(year: int, month: int, day: int, _: Caller = guard.view()) -> Response:
        return json_response(gw.location.dawn_json(_day(year, month, day)))

    @router.get("/setup/duskTime", summary="Today's dusk ({} when undefined: no coordinates, polar day or night)")
    async def dusk(_: Caller = guard.view()) -> Response:
        return json_response(gw.location.dusk_json())

    @router.get("/setup/duskTime/{year}/{month}/{day}")
    async def dusk_on(year: int, month: int, day: int, _: Caller = guard.view()) -> Response:
        return json_response(gw.location.dusk_json(_day(year, month, day)))

    return router
