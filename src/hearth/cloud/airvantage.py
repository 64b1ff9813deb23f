"""Seeds 001 and 004 (AirVantage): this gateway as one system (``system_uid``).

Every ``poll_interval_s``, report then pull:

- **report**: alerts of the edge rules (seed 001's Alert shape: ``{uid, date, rule, target, targetType, state}``)
  from this connector's own outbox, each leaving it only on a 2xx;
- **pull**: the rules (``GET /api/v2/alertrules``), installed for edge evaluation under the cloud's ids (a rule
  the cloud no longer lists goes; rules made locally stay); then the tasks aimed at this system
  (``GET /api/v1/operations/tasks?target=<system_uid>&states=PENDING,IN_PROGRESS``), run in ``rank`` order, each
  once (its uid is kept on disk), and each task's outcome reported (``SUCCESS`` or ``FAILURE`` with a message) at
  ``task_report_path`` (the seed's task states are read-only: the path is a setting).

A ``SYSTEM_SEND_COMMAND`` task's ``input`` is ``{"commandId", "parameters"}``: the action group ``commands`` names
for the commandId runs, or, for ``hearth.apply``, the End-User API action group in ``parameters.actionGroup``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx

from hearth.cloud.credentials import read_secret
from hearth.cloud.https_connector import OutboxConnector
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError
from hearth.store.repositories import SettingsRepository

log = logging.getLogger(__name__)
CLOUD_RULES_KEY = "airvantage.cloudRules"  # settings row: ids of the rules taken from the cloud


class AirVantageConnector(OutboxConnector):
    name = "airvantage"
    outbox_table = "outbox_airvantage"
    streams = frozenset({"alerts"})

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.cycles = 0

    def _attach(self, gateway: Any) -> None:
        self.settings_repo = SettingsRepository(gateway.db)

    async def _run(self) -> None:
        s = self.settings
        async with httpx.AsyncClient(base_url=s.base_url, timeout=s.timeout_s) as http:
            while True:
                try:
                    http.headers["Authorization"] = f"Bearer {read_secret(self.folder, s.token_file).decode()}"
                    await self.cycle(http)
                except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                    status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
                    log.warning("airvantage: sync failed (%s); again in %.0f s",
                                f"HTTP {status}" if status else f"{type(exc).__name__}: {exc}", s.poll_interval_s)
                await asyncio.sleep(s.poll_interval_s)

    async def cycle(self, http: httpx.AsyncClient) -> None:
        """Report, then pull: alerts up, then rules and tasks down."""
        await self._report_alerts(http)
        await self._pull_rules(http)
        await self._pull_tasks(http)
        self.cycles += 1

    async def _report_alerts(self, http: httpx.AsyncClient) -> None:
        await self.recorder.flush(telemetry=False)
        for record in await self.outbox.pending("alerts", 500):
            body = record.body
            alert = {"uid": body.get("alertId") or record.event_id, "date": body.get("timestamp"),
                     "rule": {"uid": body.get("ruleId"), "name": body.get("ruleName")},
                     "target": body.get("targetId"), "targetType": "SYSTEM", "state": body.get("state"),
                     "message": body.get("message"), "eventId": record.event_id}
            answer = await http.post(self.settings.alerts_path, json=alert)
            answer.raise_for_status()
            await self.outbox.ack("alerts", record.seq)

    async def _pull_rules(self, http: httpx.AsyncClient) -> None:
        answer = await http.get("/api/v2/alertrules")
        answer.raise_for_status()
        items = answer.json().get("items", [])
        engine = self.gateway.alerts
        local = {r.id for r in engine.rules()}
        ours = set(await self._cloud_rule_ids())
        seen = set()
        for item in items:
            rule_id = item.get("id") or item.get("uid")
            if not isinstance(rule_id, str):
                continue
            seen.add(rule_id)
            try:
                if rule_id in local:
                    await engine.update_rule(rule_id, item)
                else:
                    await engine.create_rule(item, rule_id)
            except ApiError as exc:
                log.warning("airvantage: rule %s refused here: %s", rule_id, exc.message)
                seen.discard(rule_id)
        for gone in (ours - seen) & local:
            await engine.delete_rule(gone)
        await self.settings_repo.put(CLOUD_RULES_KEY, json.dumps(sorted(seen)))

    async def _cloud_rule_ids(self) -> list[str]:
        value = await self.settings_repo.get(CLOUD_RULES_KEY)
        return list(json.loads(value)) if value else []

    async def _pull_tasks(self, http: httpx.AsyncClient) -> None:
        answer = await http.get("/api/v1/operations/tasks", params={
            "target": self.settings.system_uid, "states": "PENDING,IN_PROGRESS"})
        answer.raise_for_status()
        tasks = sorted(answer.json().get("items", []), key=lambda t: (t.get("rank") or 0, t.get("createdAt") or 0))
        for task in tasks:
            uid = task.get("uid")
            if not isinstance(uid, str) or not await self.inbound.first_time(f"airvantage:{uid}"):
                continue
            state, message = await self._run_task(task)
            report = {"state": state, "executedAt": time.time_ns() // 1_000_000,
                      "messages": [{"date": time.time_ns() // 1_000_000,
                                    "type": "INFO" if state == "SUCCESS" else "ERROR", "message": message}]}
            await self.inbound.answer(f"airvantage:{uid}", report)
            response = await http.post(self.settings.task_report_path.format(taskUid=uid), json=report)
            response.raise_for_status()

    async def _run_task(self, task: dict[str, Any]) -> tuple[str, str]:
        operation = task.get("operation") or {}
        if operation.get("operationType") != "SYSTEM_SEND_COMMAND":
            return "FAILURE", f"operation type {operation.get('operationType')!r} is not run by this gateway"
        command = task.get("input") or {}
        command_id = command.get("commandId")
        try:
            if command_id == "hearth.apply":
                group = ActionGroup.model_validate((command.get("parameters") or {}).get("actionGroup"))
                execution = await self.gateway.executor.submit(group, owner="airvantage", source="cloud")
            elif command_id in self.settings.commands:
                oid = self.settings.commands[command_id]
                execution = await self.gateway.executor.submit(self.gateway.action_groups.get(oid), owner="airvantage",
                                                               source="cloud", action_group_oid=oid)
            else:
                return "FAILURE", f"unknown commandId {command_id!r}"
        except ApiError as exc:
            return "FAILURE", exc.message
        except ValueError as exc:
            return "FAILURE", str(exc)[:500]
        await self.gateway.executor.wait(execution.id)
        if execution.state.name == "COMPLETED":
            return "SUCCESS", f"execution {execution.id} completed"
        return "FAILURE", f"execution {execution.id} {execution.state.name.lower()}"
