"""Edge alert rules: the AirVantage alert API (seed 001) and its operation triggers (seed 004), on the LAN.

Extension path. Everything lives under ``{BASE}/ext/airvantage`` followed by the seed's own path, so a
client of the cloud API changes only its base URL (``https://na.airvantage.net`` becomes
``https://<gateway>:8443/enduser-mobile-web/1/enduserAPI/ext/airvantage``):

================================================  ====================================================
``POST /api/v2/alertrules``                       create (at most 50 rules); returns the rule with its id
``GET /api/v2/alertrules``                        a bare JSON array (as the seed), sorted by name
``GET|PUT|DELETE /api/v2/alertrules/{uid}``       PUT takes the full rule; DELETE answers ``"success"``
``GET /api/v3/alerts/current``                    AlertStates with their attribute values
``GET /api/v3/alerts/history``                    alerts, at most 500 (also ``/api/v2/alerts/history``)
``GET /api/v2/alerts/{uid}``                      one alert, in a list (deprecated by the seed)
``GET /api/v2/alertstates``                       AlertStates
``GET /api/v2/alertstates/history``               state flips, at most 500
``GET|POST /api/v1/operations/triggers``          operation triggers (at most 50), a JSON array
``GET|PUT|DELETE /api/v1/operations/triggers/{uid}``
================================================  ====================================================

Reads need a ``view`` token, writes an ``admin`` one. Refusals are 400 with the seeds' dotted codes:
``{"errorCode": "alert.rule.unknown.id", "error": "uid: no alert rule '...'"}``. The ``company``
parameter is accepted and ignored (the gateway is one company: its ``companyId`` is the gateway id).

Rules name device states by the rule of ``hearth.alerts.attributes``: ``attributeId.targetId`` is the
device (deviceURL or oid; null for every device) and ``attributeId.name`` is ``DATA.<stateName>`` (e.g.
``DATA.core:TemperatureState``) or ``AGG.<stateName>/<H|D|M>`` with ``function`` MIN, MAX, MEAN, SUM or CNT;
``DATA._LON_LAT`` is the device's ``_LON_LAT`` state. Rules on ``targetType: COMPANY`` or on carrier usage
are stored and shown with ``"cloudOnly": true``: the gateway does not evaluate them.

Criteria of ``alerts/current`` and ``alertstates`` (the seed's combinations only): none, ``targetId``,
``targetId+ruleId``, ``state``, ``state+targetType``, ``state+targetType+ruleId``; else
``alert.invalid.criteria``. Sorted by ``stateChangeTs`` (oldest first), paged by ``offset``/``size``
(``count`` is the number of matches). History: ``from``/``to`` in epoch ms (default the last 90 days),
``asc=true`` gives ``[from, to[`` oldest first, ``asc=false`` (default) ``]from, to]`` newest first;
``size`` (default 100) is capped at 500; ``from >= to`` is ``system.invalid.timerange``.

Operation triggers run a persisted action group (``"operationType": "RUN_ACTION_GROUP",
"parameters": {"actionGroupOID": ...}``) as an execution of type ``RAW_TRIGGER_GATEWAY`` and subType
``IFT_CONDITION`` whose ``triggerId`` is the trigger's uid; see ``hearth.alerts.triggers``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from hearth.alerts import errors
from hearth.alerts.engine import AlertEngine
from hearth.alerts.records import TARGET_TYPE
from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response

EXT = "/ext/airvantage"
RULES = f"{EXT}/api/v2/alertrules"
TRIGGERS = f"{EXT}/api/v1/operations/triggers"
MAX_HISTORY = 500
DEFAULT_WINDOW_MS = 90 * 86_400_000
# The seed's criteria combinations for current alerts and alert states.
CRITERIA: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"targetId"}),
    frozenset({"targetId", "ruleId"}),
    frozenset({"state"}),
    frozenset({"state", "targetType"}),
    frozenset({"state", "targetType", "ruleId"}),
)


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter(tags=["alerts (AirVantage extension)"])
    gw = ctx.gateway

    def engine() -> AlertEngine:
        alerts: AlertEngine = gw.alerts
        return alerts

    # ------------------------------------------------------------------ rules

    @router.post(RULES, summary="Create an alert rule (seed 001)")
    async def create_rule(body: Any = Body(None), _: Caller = guard.admin()) -> Response:
        return json_response((await engine().create_rule(body)).to_json())

    @router.get(RULES, summary="Alert rules, sorted by name")
    async def list_rules(_: Caller = guard.view()) -> Response:
        # Seed 001: "Retrieves all rules of your company sorted by name": a bare JSON array.
        return json_response([r.to_json() for r in engine().rules()])

    @router.put(RULES, include_in_schema=False)
    @router.delete(RULES, include_in_schema=False)
    async def rule_without_id(_: Caller = guard.admin()) -> Response:
        raise errors.refuse(errors.MISSING_ID, "uid: a rule id must be specified")

    @router.get(RULES + "/{uid}", summary="One alert rule")
    async def get_rule(uid: str, _: Caller = guard.view()) -> Response:
        return json_response(engine().rule(uid).to_json())

    @router.put(RULES + "/{uid}", summary="Replace an alert rule (every field is expected)")
    async def update_rule(uid: str, body: Any = Body(None), _: Caller = guard.admin()) -> Response:
        return json_response((await engine().update_rule(uid, body)).to_json())

    @router.delete(RULES + "/{uid}", summary="Delete an alert rule, its states and its triggers")
    async def delete_rule(uid: str, _: Caller = guard.admin()) -> Response:
        await engine().delete_rule(uid)
        return json_response("success")

    # ------------------------------------------------------------------ current states

    def matching_states(
        target_id: str | None, rule_id: str | None, state: bool | None, target_type: str | None
    ) -> list[Any]:
        given = frozenset(
            name
            for name, value in (
                ("targetId", target_id),
                ("ruleId", rule_id),
                ("state", state),
                ("targetType", target_type),
            )
            if value is not None
        )
        if given not in CRITERIA:
            raise errors.refuse(
                errors.INVALID_CRITERIA,
                f"criteria {', '.join(sorted(given))}: allowed are targetId, "
                "targetId+ruleId, state, state+targetType, state+targetType+ruleId",
            )
        alerts = engine()
        url = alerts.targets.url_of(target_id) if target_id is not None else None
        return [
            s
            for s in alerts.states()
            if (url is None or s.target_id == url)
            and (rule_id is None or s.rule_id == rule_id)
            and (state is None or s.state == state)
            and (target_type is None or target_type == TARGET_TYPE)
        ]

    def page(items: list[dict[str, Any]], offset: int, size: int) -> Response:
        return json_response({"items": items[offset : offset + size], "count": len(items)})

    @router.get(f"{EXT}/api/v3/alerts/current", summary="Current alerts: AlertStates with their attribute values")
    async def current_alerts(
        target_id: str | None = Query(None, alias="targetId"),
        rule_id: str | None = Query(None, alias="ruleId"),
        state: bool | None = Query(None),
        target_type: str | None = Query(None, alias="targetType"),
        offset: int = Query(0, ge=0),
        size: int = Query(100, ge=1, le=MAX_HISTORY),
        company: str | None = Query(None),
        _: Caller = guard.view(),
    ) -> Response:
        states = matching_states(target_id, rule_id, state, target_type)
        return page([s.current_json(gw.identity.gateway_id) for s in states], offset, size)

    @router.get(f"{EXT}/api/v2/alertstates", summary="Alert states")
    async def alert_states(
        target_id: str | None = Query(None, alias="targetId"),
        rule_id: str | None = Query(None, alias="ruleId"),
        state: bool | None = Query(None),
        target_type: str | None = Query(None, alias="targetType"),
        offset: int = Query(0, ge=0),
        size: int = Query(100, ge=1, le=MAX_HISTORY),
        company: str | None = Query(None),
        _: Caller = guard.view(),
    ) -> Response:
        states = matching_states(target_id, rule_id, state, target_type)
        return page([s.to_json(gw.identity.gateway_id) for s in states], offset, size)

    # ------------------------------------------------------------------ history

    # Epoch ms up to the year 9999: anything larger is not a date (and would not fit SQLite's integers).
    MAX_TIME_MS = 253_402_300_799_999

    def window(start: int | None, end: int | None) -> tuple[int, int]:
        for name, value in (("from", start), ("to", end)):
            if value is not None and not 0 <= value <= MAX_TIME_MS:
                raise errors.refuse(errors.INVALID_TIMERANGE, f"{name} ({value}) is not a time in epoch ms")
        end = end if end is not None else int(gw.clock.now() * 1000)
        start = start if start is not None else end - DEFAULT_WINDOW_MS
        if start >= end:
            raise errors.refuse(errors.INVALID_TIMERANGE, f"from ({start}) must be lower than to ({end})")
        return start, end

    def rules_of(rule_ids: str | None) -> list[str] | None:
        return [r for r in (rule_ids or "").split(",") if r.strip()] or None

    async def alert_history(
        target_id: str | None, rule_ids: str | None, start: int | None, end: int | None, asc: bool, size: int
    ) -> Response:
        alerts = engine()
        first, last = window(start, end)
        url = alerts.targets.url_of(target_id) if target_id is not None else None
        found = await alerts.repo.alerts(url, rules_of(rule_ids), first, last, asc, min(size, MAX_HISTORY))
        items = [a.to_json(gw.identity.gateway_id) for a in found]
        return json_response({"items": items, "count": len(items)})

    @router.get(f"{EXT}/api/v3/alerts/history", summary="Alerts between two dates (at most 500)")
    async def alerts_history(
        target_id: str | None = Query(None, alias="targetId"),
        rule_ids: str | None = Query(None, alias="ruleIds"),
        start: int | None = Query(None, alias="from"),
        end: int | None = Query(None, alias="to"),
        asc: bool = Query(False),
        size: int = Query(100, ge=1),
        company: str | None = Query(None),
        _: Caller = guard.view(),
    ) -> Response:
        return await alert_history(target_id, rule_ids, start, end, asc, size)

    @router.get(f"{EXT}/api/v2/alerts/history", summary="Alerts between two dates (v2 of the same)")
    async def alerts_history_v2(
        target_id: str | None = Query(None, alias="targetId"),
        rule_ids: str | None = Query(None, alias="ruleIds"),
        start: int | None = Query(None, alias="from"),
        end: int | None = Query(None, alias="to"),
        asc: bool = Query(False),
        size: int = Query(100, ge=1),
        company: str | None = Query(None),
        _: Caller = guard.view(),
    ) -> Response:
        return await alert_history(target_id, rule_ids, start, end, asc, size)

    @router.get(f"{EXT}/api/v2/alerts/{{uid}}", summary="One alert (deprecated by the seed: use the history)")
    async def one_alert(uid: str, company: str | None = Query(None), _: Caller = guard.view()) -> Response:
        alert = await engine().repo.alert(uid)
        if alert is None:
            raise errors.refuse(errors.UNKNOWN_ALERT, f"uid: no alert {uid!r}")
        return json_response([alert.to_json(gw.identity.gateway_id)])

    @router.get(f"{EXT}/api/v2/alertstates/history", summary="Alert state flips between two dates (at most 500)")
    async def states_history(
        target_id: str | None = Query(None, alias="targetId"),
        rule_ids: str | None = Query(None, alias="ruleIds"),
        start: int | None = Query(None, alias="from"),
        end: int | None = Query(None, alias="to"),
        asc: bool = Query(False),
        size: int = Query(100, ge=1),
        company: str | None = Query(None),
        _: Caller = guard.view(),
    ) -> Response:
        alerts = engine()
        first, last = window(start, end)
        url = alerts.targets.url_of(target_id) if target_id is not None else None
        found = await alerts.repo.state_changes(url, rules_of(rule_ids), first, last, asc, min(size, MAX_HISTORY))
        items = [c.to_json(gw.identity.gateway_id) for c in found]
        return json_response({"items": items, "count": len(items)})

    # ------------------------------------------------------------------ operation triggers

    @router.get(TRIGGERS, summary="Operation triggers (seed 004)")
    async def list_triggers(_: Caller = guard.view()) -> Response:
        return json_response([t.to_json() for t in engine().triggers()])

    @router.post(TRIGGERS, summary="Create an operation trigger (at most 50)")
    async def create_trigger(body: Any = Body(None), _: Caller = guard.admin()) -> Response:
        return json_response((await engine().create_trigger(body)).to_json())

    @router.get(TRIGGERS + "/{uid}")
    async def get_trigger(uid: str, _: Caller = guard.view()) -> Response:
        return json_response(engine().trigger(uid).to_json())

    @router.put(TRIGGERS + "/{uid}")
    async def update_trigger(uid: str, body: Any = Body(None), _: Caller = guard.admin()) -> Response:
        return json_response((await engine().update_trigger(uid, body)).to_json())

    @router.delete(TRIGGERS + "/{uid}")
    async def delete_trigger(uid: str, _: Caller = guard.admin()) -> Response:
        await engine().delete_trigger(uid)
        return Response(status_code=200)

    # ------------------------------------------------------------------ task outcomes (AirVantage connector)

    @router.get(f"{EXT}/api/v1/operations/tasks", summary="Tasks this gateway ran for AirVantage, with outcomes")
    async def tasks(
        target: str | None = Query(None),
        states: str | None = Query(None),
        fields: str | None = Query(None),
        offset: int = Query(0, ge=0),
        size: int = Query(100, ge=1, le=500),
        _: Caller = guard.view(),
    ) -> Response:
        connector = gw.extensions.task_outcomes("airvantage")
        if not target:
            return json_response(
                {"errorCode": "operation.task.missing.target", "error": "target is required"}, status=400
            )
        found = [] if connector is None else [t for t in await connector.outcomes() if t.get("target") == target]
        if states:
            wanted = set(states.split(","))
            found = [t for t in found if t.get("state") in wanted]
        # Seed 004: without ``fields`` only these attributes are returned.
        names = [f for f in fields.split(",") if f in TASK_FIELDS] if fields else list(TASK_DEFAULT_FIELDS)
        items = [{n: t.get(n) for n in names} for t in found[offset : offset + size]]
        return json_response({"items": items, "count": len(found), "size": len(items), "offset": offset})

    return router


TASK_DEFAULT_FIELDS = ("uid", "date", "createdAt", "executedAt", "rank", "state", "target")
TASK_FIELDS = (
    *TASK_DEFAULT_FIELDS,
    "targetDescription",
    "input",
    "messages",
    "operation",
    "trigger",
)  # trigger: a local operation's (seed 004 operation field)
