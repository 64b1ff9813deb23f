"""When a rule notifies (``notifMode``), and the local form of a notification: an event and a log line.

A stateful rule raises an alert each time it is evaluated with all its conditions met, and its AlertState
flips when that answer changes. Then, per ``notifMode``:

============================  ======================================================
``EVERY_TIME``                every alert raised (conditions met)
``WHEN_STATE_CHANGES``        every flip, false to true and true to false (default)
``WHEN_STATE_TRUE``           flips false to true only
``WHEN_STATE_FALSE``          flips true to false only
``IN_ALL_CASES``              every alert raised and every flip (once per evaluation)
============================  ======================================================

A stateless rule has no state to change: each of its alerts is notified, whatever the mode. A
notification is published on the bus as ``AlertNotificationEvent`` (so ``/events/fetch`` and WebSocket
clients see it) and logged; ``emails`` are kept for the cloud, which sends them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth.alerts.rule import NotifMode
from hearth.model.events import Event


@dataclass(slots=True, kw_only=True)
class AlertNotificationEvent(Event):
    rule_id: str
    rule_name: str
    target_id: str
    alert_id: str
    state: bool | None  # None: a stateless rule
    state_changed: bool
    message: str


def should_notify(mode: NotifMode, stateful: bool, raised: bool, flipped_to: bool | None) -> bool:
    """``raised``: the conditions are met (an alert); ``flipped_to``: the AlertState's new value, if it flipped."""
    if not stateful:
        return raised
    if mode is NotifMode.EVERY_TIME:
        return raised
    if mode is NotifMode.WHEN_STATE_CHANGES:
        return flipped_to is not None
    if mode is NotifMode.WHEN_STATE_TRUE:
        return flipped_to is True
    if mode is NotifMode.WHEN_STATE_FALSE:
        return flipped_to is False
    return raised or flipped_to is not None
