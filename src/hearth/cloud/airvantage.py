"""Seeds 001 and 004 (AirVantage): this gateway as one system (``system_uid``), speaking only the seeds' endpoints.

Every ``poll_interval_s`` (sooner after a failure, with back-off: ``hearth.cloud.answers.SyncLoop``):

1. **hooks**: each alert of an edge rule taken from the cloud is notified to the rule's hooks, as seed 001's
   subscriber API says: ``POST <callback>`` ``{"name": "event.alert.rule.triggered", "date", "content":
   {"alert.uid", "rule.uid", "target.uid"}}``, answered within 10 s, the answer not parsed. The alert itself, in
   the seed's Alert shape (``companyId, targetId, targetType, ruleId, state, stateChangeTs, attributes[{id,
   value, refTime}]``), is served by the gateway's own ``/ext/airvantage/api/v3/alerts/...`` routes. The seeds have
   no endpoint to write an alert to the cloud, so none is called.
2. **rules**: ``GET /api/v2/alertrules`` (a bare JSON array), installed under the cloud's ids (a rule the cloud no
   longer lists goes; rules made locally stay), and ``GET /api/v1/alerts/rules/{uid}/hooks`` of each.
3. **triggers**: ``GET /api/v1/operations/triggers`` (a bare array), installed the same way for the rules we
   have. ``RUN_ACTION_GROUP`` runs an action group (``hearth.alerts.triggers``); a cloud operation type becomes a
   local operation of this system (``trigger {type: RULE, uid, name}``) run like a task below.
4. **tasks**: ``GET /api/v1/operations/tasks?target=<system_uid>&states=PENDING,IN_PROGRESS&fields=...``: without
   ``fields`` the seed returns only ``uid, date, createdAt, executedAt, rank, state, target``, so we ask for
   ``operation`` too; then ``GET /api/v1/operations/{uid}`` for the operation's ``input``. Tasks run in ``rank``
   order (then ``createdAt``), each once (its uid is on disk before it runs).

What a task does, by the operation's type:

- ``SYSTEM_SEND_COMMAND``: seed 004 gives a command's parameters (a trigger's ``parameters``) as ``{commandId,
  protocol, parameters, application, requestConnection}``. **Where the command sits in a task is not said**
  (a task's ``input`` is a string, a file line): we read it from the operation's ``input`` object, the input
  the operation was created with. ``commands`` maps a commandId to an action group; ``hearth.apply`` takes an
  End-User API action group inline in ``parameters.actionGroup``.
- any other type (``SYSTEM_SUSPEND``, ``SYSTEM_APPLY_SETTINGS`` ...): nothing runs; the outcome is ``FAILURE``
  with the message ``operation.type.not.supported``.

**Outcomes**: task states are read-only in seed 004 and no endpoint takes a task's result, so the outcome stays
on the gateway, in the seed's task shape, at ``GET /ext/airvantage/api/v1/operations/tasks?target=<system_uid>``
(same ``fields=`` rule). **Cancel**: a task the cloud cancels (``POST /api/v1/operations/{uid}/cancel`` or
``.../tasks/{task}/cancel``) leaves the PENDING/IN_PROGRESS list; if we are running it, we ask for its state and a
``CANCELLED`` one cancels its execution (outcome ``CANCELLED``). **Retry** (``POST .../retry``) makes a new
operation with new tasks: new uids, so they run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hearth.alerts.rule import AlertRule
from hearth.alerts.triggers import OperationTrigger
from hearth.cloud.answers import CloudFailure, SyncLoop, check_status, expect_dict, expect_list, json_of
from hearth.cloud.credentials import read_secret
from hearth.cloud.https_connector import OutboxConnector
from hearth.config import AirVantageSettings
from hearth.core.backoff import Backoff
from hearth.core.tasks import cancel_all_and_wait
from hearth.extensions import GatewayParts
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError
from hearth.store.repositories import SettingsRepository

log = logging.getLogger(__name__)
CLOUD_RULES_KEY = "airvantage.cloudRules"  # settings row: ids of the rules taken from the cloud
CLOUD_TRIGGERS_KEY = "airvantage.cloudTriggers"
INBOUND_PREFIX = "airvantage:"  # inbound log: one row per task (cloud or local), its outcome as the result
TASK_FIELDS = "uid,state,createdAt,rank,operation"
HOOK_TIMEOUT_S = 10.0  # seed 001: "if the callback takes more that 10 seconds to answer"
NOT_SUPPORTED = "operation.type.not.supported"
EXEC_KEY = "hearthExecId"  # in a kept outcome: its execution (not a seed field; the local route never serves it)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class AirVantageConnector(OutboxConnector):
    name = "airvantage"
    outbox_table = "outbox_airvantage"
    streams = frozenset({"alerts"})

    def __init__(self, settings: AirVantageSettings) -> None:
        super().__init__(settings)
        self.settings: AirVantageSettings = settings
        self.cycles = 0
        self.hooks: dict[str, list[str]] = {}  # cloud rule id -> hook callback URLs
        self._running: dict[str, Any] = {}  # task uid -> its execution, while it runs
        self._work: set[asyncio.Task[None]] = set()
        self.loop = SyncLoop(
            "airvantage",
            self.cycle,
            settings.poll_interval_s,
            Backoff(settings.retry_min_s, max(settings.retry_min_s, settings.poll_interval_s)),
        )

    @property
    def failures(self) -> dict[str, int]:
        return self.loop.failures

    def _prepare(self, parts: GatewayParts) -> None:
        self.settings_repo = SettingsRepository(parts.db)
        parts.alerts.operation_sink = self._on_cloud_trigger  # the local operations route reads outcomes()

    async def stop(self) -> None:
        await cancel_all_and_wait(self._work)
        await super().stop()

    async def _run(self) -> None:
        s = self.settings
        await self._close_interrupted()
        async with httpx.AsyncClient(base_url=s.base_url, timeout=s.timeout_s) as self.http:
            await self.loop.run()

    async def _close_interrupted(self) -> None:
        """Tasks a crash or a stop left IN_PROGRESS. If the journal's recovery resumed their execution, its end
        closes them as usual; if it closed it (COMMAND_INTERRUPTED, TIMED_OUT) or it never started, they end
        FAILURE, said, rather than IN_PROGRESS for ever (and are not run again: whether their commands happened
        is not known)."""
        for outcome in await self.inbound.results(INBOUND_PREFIX):
            if outcome.get("state") not in ("PENDING", "IN_PROGRESS") or not isinstance(outcome.get("uid"), str):
                continue
            exec_id = str(outcome.get(EXEC_KEY) or "")
            execution = self.parts.executor.current.get(exec_id)
            if execution is not None:  # resumed, still running
                self._running[outcome["uid"]] = execution
                self._spawn(self._finish(outcome, execution))
                continue
            ended = await self.parts.journal.get(exec_id) if exec_id else None
            if ended is not None and ended.state.name in ("COMPLETED", "FAILED"):  # resumed and ended, or closed
                await self._ended(outcome, ended)
            else:
                await self._close(outcome, "FAILURE", "operation.interrupted: the gateway stopped while it ran")

    async def cycle(self) -> None:
        """Report, then pull: hooks of the alerts up, then rules, triggers and tasks down."""
        self.http.headers["Authorization"] = f"Bearer {read_secret(self.folder, self.settings.token_file).decode()}"
        await self._notify_hooks()
        await self._pull_rules()
        await self._pull_triggers()
        await self._pull_tasks()
        self.cycles += 1

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        answer = await self.http.get(path, params=params)
        check_status(answer)
        return json_of(answer)

    # ------------------------------------------------------------------ up: rule hooks

    async def _notify_hooks(self) -> None:
        await self.recorder.flush(telemetry=False)
        for record in await self.outbox.pending("alerts", 500):
            body = record.body
            rule_id = body.get("ruleId")
            for callback in self.hooks.get(rule_id, []) if isinstance(rule_id, str) else []:
                event = {
                    "name": "event.alert.rule.triggered",
                    "date": body.get("timestamp") or record.created,
                    "content": {
                        "alert.uid": body.get("alertId"),
                        "rule.uid": rule_id,
                        "target.uid": self.settings.system_uid,
                    },
                }
                try:  # the seed: the answer is not parsed; past 2xx/3xx or 10 s the endpoint may be deactivated
                    answer = await self.http.post(callback, json=event, timeout=HOOK_TIMEOUT_S)
                    if answer.status_code >= 400:
                        log.warning(
                            "airvantage: a hook of rule %s answered %d: not sent again", rule_id, answer.status_code
                        )
                except httpx.HTTPError as exc:
                    log.warning(
                        "airvantage: a hook of rule %s failed (%s): not sent again", rule_id, type(exc).__name__
                    )
            await self.outbox.ack("alerts", record.seq)

    # ------------------------------------------------------------------ down: rules and their hooks

    async def _mirror(
        self,
        what: str,
        key: str,
        items: dict[str, Any],
        local: set[str],
        install: Callable[[str, Any], Awaitable[None]],
        delete: Callable[[str], Awaitable[None]],
    ) -> set[str]:
        """Make the cloud's ``items`` (by id) ours: each installed (one refused here is logged and left out); one
        we took from the cloud before and it no longer lists goes (local ones stay). The ids taken, kept on disk."""
        ours = set(await self._ids(key))
        seen = set()
        for uid, item in items.items():
            try:
                await install(uid, item)
            except ApiError as exc:
                log.warning("airvantage: %s %s refused here: %s", what, uid, exc.message)
                continue
            seen.add(uid)
        for gone in (ours - seen) & local:
            await delete(gone)
        await self.settings_repo.put(key, json.dumps(sorted(seen)))
        return seen

    async def _pull_rules(self) -> None:
        listed = expect_list(await self._get("/api/v2/alertrules"), "GET /api/v2/alertrules")
        items = {i["id"]: i for i in listed if isinstance(i, dict) and isinstance(i.get("id"), str) and i["id"]}
        if len(items) < len(listed):
            log.warning("airvantage: %d rules without an id in the list: skipped", len(listed) - len(items))
        engine = self.parts.alerts
        local = {r.id for r in engine.rules()}

        async def install(rule_id: str, item: Any) -> None:
            if rule_id not in local:
                await engine.create_rule(item, rule_id)
            elif engine.rule(rule_id).to_json() != _comparable(engine, item, rule_id):
                await engine.update_rule(rule_id, item)

        seen = await self._mirror("rule", CLOUD_RULES_KEY, items, local, install, engine.delete_rule)
        hooks: dict[str, list[str]] = {}
        for rule_id in sorted(seen):
            listed = expect_list(await self._get(f"/api/v1/alerts/rules/{rule_id}/hooks"), "hooks")
            hooks[rule_id] = [
                h["callback"]
                for h in listed
                if isinstance(h, dict)
                and isinstance(h.get("callback"), str)
                and h["callback"].startswith(("http://", "https://"))
            ]
        self.hooks = hooks

    async def _ids(self, key: str) -> list[str]:
        value = await self.settings_repo.get(key)
        return list(json.loads(value)) if value else []

    # ------------------------------------------------------------------ down: operation triggers

    async def _pull_triggers(self) -> None:
        listed = expect_list(await self._get("/api/v1/operations/triggers"), "GET /api/v1/operations/triggers")
        engine = self.parts.alerts
        local = {t.uid: t for t in engine.triggers()}
        rules = {r.id for r in engine.rules()}
        # A trigger on a rule we do not evaluate here is the cloud's to run.
        items = {
            i["uid"]: i
            for i in listed
            if isinstance(i, dict) and isinstance(i.get("uid"), str) and i["uid"] and i.get("filter") in rules
        }

        async def install(uid: str, item: Any) -> None:
            body = {
                k: item.get(k) for k in ("type", "filter", "operationType", "parameters", "email", "notify", "callback")
            }
            body["notify"] = bool(body["notify"])
            if uid not in local:
                await engine.create_trigger(body, uid)
            elif local[uid].to_json() != {"uid": uid, **body}:
                await engine.update_trigger(uid, body)

        await self._mirror("operation trigger", CLOUD_TRIGGERS_KEY, items, set(local), install, engine.delete_trigger)

    def _on_cloud_trigger(self, trigger: OperationTrigger, rule: AlertRule, target: str, ts: int) -> None:
        """A cloud-typed trigger fired here: a local operation of this system, run like a cloud task."""
        uid = f"local-{trigger.uid}-{ts}-{len(self._work)}"
        task = {
            "uid": uid,
            "state": "PENDING",
            "createdAt": ts,
            "rank": 0,
            "operation": {
                "operationType": trigger.operation_type,
                "uid": uid,
                "trigger": {"type": "RULE", "uid": rule.id, "name": rule.name},
            },
        }
        self._spawn(self._take(task, dict(trigger.parameters)))

    # ------------------------------------------------------------------ down: tasks

    async def _pull_tasks(self) -> None:
        page = expect_dict(
            await self._get(
                "/api/v1/operations/tasks",
                {
                    "target": self.settings.system_uid,
                    "states": "PENDING,IN_PROGRESS",
                    "fields": TASK_FIELDS,
                    "size": 100,
                },
            ),
            "GET /api/v1/operations/tasks",
        )
        items = [t for t in expect_list(page.get("items"), "tasks: items") if isinstance(t, dict)]
        listed = {t.get("uid") for t in items}
        for gone in [u for u in self._running if u not in listed]:
            await self._check_cancelled(gone)
        items.sort(key=lambda t: (_int(t.get("rank")), _int(t.get("createdAt"))))  # the seed: by rank order
        for task in items:
            uid = task.get("uid")
            if not isinstance(uid, str) or not uid or uid in self._running:
                continue
            if await self.inbound.result(INBOUND_PREFIX + uid) is not None:
                continue  # taken before (its outcome is kept): a task runs once
            operation = expect_dict(task.get("operation"), f"task {uid}: operation")
            op_uid = operation.get("uid")
            if not isinstance(op_uid, str):
                raise CloudFailure("unexpected shape", f"task {uid}: operation.uid")
            details = expect_dict(await self._get(f"/api/v1/operations/{op_uid}"), f"operation {op_uid}")
            op_input = details.get("input")
            await self._take(task, op_input if isinstance(op_input, dict) else {}, wait=False)

    async def _check_cancelled(self, uid: str) -> None:
        page = expect_dict(
            await self._get(
                "/api/v1/operations/tasks", {"target": self.settings.system_uid, "uid": uid, "fields": "uid,state"}
            ),
            "GET tasks?uid",
        )
        items = expect_list(page.get("items"), "tasks: items")
        if items and isinstance(items[0], dict) and items[0].get("state") == "CANCELLED":
            execution = self._running.get(uid)
            if execution is not None and self.parts.executor.cancel(execution.id):
                log.info("airvantage: task %s cancelled by the cloud: execution %s cancelled", uid, execution.id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _take(self, task: dict[str, Any], op_input: dict[str, Any], *, wait: bool = True) -> None:
        """Start the task's work; its outcome on disk when it ends (``wait=False``: do not wait for the end)."""
        uid = str(task["uid"])
        operation = task.get("operation") or {}
        outcome: dict[str, Any] = {
            "uid": uid,
            "state": "IN_PROGRESS",
            "createdAt": task.get("createdAt"),
            "executedAt": _now_ms(),
            "date": _now_ms(),
            "rank": task.get("rank"),
            "target": self.settings.system_uid,
            "targetDescription": {"uid": self.settings.system_uid},
            "input": None,
            "messages": [],
            "operation": {"operationType": operation.get("operationType"), "uid": operation.get("uid")},
        }
        if "trigger" in operation:
            outcome["trigger"] = operation["trigger"]
        if not await self.inbound.first_time(INBOUND_PREFIX + uid):
            return  # taken before
        await self.inbound.answer(INBOUND_PREFIX + uid, outcome)  # on disk before it runs
        started = await self._start(operation.get("operationType"), op_input)
        if isinstance(started, tuple):
            await self._close(outcome, *started)
            return
        self._running[uid] = started
        outcome[EXEC_KEY] = started.id  # kept with the outcome (never served): a restart finds its execution
        await self.inbound.answer(INBOUND_PREFIX + uid, outcome)
        finish = self._finish(outcome, started)
        if wait:
            await finish
        else:
            self._spawn(finish)

    async def _start(self, operation_type: Any, op_input: dict[str, Any]) -> Any:
        """The execution started, or (state, message) if nothing could start."""
        if operation_type != "SYSTEM_SEND_COMMAND":
            return "FAILURE", f"{NOT_SUPPORTED}: {operation_type!r} is not run by this gateway"
        command_id = op_input.get("commandId")
        try:
            if command_id == "hearth.apply":
                parameters = op_input.get("parameters")
                group = ActionGroup.model_validate(
                    parameters.get("actionGroup") if isinstance(parameters, dict) else None
                )
                execution = await self.parts.executor.submit(group, owner="airvantage", source="cloud")
            elif isinstance(command_id, str) and command_id in self.settings.commands:
                oid = self.settings.commands[command_id]
                execution = await self.parts.executor.submit(
                    self.parts.action_groups.get(oid), owner="airvantage", source="cloud", action_group_oid=oid
                )
            else:
                return "FAILURE", f"operation.command.unknown: commandId {command_id!r}"
        except ApiError as exc:
            return "FAILURE", exc.message
        except ValueError as exc:
            return "FAILURE", str(exc)[:500]
        return execution

    async def _finish(self, outcome: dict[str, Any], execution: Any) -> None:
        exec_id = execution.id
        try:
            await self.parts.executor.wait(exec_id)
        finally:
            self._running.pop(outcome["uid"], None)
        await self._ended(outcome, execution)

    async def _ended(self, outcome: dict[str, Any], execution: Any) -> None:
        exec_id, state = execution.id, execution.state.name
        if getattr(execution, "cancelled", False):
            await self._close(outcome, "CANCELLED", f"execution {exec_id} cancelled")
        elif state == "COMPLETED":
            await self._close(outcome, "SUCCESS", f"execution {exec_id} completed")
        else:
            await self._close(outcome, "FAILURE", f"execution {exec_id} {state.lower() or 'failed'}")

    async def _close(self, outcome: dict[str, Any], state: str, message: str) -> None:
        now = _now_ms()
        outcome.update(
            state=state,
            date=now,
            messages=[{"date": now, "type": "INFO" if state == "SUCCESS" else "ERROR", "message": message}],
        )
        await self.inbound.answer(INBOUND_PREFIX + outcome["uid"], outcome)
        log.info("airvantage: task %s %s (%s)", outcome["uid"], state, message)

    async def outcomes(self) -> list[dict[str, Any]]:
        """Every task taken here (cloud and local operations), in the seed's task shape, newest first."""
        found = await self.inbound.results(INBOUND_PREFIX)
        found.sort(key=lambda t: _int(t.get("createdAt")), reverse=True)
        return found


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _comparable(engine: Any, item: dict[str, Any], rule_id: str) -> Any:
    """The cloud's rule as the engine would store it (to update only what changed); None if it is not valid."""
    from hearth.alerts.validation import parse_rule

    try:
        return parse_rule(item, rule_id, engine.targets.exists).to_json()
    except ApiError:
        return None
