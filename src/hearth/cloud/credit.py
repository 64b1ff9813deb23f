"""Seed 002's DCM (on-device credit) kept by the gateway: a balance in seconds that runs down with wall time.

The seed's rules, as the unit applies them:

- a ``payment_command`` is ``{transaction_id, category, value}``; ``transaction_id`` is unique ("used to reject
  duplicate payment_commands"): one seen before is acknowledged again and not applied twice;
- ``payment`` adds ``value`` (> 0) seconds; ``bad-payment`` removes (``value`` < 0), and "the Balance on a unit can
  never go below 0"; ``zero-command`` sets it to 0 and gives a FinalBalance back;
- the unit keeps its own balance, reports ``{balance, expected_expiry}``, and at 0 switches itself off even when
  offline (``expired``: the connector runs the ``disabled`` action group).

Kept in one settings row (JSON), written before the cloud is told (an ack the unit sent must match what it has).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

CATEGORY_SIGN = {"payment": 1, "bad-payment": -1, "zero-command": 0}
SETTINGS_KEY = "smartsolar.credit"


@dataclass
class Credit:
    expiry: float | None = None  # epoch s when the balance reaches 0; None: DCM never used (no limit)
    seen: list[str] = field(default_factory=list)  # transaction ids applied (the seed: unique)
    unacked: list[str] = field(default_factory=list)  # applied, not yet acknowledged to the cloud
    final_balance: dict[str, Any] | None = None  # after a zero-command, until reported

    def balance(self, now: float | None = None) -> int | None:
        if self.expiry is None:
            return None
        return max(0, int(self.expiry - (time.time() if now is None else now)))

    def expired(self, now: float | None = None) -> bool:
        return self.expiry is not None and self.balance(now) == 0

    def apply(self, command: Any) -> str | None:
        """Apply one command from the cloud; why it was refused, or None."""
        if not isinstance(command, dict):
            return "not an object"
        transaction, category, value = command.get("transaction_id"), command.get("category"), command.get("value")
        if not isinstance(transaction, str | int) or isinstance(transaction, bool) or str(transaction) == "":
            return "no transaction_id"
        transaction = str(transaction)
        if transaction in self.seen:
            if transaction not in self.unacked:
                self.unacked.append(transaction)  # acknowledged again, not applied twice
            return None
        sign = CATEGORY_SIGN.get(category) if isinstance(category, str) else None
        if sign is None or not isinstance(value, int) or isinstance(value, bool):
            return f"category {category!r} / value {value!r}"
        if (sign > 0 and value <= 0) or (sign < 0 and value >= 0) or (sign == 0 and value != 0):
            return f"value {value} does not fit category {category}"
        now = time.time()
        balance = self.balance(now) or 0
        if sign == 0:
            self.final_balance = {"final_balance": balance, "transaction_id": transaction}
            balance = 0
        else:
            balance = max(0, balance + value)
        self.expiry = now + balance
        self.seen = [*self.seen[-999:], transaction]
        self.unacked.append(transaction)
        return None

    def report(self) -> dict[str, Any]:
        """What the next rc_data report carries about credit (nothing if DCM was never used)."""
        if self.expiry is None:
            return {}
        expected = dt.datetime.fromtimestamp(self.expiry, dt.UTC).replace(tzinfo=None).isoformat()
        out: dict[str, Any] = {
            "balance": {"balance": self.balance(), "expected_expiry": expected},
            "payment_acks": list(self.unacked),
        }
        if self.final_balance is not None:
            out["final_balance"] = self.final_balance
        return out

    def reported(self, acks: list[str], final: dict[str, Any] | None) -> None:
        self.unacked = [t for t in self.unacked if t not in acks]
        if final is not None and final == self.final_balance:
            self.final_balance = None

    def dumps(self) -> str:
        return json.dumps(
            {"expiry": self.expiry, "seen": self.seen, "unacked": self.unacked, "finalBalance": self.final_balance}
        )

    @classmethod
    def loads(cls, text: str | None) -> Credit:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            raw.get("expiry"), list(raw.get("seen") or []), list(raw.get("unacked") or []), raw.get("finalBalance")
        )
