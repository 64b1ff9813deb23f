"""Recovery after a restart (``TimerRecovery``): the missed-run rule, applied to each active row of
``trigger_timers`` read at start.

- a running activation delay whose condition no longer holds (states are restored from the store) is
  cancelled (DelayedTriggerCancelledEvent); one still due resumes and fires at its due time;
- a delay or run that fell due while the gateway was down runs at start if it is late by less than
  ``missed_grace_s``, once, even if several occurrences were missed; a window opening is caught up only if
  the window is still open. Anything later is not run: it is recorded in ``trigger_missed_runs``, logged as a
  warning and announced with DelayedTriggerCancelledEvent.

The runs owed (``runs``) and the rows that retire or replace the timers (``rows``) are collected here and run
by the engine once every row is read: the rows land in the same flush as the executions they become.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from hearth.core.triggers.command_schedules import COMMAND_PREFIX
from hearth.core.triggers.delays import DELAY_PREFIX
from hearth.core.triggers.effects import holding
from hearth.core.triggers.model import CommandSchedulingSpec
from hearth.core.triggers.rules import CommandRule
from hearth.core.triggers.runs import Due, TriggerSource, to_ms
from hearth.core.triggers.windows import BOUND_SUB_TYPES, WINDOW
from hearth.model.events import DelayedTriggerCancelledEvent, now_ms
from hearth.store.triggers import TriggerTimerRow

if TYPE_CHECKING:
    from hearth.core.triggers.engine import TriggerEngine
    from hearth.core.triggers.live import LiveTrigger

log = logging.getLogger(__name__)

MAX_MISSED_RECORDED = 100  # of one timer, the latest


class TimerRecovery:
    def __init__(self, engine: TriggerEngine) -> None:
        self._engine = engine

    def restore(
        self, trigger: LiveTrigger, row: TriggerTimerRow, now: float, runs: list[Due], rows: list[TriggerTimerRow]
    ) -> None:
        """The missed-run rule, for one row of trigger_timers read at start."""
        engine = self._engine
        if engine.kinds.restore(trigger, row, now, runs, rows):
            return
        timer, due = row.timer, row.due_ms / 1000
        grace = engine.missed_grace_s
        late = now - due
        if timer.startswith(DELAY_PREFIX):
            node = trigger.rule.node(timer[len(DELAY_PREFIX) :])
            if node is None or not node.raw:
                rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(due)))
                engine.bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger.oid))
                return
            if late > grace:
                self.missed(trigger, timer, [due], rows)
                return
            node.resume(due, trigger)
            engine.delays.start(trigger, node, timer, due)
            return
        if timer == WINDOW:
            windows = engine.windows
            if late < 0:
                trigger.window_row = True
                windows.schedule(trigger, persist=False, at=due)
                return
            occurrences = windows.openings(trigger, due, now)
            caught = [o for o in occurrences if now - o <= grace]
            missed = [o for o in occurrences if now - o > grace]
            window = trigger.window
            if (
                caught
                and window is not None
                and trigger.active
                and (trigger.definition.allow_execute_on_enabled or trigger.time_only)
            ):
                runs.extend(holding(trigger, BOUND_SUB_TYPES[window.start_type], TriggerSource.TIME))
            elif caught:
                missed += caught  # the window closed again meanwhile
            self.missed(trigger, timer, missed, rows)
            # The next opening replaces the row in the same flush as the catch-up's executions.
            following, at = windows.next_change(trigger, now)
            rows.append(
                following if following is not None else TriggerTimerRow.retired(trigger.oid, WINDOW, to_ms(due))
            )
            trigger.window_row = following is not None
            if at is not None:
                windows.schedule(trigger, persist=False, at=at)
            return
        if timer.startswith(COMMAND_PREFIX):
            commands = engine.commands
            rule = trigger.rule
            spec = trigger.definition.spec
            if not isinstance(rule, CommandRule) or not isinstance(spec, CommandSchedulingSpec):
                rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(due)))
                return
            try:
                i, j = (int(x) for x in timer[len(COMMAND_PREFIX) :].split("."))
                minutes = spec.schedules[i].times[j]
            except (ValueError, IndexError):
                rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(due)))
                return
            if late < 0:
                commands.start(trigger, i, j, due)
                return
            occurrences = commands.daily_times(minutes, due, now)
            caught = [o for o in occurrences if now - o <= grace]
            missed = [o for o in occurrences if now - o > grace]
            if caught:
                if trigger.active and spec.schedules[i].enabled and rule.restrictions_hold(engine.lookup):
                    runs.append(Due(trigger, [rule.schedule_effects[i]], rule.sub_type, TriggerSource.TIME))
            self.missed(trigger, timer, missed, rows)
            nxt = commands.next_daily(minutes, now)
            rows.append(TriggerTimerRow.armed(trigger.oid, timer, to_ms(nxt)))
            commands.start(trigger, i, j, nxt)

    def missed(self, trigger: LiveTrigger, timer: str, moments: list[float], rows: list[TriggerTimerRow]) -> None:
        """Runs due while the gateway was down, later than the grace: recorded, logged, announced; not run."""
        if not moments:
            return
        engine = self._engine
        recorded = now_ms()
        for moment in moments[-MAX_MISSED_RECORDED:]:
            engine.store.queue_missed(trigger.oid, timer, to_ms(moment), recorded)
        if timer.startswith(DELAY_PREFIX):
            rows.append(TriggerTimerRow.retired(trigger.oid, timer, to_ms(moments[-1])))
        first = datetime.fromtimestamp(moments[0], engine.location.sun.tz).isoformat(timespec="seconds")
        log.warning(
            "setup trigger %s (%s): %d run(s) of %s due while the gateway was down, from %s, missed by "
            "more than %g s: not run",
            trigger.oid,
            trigger.definition.label,
            len(moments),
            timer,
            first,
            engine.missed_grace_s,
        )
        engine.bus.publish(DelayedTriggerCancelledEvent(trigger_id=trigger.oid))
