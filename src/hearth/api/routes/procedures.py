"""Radio procedures as thin shims: a command of a protocol's stack device run as a technical execution.

The route answers ``{"execId"}`` at once; when the execution ends, the procedure's own Completed or Failed event
(``Zigbee*``, ``ZWave*``) is published for the clients that wait for it rather than for the execution.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import Request
from starlette.responses import Response

from hearth.api.auth import Caller
from hearth.api.errors import json_response
from hearth.model import events as ev
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.model.strict import UnknownField, refuse_unknown

if TYPE_CHECKING:
    from hearth.app import Gateway

STACK_ADDRESS = "stack"


class ProcedureCompleted(Protocol):
    """A procedure's Completed event class (``ZigbeeCreateNetworkCompletedEvent``...)."""

    def __call__(self, *, gateway_id: str) -> ev.Event: ...


class ProcedureFailed(Protocol):
    """A procedure's Failed event class (``ZigbeeCreateNetworkFailedEvent``...)."""

    def __call__(self, *, gateway_id: str, failure_type: str | None = ...) -> ev.Event: ...


ProcedureEvents = tuple[ProcedureCompleted, ProcedureFailed]


def check_gateway(gw: Gateway, gateway_id: str) -> None:
    if gateway_id != gw.identity.gateway_id:
        raise ApiError.not_found(f"No such gateway : {gateway_id}")


async def json_body(request: Request) -> Any:
    """The request's JSON, or None for an empty body (the legacy procedures take an optional body)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return await request.json()
    except ValueError:
        raise ApiError.bad_request("The body is not JSON") from None


async def json_object(request: Request, allowed: Iterable[str]) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body) with no key outside ``allowed`` (400 naming it)."""
    body = await json_body(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError.bad_request("The body must be a JSON object")
    try:
        refuse_unknown(body, allowed)
    except UnknownField as exc:
        raise ApiError.bad_request(
            f"Invalid request: unknown field {exc.where}: not defined here (known: {', '.join(sorted(allowed))})",
            ErrorCode.INVALID_FIELD_VALUE,
        ) from None
    return body


async def run_stack_command(
    gw: Gateway,
    protocol: str,
    label: str,
    command: str,
    parameters: list[Any],
    caller: Caller,
    done: ProcedureEvents | None = None,
) -> Response:
    stack_url = f"{protocol}://{gw.identity.gateway_id}/{STACK_ADDRESS}"
    if gw.registry.get(stack_url) is None:
        # Not a passing fault (that would be 503): this gateway has no such radio configured.
        raise ApiError.unsupported(f"The {label} driver is not enabled on this gateway")
    group = ActionGroup.model_validate(
        {
            "label": f"{label} {command}",
            "actions": [{"deviceURL": stack_url, "commands": [{"name": command, "parameters": parameters}]}],
        }
    )
    execution = await gw.executor.submit(
        group, owner=caller.owner, type=ExecutionType.TECHNICAL, sub_type=ExecutionSubType.INTERNAL
    )
    exec_id = execution.id
    if done is not None:
        completed, failed = done
        gateway_id = gw.identity.gateway_id

        def on_change(event: Any) -> None:
            if event.exec_id != exec_id or event.new_state not in ("COMPLETED", "FAILED"):
                return
            unsubscribe()
            if event.new_state == "COMPLETED":
                gw.bus.publish(completed(gateway_id=gateway_id))
            else:
                gw.bus.publish(failed(gateway_id=gateway_id, failure_type=event.failure_type or "UNKNOWN"))

        # No await between submit and here: the execution cannot have ended unseen.
        unsubscribe = gw.bus.subscribe(on_change, ev.ExecutionStateChangedEvent)
    return json_response({"execId": exec_id})
