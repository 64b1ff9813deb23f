"""Edge alert rules (AirVantage seed 001) evaluated on the gateway, and their operation triggers (seed 004).

Modules: ``attributes`` (the naming rule: how a rule names a device state), ``rule`` and ``validation``
(the AlertRule and its ``alert.rule.*`` codes), ``operators`` (the 17 operators), ``geo`` (WKT and
distances), ``aggregates`` (``AGG.<state>/<H|D|M>``), ``targets`` (attribute values of a device),
``evaluator`` (a rule for one target), ``index`` (which rules a change concerns), ``records`` (AlertState,
Alert, state history), ``notifications`` (``notifMode``), ``triggers`` (operation triggers), ``store``
(SQLite) and ``engine`` (all of it on the bus). The API is ``hearth.api.routes.alerts``.
"""

from hearth.alerts.engine import AlertEngine
from hearth.alerts.notifications import AlertNotificationEvent

__all__ = ["AlertEngine", "AlertNotificationEvent"]
