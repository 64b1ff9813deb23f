"""Runs the API asks for to try a trigger (``TrialRuns``): ``POST /triggers/test`` runs the effects of a
definition now, whatever its mode (nothing is kept), ``PUT /triggers/test/discrete/{oid}`` the effects of one
key of a discrete trigger. Their executions say so: GroupTriggeredEvent triggerType 4 (TEST), and for the
discrete one the subType DISCRETE_TRIGGER_USER."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hearth.core.triggers.fields import Effect, ExtraSpec
from hearth.core.triggers.model import DiscreteSpec, IfThenSpec, ThresholdSpec, parse_trigger
from hearth.core.triggers.rules import CommandRule, DiscreteRule, make_rule
from hearth.core.triggers.runs import TriggerSource
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.execution import ExecutionSubType

if TYPE_CHECKING:
    from hearth.core.triggers.engine import TriggerEngine


class TrialRuns:
    def __init__(self, engine: TriggerEngine) -> None:
        self._engine = engine

    async def test(self, body: Any) -> list[str]:
        """Run the effects of a definition now (ifThen: its effects; threshold: the current zone's; discrete:
        the current key's; command scheduling: each enabled schedule's command), whatever the mode."""
        engine = self._engine
        definition = parse_trigger(body)
        engine.check(definition)
        rule = make_rule(definition)
        rule.initialise(engine.lookup)
        label = definition.label or "trigger test"
        effects: list[Effect]
        spec = definition.spec
        if isinstance(spec, IfThenSpec):
            effects = list(spec.effects)
        elif isinstance(spec, ThresholdSpec):
            zone = spec.zone_of(spec.ref.read(engine.lookup))
            effects = list(spec.zones[zone].effects) if zone is not None else []
        elif isinstance(spec, DiscreteSpec):
            assert isinstance(rule, DiscreteRule)
            key = rule.match(spec.ref.read(engine.lookup))
            effects = [e for k in spec.keys if k.key == key for e in k.effects]
        elif isinstance(spec, ExtraSpec):
            effects = engine.kinds.test_effects(definition, rule)
        else:
            assert isinstance(rule, CommandRule)
            effects = [e for e, s in zip(rule.schedule_effects, spec.schedules, strict=True) if s.enabled]
        return await self._run(definition.oid or "test", label, effects, rule.sub_type)

    async def test_discrete(self, oid: str, target_value: Any) -> list[str]:
        trigger = self._engine.find(oid)
        if trigger is None or not isinstance(trigger.definition.spec, DiscreteSpec):
            raise ApiError.not_found(f"No such discrete trigger : {oid}")
        key = str(target_value).lower() if isinstance(target_value, bool) else str(target_value)
        found = [k for k in trigger.definition.spec.keys if k.key == key]
        if not found:
            keys = ", ".join(k.key for k in trigger.definition.spec.keys)
            raise ApiError.bad_request(
                f"Invalid targetValue: {key!r} is not a key of this trigger ({keys})", ErrorCode.INVALID_FIELD_VALUE
            )
        return await self._run(oid, trigger.definition.label, found[0].effects, ExecutionSubType.DISCRETE_TRIGGER_USER)

    async def _run(self, trigger_id: str, label: str, effects: list[Effect], sub_type: ExecutionSubType) -> list[str]:
        ids = []
        for effect in effects:
            exec_id = await self._engine.runner.submit(trigger_id, label, effect, sub_type, TriggerSource.TEST)
            if exec_id is not None:
                ids.append(exec_id)
        return ids
