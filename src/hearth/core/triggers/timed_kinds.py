"""The timers and events of the trigger types kept in their own modules, for the engine.

- delayedCommands(s)SchedulingTrigger: one row 'once' of ``trigger_timers`` (its moment), written before the
  wait, retired in the same flush as the execution; at start the engine's missed-run rule.
- generic/ovp regulation: one row 'regulation' (the next change of target; payload: the target sent last),
  written before the wait; at start the target in force is sent if it is not the one sent last.
- eventTrigger: bus subscriptions (``EventWatch``), nothing stored.
- genericPointToPointRegulationTrigger: state changes only (the engine's index), nothing stored.

It works on the engine's own parts (its store, timers, effect runner, missed-run rule), as the engine's other
parts do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, NamedTuple

from hearth.core.triggers.delayed_commands import DelayedCommandsRule, DelayedCommandsSpec
from hearth.core.triggers.event_trigger import EventRule, EventSpec, EventWatch
from hearth.core.triggers.fields import Effect, ExtraSpec, invalid
from hearth.core.triggers.model import TriggerDefinition
from hearth.core.triggers.point_to_point import PointToPointRule
from hearth.core.triggers.regulation import RegulationRule, RegulationSpec
from hearth.core.triggers.rule_base import Rule
from hearth.core.triggers.runs import Due, TriggerSource, to_ms
from hearth.model.events import Event
from hearth.store.triggers import TriggerTimerRow

if TYPE_CHECKING:
    from hearth.core.triggers.engine import TriggerEngine
    from hearth.core.triggers.live import LiveTrigger

log = logging.getLogger(__name__)

ONCE, REGULATION = "once", "regulation"


class NextTarget(NamedTuple):
    """The next change of a regulation's target: its row of ``trigger_timers`` (with the target sent last),
    and when (None: no change to come, the row is retired)."""

    row: TriggerTimerRow
    at: float | None


class TimedKinds:
    def __init__(self, engine: TriggerEngine) -> None:
        self._engine = engine
        self.events = EventWatch(engine.bus, self._on_event)

    # ------------------------------------------------------------------ checks

    def check(self, definition: TriggerDefinition, *, creating: bool) -> None:
        """What the shape cannot say: commands exist on their devices; a one-off moment is not past."""
        spec = definition.spec
        if not isinstance(spec, ExtraSpec):
            return
        engine = self._engine
        for url, command in spec.command_targets:
            commands = engine.registry.require(url).controllable.commands
            if commands and command not in commands:
                raise invalid(
                    definition.type.value,
                    f"{url} has no command {command} (its commands: {', '.join(sorted(commands))})",
                )
        if not creating or not isinstance(spec, DelayedCommandsSpec):
            return
        if spec.due(engine.location.sun.tz) <= engine.clock.now():
            moment = f"{spec.day.isoformat()} {spec.minutes // 60:02d}:{spec.minutes % 60:02d}"
            raise invalid(f"{definition.type.value}.commandYear", f"{moment} is in the past")

    # ------------------------------------------------------------------ install and remove

    def install(self, trigger: LiveTrigger, *, initial: bool) -> None:
        """Start what this trigger waits for (``initial``: a new definition, not a restart's restore)."""
        spec, rule = trigger.definition.spec, trigger.rule
        if isinstance(spec, EventSpec):
            self.events.add(trigger, spec.event_names)
        elif isinstance(spec, DelayedCommandsSpec) and ONCE not in trigger.timers:
            due = spec.due(self._engine.location.sun.tz)
            assert isinstance(rule, DelayedCommandsRule)
            rule.over = due <= self._engine.clock.now()
            if not rule.over:
                self._engine.store.queue_timer(TriggerTimerRow.armed(trigger.oid, ONCE, to_ms(due)))
                self._start(trigger, ONCE, due)
        elif isinstance(spec, RegulationSpec) and REGULATION not in trigger.timers:
            assert isinstance(rule, RegulationRule)
            rule.current = self._target(spec)
            if initial:
                rule.applied = rule.current  # taken as reached (allowExecuteOnCreate sends it)
            self._wait_regulation(trigger, spec, rule)

    def remove(self, trigger: LiveTrigger) -> None:
        self.events.remove(trigger)

    def reschedule(self, trigger: LiveTrigger) -> None:
        """The location, the calendar or the mode changed."""
        spec, rule = trigger.definition.spec, trigger.rule
        if isinstance(spec, RegulationSpec) and isinstance(rule, RegulationRule):
            old = trigger.timers.pop(REGULATION, None)
            if old is not None and old is not asyncio.current_task():
                old.cancel()
            self._spawn_change(trigger, spec, rule)

    def close(self) -> None:
        self.events.close()

    # ------------------------------------------------------------------ restarts

    def restore(
        self, trigger: LiveTrigger, row: TriggerTimerRow, now: float, runs: list[Due], rows: list[TriggerTimerRow]
    ) -> bool:
        """A row of trigger_timers read at start; False when it is not one of these kinds."""
        engine = self._engine
        spec, rule = trigger.definition.spec, trigger.rule
        timer, due = row.timer, row.due_ms / 1000
        if timer == ONCE:
            if not isinstance(spec, DelayedCommandsSpec) or not isinstance(rule, DelayedCommandsRule):
                rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(due)))
                return True
            if due > now:
                self._start(trigger, ONCE, due)
                return True
            rule.over = True
            if now - due <= engine.missed_grace_s:
                runs.extend(self._once_runs(trigger, rule))
                rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(due)))
            else:
                engine.recovery.missed(trigger, timer, [due], rows)
                rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(due)))
            return True
        if timer == REGULATION:
            if not isinstance(spec, RegulationSpec) or not isinstance(rule, RegulationRule):
                rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(due)))
                return True
            applied = row.payload.get("applied")
            rule.applied = applied if isinstance(applied, str) else None
            rule.current = self._target(spec)
            runs.extend(self._regulation_runs(trigger, spec, rule))
            following, at = self._regulation_row(trigger, spec, rule)
            rows.append(following)
            if at is not None:
                self._start(trigger, REGULATION, at)
            return True
        return False

    # ------------------------------------------------------------------ tests

    def test_effects(self, definition: TriggerDefinition, rule: Rule) -> list[Effect]:
        """POST /triggers/test: what the trigger would send now."""
        spec = definition.spec
        if isinstance(spec, RegulationSpec):
            target = self._target(spec) or spec.schedules[0].target
            return [spec.effect(target)]
        if isinstance(rule, PointToPointRule):
            return [effect for _, effects in rule.effect_nodes() for effect in effects]
        return list(spec.effects) if isinstance(spec, ExtraSpec) else []

    # ------------------------------------------------------------------ waiting

    def _start(self, trigger: LiveTrigger, key: str, due: float) -> None:
        old = trigger.timers.pop(key, None)
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        trigger.timers[key] = asyncio.create_task(self._wait(trigger, key, due), name=f"trigger-{key}")

    async def _wait(self, trigger: LiveTrigger, key: str, due: float) -> None:
        await self._engine.clock.sleep_until(due)
        try:
            if trigger.timers.get(key) is asyncio.current_task():
                del trigger.timers[key]
            if trigger.removed:
                return
            if key == ONCE:
                await self._once_due(trigger, due)
            else:
                await self._regulation_due(trigger)
        except Exception:
            log.exception("setup trigger %s: %s failed", trigger.oid, key)

    async def _once_due(self, trigger: LiveTrigger, due: float) -> None:
        rule = trigger.rule
        assert isinstance(rule, DelayedCommandsRule)
        rule.over = True
        await self._engine.runner.run(
            self._once_runs(trigger, rule), [TriggerTimerRow.retired(trigger.oid, ONCE, to_ms(due))]
        )

    def _once_runs(self, trigger: LiveTrigger, rule: DelayedCommandsRule) -> list[Due]:
        engine = self._engine
        if not trigger.active:
            log.info("setup trigger %s: its commands are due but it is not active: not sent", trigger.oid)
            return []
        if not rule.restrictions_hold(engine.lookup):
            log.info("setup trigger %s: its commands are not sent, a state restriction does not hold", trigger.oid)
            return []
        return [Due(trigger, list(rule.spec.effects), rule.sub_type, TriggerSource.TIME)]

    def _target(self, spec: RegulationSpec) -> str | None:
        engine = self._engine
        return spec.target_at(engine.location.sun, engine.clock.now(), engine.calendar)

    def _regulation_row(self, trigger: LiveTrigger, spec: RegulationSpec, rule: RegulationRule) -> NextTarget:
        engine = self._engine
        at = spec.next_change(engine.location.sun, engine.clock.now(), engine.calendar)
        payload = {"applied": rule.applied}
        if at is None:
            return NextTarget(TriggerTimerRow(trigger.oid, REGULATION, 0, False, payload), None)
        return NextTarget(TriggerTimerRow.armed(trigger.oid, REGULATION, to_ms(at), payload), at)

    def _wait_regulation(self, trigger: LiveTrigger, spec: RegulationSpec, rule: RegulationRule) -> None:
        row, at = self._regulation_row(trigger, spec, rule)
        self._engine.store.queue_timer(row)
        if at is not None:
            self._start(trigger, REGULATION, at)

    def _spawn_change(self, trigger: LiveTrigger, spec: RegulationSpec, rule: RegulationRule) -> None:
        """Re-evaluate now (after a change of location, calendar or mode) and wait for the next change."""
        rule.current = self._target(spec)
        self._wait_regulation(trigger, spec, rule)

    def _regulation_runs(self, trigger: LiveTrigger, spec: RegulationSpec, rule: RegulationRule) -> list[Due]:
        target = rule.current
        if target is None or not trigger.active:
            return []
        if target == rule.applied and (spec.regulated_state is None or spec.reached(target, self._engine.lookup)):
            return []
        effect = rule.change_to(target, self._engine.lookup)
        if effect is None:
            return []
        return [Due(trigger, [effect], rule.sub_type, TriggerSource.TIME)]

    async def _regulation_due(self, trigger: LiveTrigger) -> None:
        spec, rule = trigger.definition.spec, trigger.rule
        assert isinstance(spec, RegulationSpec) and isinstance(rule, RegulationRule)
        rule.current = self._target(spec)
        runs = self._regulation_runs(trigger, spec, rule)
        row, at = self._regulation_row(trigger, spec, rule)
        if at is not None:
            self._start(trigger, REGULATION, at)
        await self._engine.runner.run(runs, [row])

    # ------------------------------------------------------------------ events

    def _on_event(self, trigger: LiveTrigger, event: Event) -> None:
        engine = self._engine
        rule = trigger.rule
        if trigger.removed or not isinstance(rule, EventRule) or not trigger.active:
            return
        if rule.fires(event, engine.clock.now()):
            engine.runner.spawn(
                engine.runner.run([Due(trigger, rule.spec.effects, rule.sub_type, TriggerSource.EVENT)], [])
            )
