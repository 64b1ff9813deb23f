"""What evaluation leaves behind (seed 001 shapes): AlertStates, Alerts, and the alert-state history.

``companyId`` is this gateway's id (the home is the "company"); ``targetType`` is always ``SYSTEM`` (a
device); ``targetId`` is always the device's deviceURL, whatever form the rule used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TARGET_TYPE = "SYSTEM"


@dataclass(slots=True)
class AlertState:
    rule_id: str
    target_id: str
    state: bool
    state_change_ts: int
    first_alert_id: str
    last_alert_id: str
    attributes: list[dict[str, Any]] = field(default_factory=list)  # of the latest alert
    version: int = 0  # grows with every change: the store keeps the newest whatever the write order

    def to_json(self, company_id: str) -> dict[str, Any]:
        """``/alertstates`` item."""
        return {
            "companyId": company_id,
            "targetId": self.target_id,
            "targetType": TARGET_TYPE,
            "ruleId": self.rule_id,
            "state": self.state,
            "stateChangeTs": self.state_change_ts,
            "firstAlertId": self.first_alert_id,
            "lastAlertId": self.last_alert_id,
        }

    def current_json(self, company_id: str) -> dict[str, Any]:
        """``/alerts/current`` item: the state with the attribute values that led to it."""
        return {
            "companyId": company_id,
            "targetId": self.target_id,
            "targetType": TARGET_TYPE,
            "ruleId": self.rule_id,
            "state": self.state,
            "stateChangeTs": self.state_change_ts,
            "attributes": self.attributes,
        }


@dataclass(slots=True)
class Alert:
    """One alert: a rule's conditions met on a target (``state`` True, or None for a stateless rule), or a
    stateful rule's conditions ceasing to hold (``state`` False)."""

    id: str
    ts: int
    rule_id: str
    target_id: str
    state: bool | None
    state_change_ts: int | None
    attributes: list[dict[str, Any]]

    def to_json(self, company_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "companyId": company_id,
            "targetId": self.target_id,
            "targetType": TARGET_TYPE,
            "ts": self.ts,
            "ruleId": self.rule_id,
            "state": self.state,
            "attributes": self.attributes,
        }
        if self.state_change_ts is not None:
            out["stateChangeTs"] = self.state_change_ts
        return out


@dataclass(slots=True)
class StateChange:
    """An AlertState flip, true or false (``/alertstates/history``)."""

    id: str
    ts: int
    rule_id: str
    target_id: str
    state: bool
    first_alert_id: str

    def to_json(self, company_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "companyId": company_id,
            "targetId": self.target_id,
            "targetType": TARGET_TYPE,
            "ruleId": self.rule_id,
            "state": self.state,
            "ts": self.ts,
            "firstAlertId": self.first_alert_id,
        }
