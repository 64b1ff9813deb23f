"""What the shape of a setup trigger cannot say, checked against the gateway before it is kept or tested:
its devices and states exist (a threshold's state is a number), its action groups exist, and every group it
would run fits its devices (the executor's plan). The types kept in their own modules add their checks
(``TimedKinds.check``)."""

from __future__ import annotations

from hearth.core.action_groups import ActionGroupStore
from hearth.core.executor import Executor
from hearth.core.registry import DeviceRegistry
from hearth.core.triggers.fields import invalid
from hearth.core.triggers.model import CommandSchedulingSpec, ThresholdSpec, TriggerDefinition
from hearth.core.triggers.rules import CommandRule, make_rule
from hearth.core.triggers.timed_kinds import TimedKinds
from hearth.model.datatype import DataType
from hearth.model.errors import ApiError


def check_definition(
    definition: TriggerDefinition,
    registry: DeviceRegistry,
    executor: Executor,
    groups: ActionGroupStore,
    kinds: TimedKinds,
    *,
    creating: bool = False,
) -> None:
    """Raise the API's error for the first thing that does not fit (``creating``: a new or updated definition,
    not a test)."""
    where = definition.type.value
    for ref in definition.source_refs:
        device = registry.get(ref.device_url)
        if device is None:
            raise ApiError.no_such_device(ref.device_url)
        states = device.controllable.states
        if states and ref.state_name not in states:
            raise invalid(
                where, f"{ref.device_url} has no state {ref.state_name} (its states: {', '.join(sorted(states))})"
            )
    spec = definition.spec
    if isinstance(spec, ThresholdSpec) and spec.ref.object_path is None:
        device = registry.require(spec.ref.device_url)
        state_spec = device.controllable.states.get(spec.ref.state_name)
        if state_spec is not None and state_spec.type not in (DataType.INTEGER, DataType.FLOAT):
            raise invalid(f"{where}.stateName", f"{spec.ref.state_name} is not a number")
    if isinstance(spec, CommandSchedulingSpec):
        registry.require(spec.device_url)
        rule = make_rule(definition)
        assert isinstance(rule, CommandRule)
        for effect in rule.schedule_effects:
            assert effect.local_group is not None
            executor.plan(effect.local_group, 0)
    for effect in definition.effects:
        if effect.action_group_oid is not None and effect.local_group is None:
            try:
                groups.get(effect.action_group_oid)
            except ApiError:
                raise invalid(f"{where}.effects", f"no such action group : {effect.action_group_oid}") from None
        if effect.local_group is not None:
            executor.plan(effect.local_group, 0)
    kinds.check(definition, creating=creating)
