"""Refreshing the states of every device of a protocol (or of the whole gateway), with the seed's completion
events: ``RefreshAllDevicesStatesCompletedEvent`` or ``RefreshAllDevicesStatesFailedEvent`` per protocol.

The refresh is a technical execution of ``refreshState`` on each enabled device of the protocol that has the
command; its end publishes the event. A protocol with nothing to refresh completes at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hearth.api.auth import Caller
from hearth.model import events as ev
from hearth.model.action import Action, ActionGroup, Command
from hearth.model.errors import ApiError
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.model.protocols import PREFIXES, protocol_prefix

if TYPE_CHECKING:
    from hearth.app import Gateway


def protocol_number(prefix: str) -> int | None:
    """The End-User API's number of a protocol prefix; None for ours that it does not know (``virtual``)."""
    return PREFIXES.index(prefix) + 1 if prefix in PREFIXES else None


def known_protocol(text: str) -> str:
    """The prefix of a protocol type in a path (``rts`` or ``2``); a clear error for anything else."""
    prefix = protocol_prefix(text)
    if prefix is None:
        raise ApiError.bad_request(f"Unknown protocol type : {text}")
    return prefix


def running_protocol(gw: Gateway, text: str) -> str:
    """The prefix of a protocol type in a path whose driver runs here; a clear error if not."""
    prefix = known_protocol(text)
    if prefix not in gw.drivers.by_protocol:
        raise ApiError.unsupported(f"No {prefix} driver is enabled on this gateway")
    return prefix


async def refresh_protocol(gw: Gateway, prefix: str, caller: Caller) -> str | None:
    """Start the refresh of one protocol's devices; the exec id, or None when there was nothing to ask."""
    gateway_id = gw.identity.gateway_id
    number = protocol_number(prefix)
    actions = [
        Action(device_url=d.url_text, commands=[Command(name="refreshState")])
        for d in gw.registry.all()
        if d.url.protocol == prefix and d.enabled and "refreshState" in d.controllable.commands
    ]
    if not actions:
        gw.bus.publish(ev.RefreshAllDevicesStatesCompletedEvent(gateway_id=gateway_id, protocol_type=number))
        return None
    execution = await gw.executor.submit(
        ActionGroup(label=f"refresh {prefix} states", actions=actions),
        owner=caller.owner,
        type=ExecutionType.TECHNICAL,
        sub_type=ExecutionSubType.INTERNAL,
        internal=True,
    )
    exec_id: str = execution.id

    def on_change(event: Any) -> None:
        if event.exec_id != exec_id or event.new_state not in ("COMPLETED", "FAILED"):
            return
        unsubscribe()
        if event.new_state == "COMPLETED":
            gw.bus.publish(ev.RefreshAllDevicesStatesCompletedEvent(gateway_id=gateway_id, protocol_type=number))
        else:
            gw.bus.publish(
                ev.RefreshAllDevicesStatesFailedEvent(
                    gateway_id=gateway_id, protocol_type=number, failure_type=event.failure_type or "UNKNOWN"
                )
            )

    # No await between submit and here: the execution cannot have ended unseen.
    unsubscribe = gw.bus.subscribe(on_change, ev.ExecutionStateChangedEvent)
    return exec_id
