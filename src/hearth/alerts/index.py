"""Which rules to evaluate when a device's state (or a system attribute) changes: an index, never a scan.

Keys are ``(deviceURL or "*", key)``, ``key`` being a state name (for ``DATA.``/``AGG.``) or a system
attribute name. ``"*"`` holds the rules bound to no device (they apply to every device). Inactive and
cloud-only rules are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field

from hearth.alerts.attributes import Kind
from hearth.alerts.rule import AlertRule

ANY = "*"
Key = tuple[str, str]


_NONE: frozenset[str] = frozenset()


@dataclass(slots=True)
class Match:
    """Rules keyed on the changed device (``named``) and on every device (``anywhere``); read-only views."""

    named: Set[str] = _NONE
    anywhere: Set[str] = _NONE


@dataclass(slots=True)
class RuleIndex:
    by_key: dict[Key, set[str]] = field(default_factory=dict)
    aggregated: dict[Key, set[str]] = field(default_factory=dict)  # the rules reading an AGG of that key
    scales: dict[Key, set[str]] = field(default_factory=dict)  # the aggregates to keep: key -> {H, D, M}

    @classmethod
    def build(cls, rules: Iterable[AlertRule], url_of: Callable[[str], str]) -> RuleIndex:
        index = cls()
        for rule in rules:
            if not rule.active or rule.cloud_only:
                continue
            fixed = rule.fixed_target
            for condition in rule.conditions:
                for ref in condition.attributes():
                    target_id = ref.target_id if ref.target_id is not None else fixed
                    where = url_of(target_id) if target_id is not None else ANY
                    key = (where, ref.name.key)
                    index.by_key.setdefault(key, set()).add(rule.id)
                    if ref.name.kind is Kind.AGG and ref.name.scale is not None:
                        index.aggregated.setdefault(key, set()).add(rule.id)
                        index.scales.setdefault(key, set()).add(ref.name.scale)
        return index

    def _match(self, table: dict[Key, set[str]], url: str, key: str) -> Match:
        return Match(table.get((url, key), _NONE), table.get((ANY, key), _NONE))

    def rules_for(self, url: str, key: str) -> Match:
        return self._match(self.by_key, url, key)

    def aggregated_rules_for(self, url: str, key: str) -> Match:
        return self._match(self.aggregated, url, key)

    def scales_for(self, url: str, state: str) -> set[str]:
        named, anywhere = self.scales.get((url, state)), self.scales.get((ANY, state))
        if named is None:
            return anywhere or set()
        return named if anywhere is None else named | anywhere
