"""``/setup/calendar``: calendar days, rules and rule sets, the schedule, the day view and the switch."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.core.calendar.planning import DayFilter
from hearth.model.errors import ApiError, ErrorCode


def _number(text: str, name: str, low: int, high: int) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= high:
        raise ApiError.bad_request(
            f"Invalid {name} : {text[:40]} (a number from {low} to {high})", ErrorCode.INVALID_FIELD_VALUE
        )
    return int(text)


def _date(year: str, month: str, day: str) -> date:
    y, m, d = _number(year, "year", 1, 9999), _number(month, "month", 1, 12), _number(day, "day", 1, 31)
    try:
        return date(y, m, d)
    except ValueError:
        raise ApiError.bad_request(f"Invalid date : {y}-{m:02d}-{d:02d}", ErrorCode.INVALID_FIELD_VALUE) from None


def _texts(body: dict[str, Any], key: str) -> frozenset[str]:
    value = body.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 1000:
        raise ApiError.bad_request(
            f"Invalid calendar objects filter: {key}: must be a list of texts", ErrorCode.INVALID_FIELD_VALUE
        )
    return frozenset(value)


def _filter(body: Any) -> DayFilter:
    if body is None:
        return DayFilter()
    if not isinstance(body, dict):
        raise ApiError.bad_request("Invalid calendar objects filter: must be an object", ErrorCode.INVALID_FIELD_VALUE)
    priority = body.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise ApiError.bad_request(
            "Invalid calendar objects filter: priority: must be an integer", ErrorCode.INVALID_FIELD_VALUE
        )
    return DayFilter(
        _texts(body, "calendarDaysOid"), _texts(body, "calendarRulesOid"), _texts(body, "timeTriggersId"), priority
    )


def _list(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list) or not body:
        raise ApiError.bad_request(f"Invalid {what}: expected a non-empty list", ErrorCode.INVALID_FIELD_VALUE)
    if len(body) > 500:
        raise ApiError.bad_request(f"Invalid {what}: at most 500 at once", ErrorCode.INVALID_FIELD_VALUE)
    return body


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway

    # ------------------------------------------------------------------ days

    @router.get("/setup/calendar/days", summary="Every calendar day")
    async def days(_: Caller = guard.view("bulk")) -> Response:
        return json_response([d.to_json() for d in gw.calendar.days()])

    @router.post("/setup/calendar/days", status_code=201)
    async def create_day(body: Any = Body(...), _: Caller = guard.admin()) -> Response:
        day = await gw.calendar.create_day(body)
        return json_response({"calendarDayOID": day.oid}, 201)

    @router.put("/setup/calendar/days", summary="Update a calendar day (its body carries the oid)")
    async def update_day(body: Any = Body(...), _: Caller = guard.admin()) -> Response:
        await gw.calendar.update_day(body)
        return json_response({})

    @router.get("/setup/calendar/days/{oid}")
    async def one_day(oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.calendar.day(oid).to_json())

    @router.delete("/setup/calendar/days/{oid}", status_code=204)
    async def delete_day(oid: str, _: Caller = guard.admin()) -> Response:
        await gw.calendar.delete_day(oid)
        return Response(status_code=204)

    # ------------------------------------------------------------------ schedule and day view

    @router.get(
        "/setup/calendar/schedule/{start_date}/{end_date}",
        summary="Calendar objects per day (startDate, endDate: epoch days)",
    )
    async def schedule(start_date: str, end_date: str, _: Caller = guard.view("bulk")) -> Response:
        return json_response(
            gw.calendar.schedule(
                _number(start_date, "startDate", 0, 2_900_000), _number(end_date, "endDate", 0, 2_900_000)
            )
        )

    @router.get("/setup/calendar/schedule/{year}/{month}/{day}")
    async def objects_on(year: str, month: str, day: str, _: Caller = guard.view("bulk")) -> Response:
        return json_response(gw.calendar.objects_on(_date(year, month, day)))

    @router.post("/setup/calendar/schedule/{year}/{month}/{day}/dayView", status_code=201)
    async def day_view(year: str, month: str, day: str, body: Any = Body(None), _: Caller = guard.view()) -> Response:
        return json_response(gw.calendar.day_view(_date(year, month, day), _filter(body)).to_json(), 201)

    # ------------------------------------------------------------------ rules

    @router.get("/setup/calendar/rules", summary="Every calendar rule")
    async def rules(_: Caller = guard.view("bulk")) -> Response:
        return json_response([r.to_json() for r in gw.calendar.rules()])

    @router.post("/setup/calendar/rules", status_code=201)
    async def create_rule(
        body: Any = Body(...), checks: bool = Query(True, alias="withTimeValidityChecks"), _: Caller = guard.admin()
    ) -> Response:
        [rule] = await gw.calendar.create_rules([body], checks=checks)
        return json_response({"calendarRuleId": rule.id, "calendarRuleOID": rule.oid}, 201)

    @router.put("/setup/calendar/rules", summary="Update a calendar rule (its body carries the oid)")
    async def update_rule(
        body: Any = Body(...), checks: bool = Query(True, alias="withTimeValidityChecks"), _: Caller = guard.admin()
    ) -> Response:
        await gw.calendar.update_rules([body], checks=checks)
        return json_response({})

    @router.get("/setup/calendar/rules/{oid}")
    async def one_rule(oid: str, _: Caller = guard.view()) -> Response:
        return json_response(gw.calendar.rule(oid).to_json())

    @router.delete("/setup/calendar/rules/{oid}", status_code=204)
    async def delete_rule(oid: str, _: Caller = guard.admin()) -> Response:
        await gw.calendar.delete_rules([oid])
        return Response(status_code=204)

    @router.post("/setup/calendar/ruleSet", status_code=201, summary="Create several calendar rules, all or none")
    async def create_rule_set(
        body: Any = Body(...), checks: bool = Query(True, alias="withTimeValidityChecks"), _: Caller = guard.admin()
    ) -> Response:
        created = await gw.calendar.create_rules(_list(body, "set of calendar rules"), checks=checks)
        return json_response(
            {"calendarRulesIds": [r.id for r in created], "calendarRulesOIDs": [r.oid for r in created]}, 201
        )

    @router.put("/setup/calendar/ruleSet", status_code=201, summary="Update several calendar rules, all or none")
    async def update_rule_set(
        body: Any = Body(...), checks: bool = Query(True, alias="withTimeValidityChecks"), _: Caller = guard.admin()
    ) -> Response:
        # 201 as the End-User API documents it for this operation.
        await gw.calendar.update_rules(_list(body, "set of calendar rules"), checks=checks)
        return json_response({}, 201)

    @router.post("/setup/calendar/ruleSet/_delete", status_code=204, summary="Delete several calendar rules")
    async def delete_rule_set(body: Any = Body(...), _: Caller = guard.admin()) -> Response:
        oids = _list(body, "calendar rules oids")
        if not all(isinstance(o, str) for o in oids):
            raise ApiError.bad_request(
                "Invalid calendar rules oids: expected a list of texts", ErrorCode.INVALID_FIELD_VALUE
            )
        await gw.calendar.delete_rules(oids)
        return Response(status_code=204)

    # ------------------------------------------------------------------ the switch

    @router.get("/setup/calendar/status", summary="Whether the calendar runs")
    async def status(_: Caller = guard.view()) -> Response:
        return json_response({"enabled": gw.calendar.enabled})

    @router.put("/setup/calendar/status")
    async def set_status(body: Any = Body(...), _: Caller = guard.admin()) -> Response:
        enabled = body.get("enabled") if isinstance(body, dict) else None
        if not isinstance(enabled, bool):
            raise ApiError.bad_request(
                "Invalid calendar status: enabled: must be true or false", ErrorCode.INVALID_FIELD_VALUE
            )
        await gw.calendar.set_enabled(enabled)
        return json_response({})

    return router
