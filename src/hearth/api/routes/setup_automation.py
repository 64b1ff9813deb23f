"""``POST /setup/automation``: a list of operations on action groups run in order, all or nothing.

The seed: operations ``actionGroupOperation``, ``calendarDayOperation``, ``calendarRuleOperation``,
``setupTriggerOperation``; types READ, CREATE, UPDATE, PATCH, DELETE; ``referenceOID`` for READ, PATCH and
DELETE; the full object for CREATE and UPDATE; "either all operations will succeed or fail".

All or nothing, here: every operation is checked before any is applied (the object named exists, a new or
changed group fits its devices and commands, nothing is deleted twice or changed after its deletion), so a
refusal changes nothing. Action groups are served; calendar and trigger operations are refused as a whole
(their stores have no bulk path yet), as is PATCH on an action group (the seed lists no patchable field of
one). The answer has one response per operation, in order: the group as it is after the operation (as it was,
for DELETE).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.deps import ApiContext, Guard
from hearth.api.errors import json_response
from hearth.api.routes import procedures
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError, ErrorCode

OPERATION_KINDS = ("actionGroupOperation", "calendarDayOperation", "calendarRuleOperation", "setupTriggerOperation")
TYPES = ("READ", "CREATE", "UPDATE", "PATCH", "DELETE")
MAX_OPERATIONS = 100


def _invalid(index: int, message: str) -> ApiError:
    return ApiError.bad_request(f"operation {index}: {message}", ErrorCode.INVALID_FIELD_VALUE)


def _parse(index: int, item: Any) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(item, dict) or len(item) != 1:
        raise _invalid(index, f"must be an object with one of {', '.join(OPERATION_KINDS)}")
    [(kind, operation)] = item.items()
    if kind not in OPERATION_KINDS:
        raise _invalid(index, f"unknown operation {kind!r} (one of {', '.join(OPERATION_KINDS)})")
    if not isinstance(operation, dict):
        raise _invalid(index, f"{kind} must be an object")
    kind_type = operation.get("type")
    if kind_type not in TYPES:
        raise _invalid(index, f"{kind}.type must be one of {', '.join(TYPES)}")
    if kind != "actionGroupOperation":
        raise ApiError.unsupported(f"operation {index}: {kind} is not available in bulk on this gateway")
    if kind_type == "PATCH":
        raise ApiError.unsupported(f"operation {index}: an action group has no patchable field")
    return kind, kind_type, operation


def routes(ctx: ApiContext, guard: Guard) -> APIRouter:
    router = APIRouter()
    gw = ctx.gateway
    store = gw.action_groups

    @router.post("/setup/automation", summary="Operations on action groups, in order, all or nothing")
    async def automation(request: Request, _: Caller = guard.admin("bulk")) -> Response:
        body = await procedures.json_body(request)
        if not isinstance(body, list) or not body:
            raise ApiError.bad_request("The body must be a non-empty list of operations")
        if len(body) > MAX_OPERATIONS:
            raise ApiError.bad_request(f"At most {MAX_OPERATIONS} operations at once")
        # Check everything first: what each operation names must exist at its turn.
        planned: list[tuple[str, str | None, ActionGroup | None]] = []
        alive = set(store.all_oids())
        for index, item in enumerate(body):
            _kind, kind_type, operation = _parse(index, item)
            group: ActionGroup | None = None
            oid = operation.get("referenceOID")
            if kind_type in ("CREATE", "UPDATE"):
                value = operation.get("managedActionGroupValue")
                if not isinstance(value, dict):
                    raise _invalid(index, "CREATE and UPDATE need the full action group (managedActionGroupValue)")
                try:
                    group = ActionGroup.model_validate(value)
                except ValidationError as exc:
                    err = exc.errors()[0]
                    raise _invalid(index, f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
                gw.executor.plan(group, 0)  # every device and command must exist and fit
                if kind_type == "UPDATE":
                    oid = oid or group.oid
            if kind_type != "CREATE":
                if not isinstance(oid, str) or oid not in alive:
                    raise ApiError.not_found(f"operation {index}: no such action group : {oid}")
                if kind_type == "DELETE":
                    alive.discard(oid)
            planned.append((kind_type, oid, group))
        responses = []
        for kind_type, oid, group in planned:
            if kind_type == "READ":
                assert oid is not None
                value = store.to_json(oid)
            elif kind_type == "CREATE":
                assert group is not None
                value = store.to_json(await store.create(group))
            elif kind_type == "UPDATE":
                assert group is not None and oid is not None
                group.oid = oid
                await store.update(group)
                value = store.to_json(oid)
            else:
                assert oid is not None
                value = store.to_json(oid)
                await store.delete(oid)
            responses.append({"actionGroupResponse": {"managedActionGroupValue": value}})
        return json_response({"operationResponses": responses})

    return router
