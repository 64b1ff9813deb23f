"""ConditionGroupStore: the condition groups as the API, the cloud and the triggers use them.

It validates a group against the setup and the catalogue, keeps the groups in memory and in the
ConditionIndex, writes them through to SQLite (hearth.store.condition_groups) before it announces them on
the bus, and answers evaluations and conditional runs.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.catalogue import Catalogue
from hearth.core.conditions.evaluation import Evaluation, evaluate
from hearth.core.conditions.index import ConditionIndex, DeviceLookup, TruthListener
from hearth.core.conditions.model import MAX_GROUPS, ConditionError, ConditionGroup, ConditionKind, GroupDefinition
from hearth.core.conditions.parsing import misfit, parse_group
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import (
    ConditionGroupCreatedEvent,
    ConditionGroupDeletedEvent,
    ConditionGroupUpdatedEvent,
    now_ms,
)
from hearth.store.condition_groups import ConditionGroupRepository, ConditionGroupRow
from hearth.store.database import Database

log = logging.getLogger(__name__)


class ConditionGroupStore:
    """Persisted condition groups: kept in memory and in the index, written through to SQLite."""

    def __init__(self, db: Database, bus: EventBus, registry: DeviceLookup, catalogue: Catalogue) -> None:
        self._rows = ConditionGroupRepository(db)
        self._bus = bus
        self._registry = registry
        self._catalogue = catalogue
        self._groups: dict[str, ConditionGroup] = {}
        self.index = ConditionIndex(registry)

    async def load(self) -> None:
        for row in await self._rows.all():
            oid = row.oid
            try:
                definition = parse_group(json.loads(row.body))
            except (ValueError, ConditionError) as exc:
                # Written by us, so only an older Hearth could have; keep it in the file, do not run it.
                log.error("condition group %s is not loaded: %s", oid, exc)
                continue
            self._groups[oid] = ConditionGroup(
                oid,
                definition.label,
                definition.metadata,
                definition.conditions,
                row.creation_time,
                row.last_update_time,
            )
            self.index.put(oid, definition.conditions, evaluate=False)
        self.index.rebuild()
        self.index.attach(self._bus)

    def close(self) -> None:
        """Stop following the bus; the Gateway calls it on stop (app.py registers it when it loads)."""
        self.index.detach()

    def __len__(self) -> int:
        return len(self._groups)

    def get(self, oid: str) -> ConditionGroup:
        group = self._groups.get(oid)
        if group is None:
            raise ApiError.not_found(f"No such condition group : {oid}")
        return group

    def all(self) -> list[ConditionGroup]:
        return list(self._groups.values())

    def all_json(self) -> list[dict[str, Any]]:
        return [g.to_json() for g in self._groups.values()]

    # -- writes

    def validate(self, body: Any) -> GroupDefinition:
        """Parse and check against the setup: named devices exist, values fit the states' types."""
        try:
            definition = parse_group(body)
        except ConditionError as exc:
            raise exc.to_api() from None
        for i, condition in enumerate(definition.conditions):
            where = f"conditions[{i}].{condition.kind.value}"
            if condition.kind is ConditionKind.DEVICE:
                device = self._registry.get(condition.targets[0])
                if device is None:
                    raise ApiError(
                        400, ErrorCode.NO_SUCH_DEVICE, f'{where}.deviceURL: No such device : "{condition.targets[0]}"'
                    )
                specs = [device.controllable.states.get(condition.state_name)]
            else:
                specs = []
                for name in condition.targets:
                    controllable = self._catalogue.get(name)
                    if controllable is not None:
                        specs.append(controllable.states.get(condition.state_name))
            known = [s for s in specs if s is not None]
            misfits = [m for m in (misfit(condition, s) for s in known) if m is not None]
            if known and len(misfits) == len(known):
                # No state of that name in any listed controllable can ever be compared: say why.
                field, reason = misfits[0]
                raise ConditionError(f"{where}.{field}", reason).to_api()
        return definition

    def __contains__(self, oid: object) -> bool:
        return oid in self._groups

    async def create(self, body: Any, oid: str | None = None) -> str:
        """Store a new group; ``oid`` when another system chose it (the cloud), else a new one."""
        definition = self.validate(body)
        if len(self._groups) >= MAX_GROUPS:
            raise ApiError.bad_request(f"At most {MAX_GROUPS} condition groups", ErrorCode.UNSUPPORTED_OPERATION)
        if oid is not None and oid in self._groups:
            raise ApiError.bad_request(f"Condition group {oid} exists already")
        oid = oid or str(uuid.uuid4())
        now = now_ms()
        group = ConditionGroup(oid, definition.label, definition.metadata, definition.conditions, now, now)
        await self._save(group)
        self._bus.publish(
            ConditionGroupCreatedEvent(
                condition_group_oid=oid, label=group.label, metadata=group.metadata, conditions=group.wire_conditions()
            )
        )
        return oid

    async def update(self, body: Any) -> None:
        oid = body.get("oid") if isinstance(body, Mapping) else None
        if not isinstance(oid, str) or not oid:
            raise ConditionError("oid", "missing: the oid of the condition group to update").to_api()
        current = self.get(oid)
        definition = self.validate(body)
        group = ConditionGroup(
            oid,
            definition.label,
            definition.metadata,
            definition.conditions,
            current.creation_time,
            max(now_ms(), current.creation_time),
        )
        await self._save(group)
        self._bus.publish(
            ConditionGroupUpdatedEvent(
                condition_group_oid=oid, label=group.label, metadata=group.metadata, conditions=group.wire_conditions()
            )
        )

    async def delete(self, oid: str) -> None:
        self.get(oid)
        await self._rows.delete(oid)
        del self._groups[oid]
        self.index.remove(oid)
        self._bus.publish(ConditionGroupDeletedEvent(condition_group_oid=oid))

    async def _save(self, group: ConditionGroup) -> None:
        body = json.dumps({"label": group.label, "metadata": group.metadata, "conditions": group.wire_conditions()})
        await self._rows.save(
            ConditionGroupRow(group.oid, group.label, body, group.creation_time, group.last_update_time)
        )
        self._groups[group.oid] = group
        self.index.put(group.oid, group.conditions)

    # -- evaluation

    def evaluate(self, oid: str) -> Evaluation:
        """A fresh evaluation of the group, with the devices and controllables that decided it."""
        group = self.get(oid)
        urls_of: dict[str, list[str]] = {}
        for device in self._registry.all():
            urls_of.setdefault(device.controllable.name, []).append(device.url_text)
        return evaluate(group.conditions, self._registry.get, urls_of)

    def holds(self, oid: str) -> bool:
        """The group's current truth, as the index keeps it (no evaluation)."""
        self.get(oid)
        return self.index.holds(oid)

    def watch(self, listener: TruthListener, oid: str | None = None) -> Callable[[], None]:
        """``listener(oid, holds)`` on every change of a group's truth; see ConditionIndex.watch."""
        return self.index.watch(listener, oid)

    def require(self, oid: str) -> None:
        """Nothing if the group holds now; else the refusal of a conditional run, saying why.

        The index answers (it is kept true on every state change, so no device is scanned on the command's
        path); only a refusal is evaluated afresh, to name the devices that prevent the run.
        400 UNSUPPORTED_OPERATION: the request is well formed, the gateway declines to carry it out now.
        """
        if self.holds(oid):
            return
        evaluation = self.evaluate(oid)
        if not evaluation.holds:
            label = self._groups[oid].label
            name = f"{label!r} ({oid})" if label else oid
            raise ApiError.unsupported(f"Condition group {name} does not hold: {evaluation.reason()}")
        # The index and a fresh look disagree: a bug of the index. The fresh look is what is true now.
        log.error("condition group %s: the index says it does not hold, a fresh evaluation says it does", oid)
