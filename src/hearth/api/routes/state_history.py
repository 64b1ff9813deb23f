"""Device State History (seed 003): ``/setup/devices/{deviceURL}/states[/{name}]/history...``.

Raw points, daily/monthly/annual aggregates, the stacked variants, CSV exports; one state or all states of
a device. Reads go to the history reader's own connection, never to the write path. The shapes and the
seed's silences are in ``api/state_history_json.py``.

Limits (the seed: "Max history query span is limited to 3 days if limit parameter is not set"; the rest is
ours, so that no request can ask the box for an unbounded answer):
- raw points: a span of at most 3 days without ``limit``; with ``limit`` (1..50000) any span, the newest
  ``limit`` points of it. Without ``limit`` at most the newest 50000 points of the 3 days. The all-states
  variant answers at most 50000 points in all, shared equally among the states (``limit`` is per state).
- daily: at most 1100 days; monthly: 600 months (50 years); annual: 100 years; stacked raw: 3 days.
- exports: raw points of at most 366 days, the newest 100000; ``.../history/export`` the newest 100000.
Dates are ms since the epoch, ASCII digits, up to the end of year 9999; ``from`` <= ``to``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.state_history_json import (
    CUMULATIVE,
    DISCRETE,
    Summary,
    history_json,
    in_level,
    method_of,
    point_json,
    points_csv,
    stack_levels,
    stacked_csv,
    stacked_json,
    summarise,
    summary_json,
    unit_of,
)
from hearth.model.device import Device
from hearth.model.errors import ApiError, ErrorCode
from hearth.store.rollups import Bucket, Resolution, bucket_bounds, years_of

DAY_MS = 86_400_000
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
RAW_SPAN_MS = 3 * DAY_MS
MAX_POINTS = 50_000
MAX_EXPORT = 100_000
EXPORT_SPAN_MS = 366 * DAY_MS
SPANS = {"raw": RAW_SPAN_MS, "daily": 1100 * DAY_MS, "monthly": 50 * 366 * DAY_MS, "annual": 100 * 366 * DAY_MS}
PATH = "/setup/devices/{device_url:deviceurl}/states"


def _ms(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 15 or int(text) > MAX_MS:
        raise ApiError.bad_request(
            f"Invalid {what} date: {text[:32]!r} (ms since the epoch, 0 to {MAX_MS})", ErrorCode.INVALID_FIELD_VALUE
        )
    return int(text)


def _range(from_text: str, to_text: str, span_ms: int, kind: str) -> tuple[int, int]:
    start, end = _ms(from_text, "from"), _ms(to_text, "to")
    if start > end:
        raise ApiError.bad_request("from must not be after to", ErrorCode.INVALID_FIELD_VALUE)
    if end - start > span_ms:
        raise ApiError.bad_request(
            f"Max {kind} history query span is {span_ms // DAY_MS} days", ErrorCode.INVALID_FIELD_VALUE
        )
    return start, end


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text[:9]) <= MAX_POINTS or len(text) > 9:
        raise ApiError.bad_request(f"Invalid limit: {text[:32]!r} (1 to {MAX_POINTS})", ErrorCode.INVALID_FIELD_VALUE)
    return int(text)


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway
    reader = gw.recorder.reader

    def tz() -> tzinfo:
        return gw.location.sun.tz

    async def series_for(device: Device, name: str) -> int | None:
        """The state's series; None when the device has the state but no history of it yet."""
        sid = (await reader.series_of(device.url_text)).get(name)
        if sid is None and name not in device.states:
            raise ApiError.not_found(f"No such state : {name}")
        return sid

    async def all_series(device: Device) -> list[tuple[str, int]]:
        """Every state of the device with history, in the device's state order (then any no longer listed)."""
        known = await reader.series_of(device.url_text)
        order = [n for n in device.states if n in known] + sorted(n for n in known if n not in device.states)
        return [(n, known[n]) for n in order]

    async def numeric_data(sid: int | None) -> bool:
        if sid is None:
            return False
        _, rows = await reader.buckets(sid, Resolution.MONTH, 0, MAX_MS)
        return any(b.total is not None for b in rows[-1:])

    async def method(device: Device, name: str, sid: int | None) -> int:
        if name in device.states:
            return method_of(device, name, False)
        return method_of(device, name, await numeric_data(sid))

    async def summaries(sid: int | None, kind: str, start: int, end: int, how: int) -> list[Summary]:
        if sid is None:
            return []
        zone = tz()
        previous: Bucket | None
        if kind == "annual":
            year_start = datetime.fromtimestamp(start / 1000, zone).replace(
                month=1, day=1, hour=0, minute=0, second=0, microsecond=0
            )
            first = bucket_bounds(int(year_start.timestamp() * 1000), Resolution.MONTH, zone)[0]
            previous, months = await reader.buckets(sid, Resolution.MONTH, first, end, how == CUMULATIVE)
            rows = years_of(months, zone)
        else:
            resolution = {"raw": Resolution.HOUR, "daily": Resolution.DAY, "monthly": Resolution.MONTH}[kind]
            first = bucket_bounds(start, resolution, zone)[0]
            previous, rows = await reader.buckets(sid, resolution, first, end, how == CUMULATIVE)
        return summarise(rows, previous, how)

    async def raw_one(device: Device, name: str, sid: int | None, start: int, end: int, limit: int) -> dict[str, Any]:
        points = await reader.points(sid, start, end, limit) if sid is not None else []
        return history_json(
            [point_json(t, v) for t, v in points], await method(device, name, sid), unit_of(device, name)
        )

    async def aggregate_one(
        device: Device, name: str, sid: int | None, kind: str, start: int, end: int
    ) -> dict[str, Any]:
        how = await method(device, name, sid)
        values = [summary_json(s) for s in await summaries(sid, kind, start, end, how)]
        return history_json(values, how, unit_of(device, name))

    async def stacked_one(
        device: Device, name: str, sid: int | None, kind: str, start: int, end: int, *, refuse: bool
    ) -> dict[str, Any] | None:
        how = await method(device, name, sid)
        if how == DISCRETE:
            if refuse:
                raise ApiError.unsupported(f"{name} is not a number: its history cannot be stacked")
            return None
        levels = stack_levels(device)
        members: list[list[list[Summary]]] = [[await summaries(sid, kind, start, end, how)]]
        others = [d for d in gw.registry.all() if d is not device]
        for level in levels[1:]:
            group = [device] + [d for d in others if in_level(d, level)]
            level_rows = []
            for member in group:
                member_sid = sid if member is device else (await reader.series_of(member.url_text)).get(name)
                if member_sid is not None:
                    level_rows.append(await summaries(member_sid, kind, start, end, how))
            members.append(level_rows)
        return stacked_json(levels, members, how, unit_of(device, name))

    def csv_response(text: str, filename: str) -> Response:
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    # ------------------------------------------------------------------ one state

    def aggregate_route(kind: str, path: str, summary: str, deprecated: bool = False) -> None:
        @router.get(f"{PATH}/{{name}}/history/{path}/{{from_ms}}/{{to_ms}}", summary=summary, deprecated=deprecated)
        async def aggregate(device_url: str, name: str, from_ms: str, to_ms: str, _: Caller = guard.view()) -> Response:
            device = gw.registry.require(device_url)
            start, end = _range(from_ms, to_ms, SPANS[kind], kind)
            return json_response(await aggregate_one(device, name, await series_for(device, name), kind, start, end))

    def stacked_route(kind: str, path: str, summary: str) -> None:
        @router.get(f"{PATH}/{{name}}/history/stacked/{path}{{from_ms}}/{{to_ms}}", summary=summary)
        async def stacked(device_url: str, name: str, from_ms: str, to_ms: str, _: Caller = guard.view()) -> Response:
            device = gw.registry.require(device_url)
            start, end = _range(from_ms, to_ms, SPANS[kind], kind)
            return json_response(
                await stacked_one(device, name, await series_for(device, name), kind, start, end, refuse=True)
            )

    def all_aggregate_route(kind: str, path: str, summary: str) -> None:
        @router.get(f"{PATH}/history/{path}{{from_ms}}/{{to_ms}}", summary=summary)
        async def all_aggregate(device_url: str, from_ms: str, to_ms: str, _: Caller = guard.view()) -> Response:
            device = gw.registry.require(device_url)
            start, end = _range(from_ms, to_ms, SPANS[kind], kind)
            return json_response(
                [
                    {**await aggregate_one(device, n, sid, kind, start, end), "name": n}
                    for n, sid in await all_series(device)
                ]
            )

    def all_stacked_route(kind: str, path: str, summary: str) -> None:
        @router.get(f"{PATH}/history/stacked/{path}{{from_ms}}/{{to_ms}}", summary=summary)
        async def all_stacked(device_url: str, from_ms: str, to_ms: str, _: Caller = guard.view()) -> Response:
            device = gw.registry.require(device_url)
            start, end = _range(from_ms, to_ms, SPANS[kind], kind)
            out = []
            for n, sid in await all_series(device):
                one = await stacked_one(device, n, sid, kind, start, end, refuse=False)
                if one is not None:
                    out.append({**one, "name": n})
            return json_response(out)

    # Literal segments first: FastAPI takes the first route that matches.
    @router.get(f"{PATH}/{{name}}/history/export", summary="Export the state's newest points (CSV)")
    async def export_all(device_url: str, name: str, _: Caller = guard.view()) -> Response:
        device = gw.registry.require(device_url)
        sid = await series_for(device, name)
        points = await reader.newest_points(sid, MAX_EXPORT) if sid is not None else []
        return csv_response(points_csv([point_json(t, v) for t, v in points], tz()), "history.csv")

    @router.get(
        f"{PATH}/{{name}}/history/stacked/daily/{{from_ms}}/{{to_ms}}/export",
        summary="Export daily stacked history values (CSV)",
    )
    async def export_stacked_daily(
        device_url: str, name: str, from_ms: str, to_ms: str, _: Caller = guard.view()
    ) -> Response:
        device = gw.registry.require(device_url)
        start, end = _range(from_ms, to_ms, SPANS["daily"], "daily")
        stacked = await stacked_one(device, name, await series_for(device, name), "daily", start, end, refuse=True)
        assert stacked is not None
        return csv_response(stacked_csv(stacked, tz()), "stacked-daily-history.csv")

    @router.get(f"{PATH}/{{name}}/history/{{from_ms}}/{{to_ms}}/export", summary="Export history values (CSV)")
    async def export_range(device_url: str, name: str, from_ms: str, to_ms: str, _: Caller = guard.view()) -> Response:
        device = gw.registry.require(device_url)
        start, end = _range(from_ms, to_ms, EXPORT_SPAN_MS, "export")
        sid = await series_for(device, name)
        points = await reader.points(sid, start, end, MAX_EXPORT) if sid is not None else []
        return csv_response(points_csv([point_json(t, v) for t, v in points], tz()), "history.csv")

    for kind in ("daily", "monthly", "annual"):
        title = kind.capitalize()
        aggregate_route(kind, kind, f"{title} history values")
        stacked_route(kind, f"{kind}/", f"{title} stacked history values")
        all_stacked_route(kind, f"{kind}/", f"{title} stacked states history values")
        all_aggregate_route(kind, f"{kind}/", f"{title} states history values")
    aggregate_route("monthly", "montly", "Monthly history values (the seed's deprecated spelling)", deprecated=True)
    stacked_route("raw", "", "Stacked history values (hourly buckets, at most 3 days)")
    all_stacked_route("raw", "", "Stacked states history values (hourly buckets, at most 3 days)")

    @router.get(f"{PATH}/history/{{from_ms}}/{{to_ms}}", summary="States history values (at most 3 days without limit)")
    async def all_raw(
        device_url: str, from_ms: str, to_ms: str, limit: str | None = Query(None), _: Caller = guard.view()
    ) -> Response:
        device = gw.registry.require(device_url)
        count = _limit(limit)
        start, end = _range(from_ms, to_ms, MAX_MS if count else RAW_SPAN_MS, "raw")
        series = await all_series(device)
        each = min(count or MAX_POINTS, max(1, MAX_POINTS // max(1, len(series))))  # 50000 points in all
        return json_response([{**await raw_one(device, n, sid, start, end, each), "name": n} for n, sid in series])

    @router.get(f"{PATH}/{{name}}/history/{{from_ms}}/{{to_ms}}", summary="History values (raw points)")
    async def raw(
        device_url: str, name: str, from_ms: str, to_ms: str, limit: str | None = Query(None), _: Caller = guard.view()
    ) -> Response:
        device = gw.registry.require(device_url)
        count = _limit(limit)
        start, end = _range(from_ms, to_ms, MAX_MS if count else RAW_SPAN_MS, "raw")
        sid = await series_for(device, name)
        return json_response(await raw_one(device, name, sid, start, end, count or MAX_POINTS))

    return router
