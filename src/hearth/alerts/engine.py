"""The alert engine: evaluates the rules on the gateway as states change, keeps AlertStates, runs triggers.

Flow. A ``DeviceStateChangedEvent`` feeds the aggregates the rules use, then the index gives the rules
naming that device and state (``hearth.alerts.index``); each is evaluated for its target
(``hearth.alerts.evaluator``). A stateless rule whose conditions hold raises an Alert. A stateful rule
raises an Alert each time its conditions hold, and its AlertState flips when the answer changes (a flip
to false is recorded as an Alert with ``state: false``). ``notifMode`` decides the notifications
(``hearth.alerts.notifications``) and the operation triggers (``hearth.alerts.triggers``) the action
groups to run.

Durability. A flip, its Alert, its history row and the runs it owes are synced in one transaction
(``BatchWriter.commit``) before any action group runs; a run's row goes with the journal rows of the
execution it becomes, so after a SIGKILL an owed run happens once (within ``missed_grace_s``, else it is
logged as missed). Alerts of an episode already true, and aggregates, go with the next batch window.

Time. Evaluation times, alert times and aggregate buckets follow the gateway's clock (a ManualClock in
tests); at each hour the buckets that ended are emptied and the rules reading them evaluated again. A
roll-over missed while the gateway was down is applied at start.

Rules. A new or replaced rule is evaluated at once for its targets (it may hold already). An inactive
rule is not evaluated and its AlertStates keep their last value; a rule turned stateless loses them.
Deleting a rule deletes its AlertStates and the operation triggers filtering on it, not its history.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hearth.alerts import errors
from hearth.alerts.aggregates import AggregateBook, data_point, next_bucket_start
from hearth.alerts.attributes import LOCAL_SYSTEM, Kind
from hearth.alerts.evaluator import ChangeMemory, Outcome, evaluate
from hearth.alerts.index import RuleIndex
from hearth.alerts.notifications import AlertNotificationEvent, should_notify
from hearth.alerts.records import Alert, AlertState, StateChange
from hearth.alerts.rule import MAX_RULES, AlertRule
from hearth.alerts.targets import TargetView
from hearth.alerts.triggers import MAX_TRIGGERS, OperationTrigger, TriggerRun, parse_trigger
from hearth.alerts.validation import parse_rule
from hearth.core.action_groups import ActionGroupStore
from hearth.core.bus import EventBus
from hearth.core.clock import Clock
from hearth.core.executor import Executor
from hearth.core.places import PlaceTree
from hearth.core.registry import DeviceRegistry
from hearth.core.tasks import cancel_all_and_wait
from hearth.model.errors import ApiError
from hearth.model.events import (
    DeviceAvailableEvent,
    DeviceCreatedEvent,
    DeviceDisabledEvent,
    DeviceRemovedEvent,
    DeviceStateChangedEvent,
    DeviceUnavailableEvent,
    DeviceUpdatedEvent,
    GroupTriggeredEvent,
    PlaceUpdatedEvent,
)
from hearth.model.execution import ExecutionSubType, ExecutionType
from hearth.store.alerts import (
    SWEEP_EVERY,
    AlertRepository,
    Row,
    aggregate_row,
    alert_row,
    run_done_row,
    run_row,
    state_change_row,
    state_row,
)
from hearth.store.database import Database
from hearth.store.writer import BatchWriter

log = logging.getLogger(__name__)

# The execution a trigger starts, and the triggerType of its GroupTriggeredEvent (a Hearth code).
TRIGGER_EXECUTION_TYPE = ExecutionType.RAW_TRIGGER_GATEWAY
TRIGGER_EXECUTION_SUB_TYPE = ExecutionSubType.IFT_CONDITION
ALERT_TRIGGER_TYPE = 100
OWNER = "alerts"
STOP_DRAIN_S = 5.0


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class _Job:
    """Rows to sync, then the runs they owe."""

    rows: list[Row]
    runs: list[TriggerRun] = field(default_factory=list)


class AlertEngine:
    def __init__(
        self,
        db: Database,
        writer: BatchWriter,
        bus: EventBus,
        registry: DeviceRegistry,
        places: PlaceTree,
        executor: Executor,
        action_groups: ActionGroupStore,
        *,
        clock: Clock,
        gateway_id: str,
        missed_grace_s: float = 900.0,
    ) -> None:
        self.repo = AlertRepository(db, writer)
        self._bus = bus
        self._registry = registry
        self._executor = executor
        self._groups = action_groups
        self._clock = clock
        self.gateway_id = gateway_id
        self.missed_grace_s = missed_grace_s
        self.aggregates = AggregateBook()
        self.targets = TargetView(registry, places, self.aggregates, clock, gateway_id)
        self._rules: dict[str, AlertRule] = {}
        self._triggers: dict[str, OperationTrigger] = {}
        self._states: dict[tuple[str, str], AlertState] = {}
        self._memory: dict[str, ChangeMemory] = {}
        self._index = RuleIndex()
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._off_states: Callable[[], None] | None = None  # the state-change subscription, while a rule exists
        self._new_rows = 0
        self._sweep_task: asyncio.Task[None] | None = None
        self.evaluations = 0
        # Who acts on a trigger of a cloud operation type (SYSTEM_SEND_COMMAND ...): the AirVantage connector,
        # when enabled; called with (trigger, rule, target, ts). Without it such triggers do nothing here.
        self.operation_sink: Callable[[OperationTrigger, AlertRule, str, int], None] | None = None

    # ------------------------------------------------------------------ life cycle

    async def load(self) -> None:
        for rule_id, body in await self.repo.rules():
            try:
                self._rules[rule_id] = parse_rule(body, rule_id)
            except ApiError as exc:
                log.error("alert rule %s in the store is not valid any more (%s): not loaded", rule_id, exc.message)
        for uid, body in await self.repo.triggers():
            try:
                self._triggers[uid] = parse_trigger(body, uid, lambda _: True, lambda _: True)
            except ApiError as exc:
                log.error("operation trigger %s in the store is not valid any more (%s): not loaded", uid, exc.message)
        await self.repo.drop_states_of_unknown_rules(set(self._rules))
        for state in await self.repo.states():
            self._states[(state.rule_id, state.target_id)] = state
        self._index = RuleIndex.build(self._rules.values(), self.targets.url_of)
        for key, agg in await self.repo.aggregates():
            self.aggregates.restore(key, agg)
        self._prune_aggregates()
        for rule in self._rules.values():
            self._evaluate_rule(rule, apply=False)  # CHANGE conditions learn the current values
        self._tasks.append(asyncio.create_task(self._work(), name="alert-jobs"))
        now = self._clock.now()
        self._roll(now)  # buckets that ended while the gateway was down
        for run in await self.repo.runs():
            if now * 1000 - run.created <= self.missed_grace_s * 1000:
                self._jobs.put_nowait(_Job([], [run]))
            else:
                log.warning(
                    "alert trigger %s owed a run of %s (rule %s on %s) but the gateway was down too long: missed",
                    run.trigger_uid,
                    run.action_group_oid,
                    run.rule_id,
                    run.target_id,
                )
                self.repo.write_later(run_done_row(run.id))
        bus = self._bus
        self._unsubscribe = [
            lambda: self._watch_states(False),
            bus.subscribe(
                self._on_device, DeviceCreatedEvent, DeviceUpdatedEvent, DeviceDisabledEvent, DeviceRemovedEvent
            ),
            bus.subscribe(self._on_availability, DeviceAvailableEvent, DeviceUnavailableEvent),
            bus.subscribe(self._on_place, PlaceUpdatedEvent),
        ]
        self._watch_states(bool(self._rules))
        self._tasks.append(asyncio.create_task(self._roll_loop(), name="alert-rollover"))
        await self.repo.sweep(int(now * 1000))
        log.info(
            "alert rules: %d rules, %d operation triggers, %d alert states",
            len(self._rules),
            len(self._triggers),
            len(self._states),
        )

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        try:
            await asyncio.wait_for(self._jobs.join(), STOP_DRAIN_S)
        except TimeoutError:
            log.warning("alert engine stopped with %d jobs unfinished", self._jobs.qsize())
        await cancel_all_and_wait([*self._tasks, self._sweep_task])
        self._tasks = []

    async def drained(self) -> None:
        """Return once every flip is on disk and every run it owes has been started."""
        await self._jobs.join()

    # ------------------------------------------------------------------ rules

    def rules(self) -> list[AlertRule]:
        return sorted(self._rules.values(), key=lambda r: (r.name, r.id))

    def rule(self, rule_id: str) -> AlertRule:
        if not rule_id or not rule_id.strip():
            raise errors.refuse(errors.MISSING_ID, "uid: a rule id must be specified")
        rule = self._rules.get(rule_id)
        if rule is None:
            raise errors.refuse(errors.UNKNOWN_ID, f"uid: no alert rule {rule_id!r}")
        return rule

    async def create_rule(self, body: Any, rule_id: str | None = None) -> AlertRule:
        """A new rule; ``rule_id`` when the cloud chose it (rules taken down for edge evaluation)."""
        if len(self._rules) >= MAX_RULES:
            raise errors.refuse(errors.TOO_MANY, f"at most {MAX_RULES} alert rules; delete one first")
        rule = parse_rule(body, rule_id or new_id(), self.targets.exists)
        await self.repo.save_rule(rule.id, rule.name, rule.to_json(), self._now_ms())
        self._install(rule)
        return rule

    async def update_rule(self, rule_id: str, body: Any) -> AlertRule:
        self.rule(rule_id)
        rule = parse_rule(body, rule_id, self.targets.exists)
        await self.repo.save_rule(rule.id, rule.name, rule.to_json(), self._now_ms())
        if not rule.stateful:
            await self._forget_states(rule_id)
        self._install(rule)
        return rule

    async def delete_rule(self, rule_id: str) -> None:
        """The rule, its AlertStates and the operation triggers filtering on it (the history stays)."""
        self.rule(rule_id)
        for trigger in [t for t in self._triggers.values() if t.rule_id == rule_id]:
            await self.delete_trigger(trigger.uid)
        await self.repo.delete_rule(rule_id)
        del self._rules[rule_id]
        self._memory.pop(rule_id, None)
        for key in [k for k in self._states if k[0] == rule_id]:
            del self._states[key]
        self._reindex()

    def _install(self, rule: AlertRule) -> None:
        self._rules[rule.id] = rule
        self._memory.pop(rule.id, None)
        self._reindex()
        self._evaluate_rule(rule, apply=True)

    async def _forget_states(self, rule_id: str) -> None:
        for key in [k for k in self._states if k[0] == rule_id]:
            del self._states[key]
        await self.repo.forget_states(rule_id)

    # ------------------------------------------------------------------ operation triggers

    def triggers(self) -> list[OperationTrigger]:
        return list(self._triggers.values())

    def trigger(self, uid: str) -> OperationTrigger:
        trigger = self._triggers.get(uid)
        if trigger is None:
            raise errors.refuse(errors.TRIGGER_UNKNOWN, f"uid: no operation trigger {uid!r}")
        return trigger

    def _group_exists(self, oid: str) -> bool:
        try:
            self._groups.get(oid)
        except ApiError:
            return False
        return True

    async def create_trigger(self, body: Any, uid: str | None = None) -> OperationTrigger:
        """A new trigger; ``uid`` when the cloud chose it (triggers taken down with their rules)."""
        if len(self._triggers) >= MAX_TRIGGERS:
            raise errors.refuse(errors.TRIGGER_TOO_MANY, f"at most {MAX_TRIGGERS} operation triggers")
        trigger = parse_trigger(body, uid or new_id(), self._rules.__contains__, self._group_exists)
        await self.repo.save_trigger(trigger.uid, trigger.rule_id, trigger.to_json(), self._now_ms())
        self._triggers[trigger.uid] = trigger
        return trigger

    async def update_trigger(self, uid: str, body: Any) -> OperationTrigger:
        self.trigger(uid)
        trigger = parse_trigger(body, uid, self._rules.__contains__, self._group_exists)
        await self.repo.save_trigger(uid, trigger.rule_id, trigger.to_json(), self._now_ms())
        self._triggers[uid] = trigger
        return trigger

    async def delete_trigger(self, uid: str) -> None:
        self.trigger(uid)
        await self.repo.delete_trigger(uid)
        del self._triggers[uid]

    # ------------------------------------------------------------------ queries

    def states(self) -> list[AlertState]:
        return sorted(self._states.values(), key=lambda s: (s.state_change_ts, s.rule_id, s.target_id))

    def state_of(self, rule_id: str, target_id: str) -> AlertState | None:
        return self._states.get((rule_id, self.targets.url_of(target_id)))

    # ------------------------------------------------------------------ events

    def _on_states(self, event: DeviceStateChangedEvent) -> None:
        url = event.device_url
        if self._registry.get(url) is None:
            return
        now = self._clock.now()
        keys = {"system.lastCommDate"}
        for reported in event.device_states:
            name = reported.get("name")
            if not isinstance(name, str):
                continue
            keys.add(name)
            scales = self._index.scales_for(url, name)
            if scales:
                point = data_point(reported.get("value"))
                if point is not None:
                    for scale in scales:
                        key = (url, name, scale)
                        self.repo.queue([aggregate_row(key, self.aggregates.add(key, point, now))])
        self._evaluate(url, keys, now)

    def _on_device(self, event: Any) -> None:
        url: str = event.device_url
        if isinstance(event, DeviceCreatedEvent | DeviceRemovedEvent):
            self.targets.devices_changed()
            self._reindex()
            if isinstance(event, DeviceRemovedEvent):
                return
            keys: Iterable[str] = LOCAL_SYSTEM
        elif isinstance(event, DeviceDisabledEvent):
            keys = ("system.state",)
        else:
            keys = ("system.name", "system.labels", "system.state")
        self._evaluate(url, set(keys), self._clock.now())

    def _on_availability(self, event: DeviceAvailableEvent | DeviceUnavailableEvent) -> None:
        self.targets.comm_changes[event.device_url] = event.timestamp
        self._evaluate(event.device_url, {"system.commStatus", "system.commStatus.changeDate"}, self._clock.now())

    def _on_place(self, _: PlaceUpdatedEvent) -> None:
        now = self._clock.now()
        for device in self._registry.all():
            self._evaluate(device.url_text, {"system.labels"}, now)

    # ------------------------------------------------------------------ evaluation

    def _reindex(self) -> None:
        self._index = RuleIndex.build(self._rules.values(), self.targets.url_of)
        self._prune_aggregates()
        if self._unsubscribe:  # loaded (and not stopped): on the bus
            self._watch_states(bool(self._rules))

    def _watch_states(self, watch: bool) -> None:
        """On the bus for state changes only while a rule exists: without one, a state change costs nothing
        here. (A rule learns the current values when it is installed, so nothing is missed meanwhile.)"""
        if watch and self._off_states is None:
            self._off_states = self._bus.subscribe(self._on_states, DeviceStateChangedEvent)
        elif not watch and self._off_states is not None:
            self._off_states()
            self._off_states = None

    def _prune_aggregates(self) -> None:
        self.aggregates.keep_only(
            {key for key, _ in self.aggregates.items() if key[2] in self._index.scales_for(key[0], key[1])}
        )

    def _subjects(self, rule: AlertRule) -> list[str]:
        """The devices a rule applies to: its bound target, or every device having what it reads first."""
        fixed = rule.fixed_target
        if fixed is not None:
            return [self.targets.url_of(fixed)]
        first = rule.conditions[0].subject.name
        devices = self._registry.all()
        if first.kind is Kind.SYSTEM:
            return [d.url_text for d in devices]
        return [d.url_text for d in devices if first.key in d.states]

    def _evaluate(self, url: str, keys: set[str], now: float, aggregated_only: bool = False) -> None:
        lookup = self._index.aggregated_rules_for if aggregated_only else self._index.rules_for
        subjects: dict[str, set[str]] = {}
        for key in keys:
            match = lookup(url, key)
            for rule_id in match.anywhere:
                subjects.setdefault(rule_id, set()).add(url)
            for rule_id in match.named:
                rule = self._rules.get(rule_id)
                if rule is not None:
                    subjects.setdefault(rule_id, set()).update(self._subjects(rule))
        for rule_id, targets in subjects.items():
            rule = self._rules.get(rule_id)
            if rule is None:
                continue
            for subject in sorted(targets) if len(targets) > 1 else targets:
                self._evaluate_one(rule, subject, now, apply=True)

    def _evaluate_rule(self, rule: AlertRule, *, apply: bool) -> None:
        if not rule.active or rule.cloud_only:
            return
        now = self._clock.now()
        for subject in self._subjects(rule):
            self._evaluate_one(rule, subject, now, apply=apply)

    def _evaluate_one(self, rule: AlertRule, subject: str, now: float, *, apply: bool) -> None:
        self.evaluations += 1
        outcome = evaluate(rule, subject, self.targets, self._memory.setdefault(rule.id, {}))
        if apply:
            self._apply(rule, subject, outcome, int(now * 1000))

    def _apply(self, rule: AlertRule, subject: str, outcome: Outcome, ts: int) -> None:
        key = (rule.id, subject)
        current = self._states.get(key) if rule.stateful else None
        was = current is not None and current.state
        raised = outcome.matched
        if not raised and not was:
            return
        attributes = outcome.attributes()
        flipped_to: bool | None = None
        rows: list[Row] = []
        if not rule.stateful:
            alert = Alert(new_id(), ts, rule.id, subject, None, None, attributes)
            rows.append(alert_row(alert))
        elif raised != was:
            flipped_to = raised
            alert = Alert(new_id(), ts, rule.id, subject, raised, ts, attributes)
            state = AlertState(
                rule.id,
                subject,
                raised,
                ts,
                alert.id,
                alert.id,
                attributes,
                (current.version if current is not None else 0) + 1,
            )
            self._states[key] = state
            change = StateChange(new_id(), ts, rule.id, subject, raised, alert.id)
            rows += [alert_row(alert), state_change_row(change), state_row(state)]
        else:
            assert current is not None
            alert = Alert(new_id(), ts, rule.id, subject, True, current.state_change_ts, attributes)
            current.last_alert_id = alert.id
            current.attributes = attributes
            current.version += 1
            rows += [alert_row(alert), state_row(current)]
        runs = [
            TriggerRun(new_id(), t.uid, oid, rule.id, subject, ts)
            for t in self._triggers.values()
            if t.rule_id == rule.id and (oid := t.action_group_oid) is not None and t.fires(raised, flipped_to)
        ]
        if self.operation_sink is not None:
            for trigger in self._triggers.values():
                if (
                    trigger.rule_id == rule.id
                    and trigger.action_group_oid is None
                    and trigger.fires(raised, flipped_to)
                ):
                    self.operation_sink(trigger, rule, subject, ts)
        if flipped_to is not None or runs:
            self._jobs.put_nowait(_Job([*rows, *map(run_row, runs)], runs))
        else:
            self.repo.queue(rows)
        self._counted(len(rows))
        if should_notify(rule.notif_mode, rule.stateful, raised, flipped_to):
            self._bus.publish(
                AlertNotificationEvent(
                    rule_id=rule.id,
                    rule_name=rule.name,
                    target_id=subject,
                    alert_id=alert.id,
                    state=alert.state,
                    state_changed=flipped_to is not None,
                    message=rule.message,
                )
            )
            log.info(
                "alert rule %r on %s: %s%s",
                rule.name,
                subject,
                "alert" if alert.state is None else f"state {str(alert.state).lower()}",
                f": {rule.message}" if rule.message else "",
            )

    # ------------------------------------------------------------------ background work

    async def _work(self) -> None:
        """Sync each job's rows, then run what it owes: in order, one job at a time."""
        while True:
            job = await self._jobs.get()
            try:
                await self.repo.write(job.rows)
            except Exception:
                log.exception("alert state not written: the action groups it triggers do not run")
                self._jobs.task_done()
                continue
            for run in job.runs:
                await self._run(run)
            self._jobs.task_done()

    async def _run(self, run: TriggerRun) -> None:
        # Removed with the journal rows of the execution it becomes (one flush, one transaction).
        self.repo.write_later(run_done_row(run.id))
        try:
            group = self._groups.get(run.action_group_oid)
            execution = await self._executor.submit(
                group,
                owner=OWNER,
                type=TRIGGER_EXECUTION_TYPE,
                sub_type=TRIGGER_EXECUTION_SUB_TYPE,
                action_group_oid=run.action_group_oid,
                trigger_id=run.trigger_uid,
            )
        except ApiError as exc:
            log.warning(
                "alert trigger %s (rule %s on %s) could not run %s: %s",
                run.trigger_uid,
                run.rule_id,
                run.target_id,
                run.action_group_oid,
                exc.message,
            )
            return
        except Exception:
            log.exception("alert trigger %s could not run %s", run.trigger_uid, run.action_group_oid)
            return
        self._bus.publish(
            GroupTriggeredEvent(
                trigger_id=run.trigger_uid,
                trigger_type=ALERT_TRIGGER_TYPE,
                action_group_oid=run.action_group_oid,
                exec_id=execution.id,
            )
        )

    async def _roll_loop(self) -> None:
        while True:
            await self._clock.sleep_until(next_bucket_start("H", self._clock.now()) / 1000)
            try:
                now = self._clock.now()
                self._roll(now)
                await self.repo.sweep(int(now * 1000))
            except Exception:
                log.exception("alert aggregates roll-over failed")

    def _roll(self, now: float) -> None:
        """Empty the buckets that ended, and evaluate again the rules that read them."""
        by_url: dict[str, set[str]] = {}
        for key in self.aggregates.roll(now):
            self.repo.queue([aggregate_row(key, self.aggregates.current(key, now))])
            by_url.setdefault(key[0], set()).add(key[1])
        for url, states in by_url.items():
            self._evaluate(url, states, now, aggregated_only=True)

    def _counted(self, rows: int) -> None:
        self._new_rows += rows
        if self._new_rows >= SWEEP_EVERY and (self._sweep_task is None or self._sweep_task.done()):
            self._new_rows = 0
            self._sweep_task = asyncio.create_task(self._sweep(), name="alert-retention")

    async def _sweep(self) -> None:
        try:
            await self.repo.sweep(self._now_ms())
        except Exception:
            log.exception("alert history retention failed")

    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)
