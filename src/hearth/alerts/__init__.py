"""Edge alert rules (AirVantage seed 001) evaluated on the gateway, and their operation triggers (seed 004).

Modules: ``attributes`` (the naming rule: how a rule names a device state), ``rule`` and ``validation``
(the AlertRule and its ``alert.rule.*`` codes), ``operators`` (the 17 operators), ``geo`` (WKT and
distances), ``aggregates`` (``AGG.<state>/<H|D|M>``), ``targets`` (attribute values of a device),
``evaluator`` (a rule for one target), ``index`` (which rules a change concerns), ``records`` (AlertState,
Alert, state history), ``notifications`` (``notifMode``), ``triggers`` (operation triggers) and ``engine``
(all of it on the bus). Their rows are in ``hearth.store.alerts``. The API is ``hearth.api.routes.alerts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hearth.alerts.engine import AlertEngine
    from hearth.alerts.notifications import AlertNotificationEvent

__all__ = ["AlertEngine", "AlertNotificationEvent"]


def __getattr__(name: str) -> Any:
    # Imported when first asked for, not with the package: ``hearth.store.alerts`` imports the row types of
    # this package, and the engine imports ``hearth.store.alerts``; an eager import here would make that a cycle.
    if name == "AlertEngine":
        from hearth.alerts.engine import AlertEngine

        return AlertEngine
    if name == "AlertNotificationEvent":
        from hearth.alerts.notifications import AlertNotificationEvent

        return AlertNotificationEvent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
