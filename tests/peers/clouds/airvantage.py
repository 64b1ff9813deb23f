"""A fake of AirVantage written from seeds 001 (alert rules, hooks) and 004 (operations, tasks, triggers) alone.

What it serves, as the seeds document it:

- ``GET /api/v2/alertrules``: a bare JSON array of rules, sorted by name (001);
- ``GET /api/v1/alerts/rules/{uid}/hooks``: a bare array of ``{"callback", "uid"}`` (001);
- ``GET /api/v1/operations/triggers``: a bare array of triggers (004);
- ``GET /api/v1/operations/tasks?target=`` (target required): ``{items, count, size, offset}``, sorted by
  ``createdAt`` descending; each task has only ``uid, date, createdAt, executedAt, rank, state, target`` unless
  ``fields=`` names others (004's "If fields parameter is missing, only the following attributes ...");
- ``GET /api/v1/operations/{uid}``: the operation's details, ``input`` included (the Details example);
- ``POST /api/v1/operations/{uid}/cancel``, ``POST .../tasks/{task}/cancel`` (200, empty body) and
  ``POST .../{uid}/retry`` (``{"operation": newUid}``, a new operation of the FAILURE and CANCELLED tasks).

Where the seeds are silent, the choices made:

- **Auth**: "Requires Authentication: Yes" with no scheme: a bearer token.
- **Error body**: the seeds give dotted codes (``operation.unknown``) but no HTTP error body: ``{"error": code}``.
- **Where a command sits**: seed 004 gives a task's ``input`` as a string (a file line) and an operation's
  ``input`` as the object it was created with; a trigger's ``parameters`` for ``SYSTEM_SEND_COMMAND`` are
  ``{commandId, protocol, parameters, application, requestConnection}``. So a command operation here keeps those
  parameters as its ``input``, and its tasks have ``input: null`` (as the seed's complete task example has).
- **Who moves a task's state**: every task field is read-only and no write endpoint exists. The fake leaves the
  states to its operator (the test): ``finish(task_uid, state)`` plays AirVantage's side.
- **Hook subscriber**: ``POST /subscriber/{name}`` is not AirVantage: it is the test's own callback endpoint that
  a hook's ``callback`` URL can point at; the bodies it gets are kept in ``hook_calls``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

# Seed 004, "Find" /api/v1/operations/tasks: the attributes returned without ``fields``.
TASK_DEFAULT_FIELDS = ("uid", "date", "createdAt", "executedAt", "rank", "state", "target")
TASK_FIELDS = (
    "uid",
    "date",
    "createdAt",
    "executedAt",
    "rank",
    "state",
    "target",
    "targetDescription",
    "input",
    "messages",
    "operation",
)
# Seed 004, /api/v1/operations/{uid}/tasks without ``fields``.
OPERATION_TASK_DEFAULT_FIELDS = ("uid", "date", "rank", "state", "target")
TERMINAL = ("SUCCESS", "FAILURE", "CANCELLED")
COUNTED = ("PENDING", "IN_PROGRESS", "CANCELLED", "FAILURE", "SUCCESS")


def _uid() -> str:
    return secrets.token_hex(16)  # the seed's 32-hex uids


def _ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class AirVantageState:
    token: str
    system_uid: str
    company: str = "74e52f0379ec3b4e75f91b4750824c22"
    rules: list[dict[str, Any]] = field(default_factory=list)
    hooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # rule id -> [{"callback", "uid"}]
    triggers: list[dict[str, Any]] = field(default_factory=list)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task uid -> task (all fields)
    hook_calls: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (method, path, query)
    answers: list[dict[str, Any]] = field(default_factory=list)  # (path, body) of every JSON answer
    fail_next: list[int | str] = field(default_factory=list)  # next answers: a status, or "garbage" / "half"
    refused: int = 0

    # ------------------------------------------------------------------ the operator's side (the test)

    def send_command(
        self,
        command_id: str,
        parameters: dict[str, Any] | None = None,
        *,
        rank: int = 0,
        operation_type: str = "SYSTEM_SEND_COMMAND",
        extra: dict[str, Any] | None = None,
    ) -> str:
        """An operation on this system with one PENDING task; the task's uid."""
        op_input: dict[str, Any] = {
            "commandId": command_id,
            "protocol": "REST",
            "parameters": parameters or {},
            "application": {"uid": "333ea6a2d6e44a00aee2804ed519128a"},
            "requestConnection": False,
        }
        if operation_type != "SYSTEM_SEND_COMMAND":
            op_input = extra or {}
        return self._operation(
            operation_type, op_input, [rank], {"type": "USER", "uid": _uid(), "name": "user@airvantage.net"}
        )[0]

    def _operation(
        self, operation_type: str, op_input: dict[str, Any], ranks: list[int], trigger: dict[str, Any]
    ) -> list[str]:
        now = _ms()
        op_uid = _uid()
        self.operations[op_uid] = {
            "uid": op_uid,
            "state": "SCHEDULED",
            "entity": "SYSTEM",
            "operationType": operation_type,
            "createdAt": now,
            "startDate": now,
            "cancelDate": None,
            "timeoutDate": now + 90 * 86_400_000,
            "endDate": None,
            "total": len(ranks),
            "target": self.system_uid,
            "trigger": trigger,
            "company": self.company,
            "input": op_input,
            "details": None,
            "messages": [],
        }
        uids = []
        for rank in ranks:
            uid = _uid()
            self.tasks[uid] = {
                "uid": uid,
                "state": "PENDING",
                "createdAt": now,
                "executedAt": None,
                "date": now,
                "target": None,
                "targetDescription": {"uid": self.system_uid, "name": "Hearth"},
                "rank": rank,
                "input": None,
                "messages": [],
                "operation": {"operationType": operation_type, "uid": op_uid},
            }
            uids.append(uid)
        return uids

    def finish(self, task_uid: str, state: str) -> None:
        task = self.tasks[task_uid]
        task["state"], task["date"] = state, _ms()
        if state != "CANCELLED":
            task["executedAt"], task["target"] = _ms(), self.system_uid
        self._settle(task["operation"]["uid"])

    def _settle(self, op_uid: str) -> None:
        op = self.operations[op_uid]
        states = [t["state"] for t in self.tasks.values() if t["operation"]["uid"] == op_uid]
        if all(s in TERMINAL for s in states):
            op["state"], op["endDate"] = "FINISHED", op["endDate"] or _ms()
        elif any(s != "PENDING" for s in states):
            op["state"] = "IN_PROGRESS"

    def counters(self, op_uid: str) -> list[dict[str, Any]]:
        states = [t["state"] for t in self.tasks.values() if t["operation"]["uid"] == op_uid]
        return [{"state": s, "count": states.count(s)} for s in COUNTED]

    def task_of(self, task_uid: str) -> dict[str, Any]:
        return self.tasks[task_uid]


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status)


def _project(
    item: dict[str, Any], fields: str | None, default: tuple[str, ...], allowed: tuple[str, ...]
) -> dict[str, Any]:
    names = [f for f in fields.split(",") if f in allowed] if fields else list(default)
    return {name: item.get(name) for name in names}


def build_app(state: AirVantageState) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Any:
        state.requests.append((request.method, request.url.path, dict(request.query_params)))
        if request.url.path.startswith("/subscriber/"):
            return await call_next(request)
        if request.headers.get("authorization") != f"Bearer {state.token}":
            state.refused += 1
            return _error(401, "unauthorized")
        if state.fail_next:
            what = state.fail_next.pop(0)
            if what == "garbage":
                return Response("<html>502 Bad Gateway</html>", status_code=200, media_type="application/json")
            if what == "half":
                return Response('{"items": [{"uid": "', status_code=200, media_type="application/json")
            if what == "shape":
                return JSONResponse({"unexpected": True})
            return _error(int(what), "service.unavailable")
        return await call_next(request)

    def answer(path: str, body: Any) -> Any:
        state.answers.append({"path": path, "body": body})
        return body

    @app.get("/api/v2/alertrules")
    async def rules() -> Any:
        return answer("/api/v2/alertrules", sorted(state.rules, key=lambda r: r.get("name", "")))

    @app.get("/api/v1/alerts/rules/{uid}/hooks")
    async def hooks(uid: str) -> Any:
        if not any(r.get("id") == uid for r in state.rules):
            return _error(404, "alert.rule.unknown")
        return answer("/api/v1/alerts/rules/{uid}/hooks", state.hooks.get(uid, []))

    @app.get("/api/v1/operations/triggers")
    async def triggers() -> Any:
        return answer("/api/v1/operations/triggers", state.triggers)

    @app.get("/api/v1/operations/tasks")
    async def tasks(
        target: str | None = None,
        states: str | None = None,
        fields: str | None = None,
        offset: int = 0,
        size: int = 100,
    ) -> Any:
        if not target:
            return _error(400, "operation.task.missing.target")
        wanted = set(states.split(",")) if states else None
        found = [
            t
            for t in state.tasks.values()
            if t["targetDescription"]["uid"] == target and (wanted is None or t["state"] in wanted)
        ]
        found.sort(key=lambda t: t["createdAt"], reverse=True)
        page = found[offset : offset + size]
        items = [_project(t, fields, TASK_DEFAULT_FIELDS, TASK_FIELDS) for t in page]
        return answer(
            "/api/v1/operations/tasks", {"items": items, "count": len(found), "size": len(items), "offset": offset}
        )

    @app.get("/api/v1/operations/{uid}")
    async def operation(uid: str) -> Any:
        op = state.operations.get(uid)
        if op is None:
            return _error(404, "operation.unknown")
        return answer("/api/v1/operations/{uid}", {**op, "counters": state.counters(uid)})

    @app.get("/api/v1/operations/{uid}/tasks")
    async def operation_tasks(uid: str, fields: str | None = None) -> Any:
        if uid not in state.operations:
            return _error(404, "operation.unknown")
        found = sorted((t for t in state.tasks.values() if t["operation"]["uid"] == uid), key=lambda t: t["rank"])
        items = [_project(t, fields, OPERATION_TASK_DEFAULT_FIELDS, TASK_FIELDS[:-1]) for t in found]
        return answer(
            "/api/v1/operations/{uid}/tasks", {"items": items, "count": len(items), "size": len(items), "offset": 0}
        )

    @app.post("/api/v1/operations/{uid}/cancel")
    async def cancel(uid: str) -> Any:
        op = state.operations.get(uid)
        if op is None:
            return _error(404, "operation.unknown")
        if op["state"] == "FINISHED":
            return _error(400, "operation.invalid.state")
        if op["cancelDate"] is not None:
            return _error(400, "operation.already.cancelled")
        op["cancelDate"] = _ms()
        for task in state.tasks.values():
            if task["operation"]["uid"] == uid and task["state"] not in TERMINAL:
                task["state"], task["date"] = "CANCELLED", _ms()
        state._settle(uid)
        body = {
            k: op[k]
            for k in (
                "uid",
                "state",
                "entity",
                "startDate",
                "endDate",
                "total",
                "target",
                "trigger",
                "company",
                "operationType",
                "createdAt",
                "cancelDate",
                "timeoutDate",
            )
        }
        return answer("/api/v1/operations/{uid}/cancel", {**body, "counters": state.counters(uid)})

    @app.post("/api/v1/operations/{op_uid}/tasks/{task_uid}/cancel")
    async def cancel_task(op_uid: str, task_uid: str) -> Any:
        op = state.operations.get(op_uid)
        task = state.tasks.get(task_uid)
        if op is None:
            return _error(404, "operation.unknown")
        if task is None or task["operation"]["uid"] != op_uid:
            return _error(404, "operation.task.unknown")
        if op["state"] == "FINISHED":
            return _error(400, "operation.invalid.state")
        if task["state"] in TERMINAL:
            return _error(400, "operation.task.invalid.state")
        task["state"], task["date"] = "CANCELLED", _ms()
        state._settle(op_uid)
        return Response(status_code=200)  # "HTTP/1.1 200 OK Content-Length: 0"

    @app.post("/api/v1/operations/{uid}/retry")
    async def retry(uid: str) -> Any:
        op = state.operations.get(uid)
        if op is None:
            return _error(404, "operation.unknown")
        if op["state"] != "FINISHED":
            return _error(400, "operation.invalid.state")
        again = [
            t for t in state.tasks.values() if t["operation"]["uid"] == uid and t["state"] in ("FAILURE", "CANCELLED")
        ]
        if not again:
            return _error(400, "operation.no.task.to.retry")
        new = state._operation(op["operationType"], op["input"], [t["rank"] for t in again], op["trigger"])
        return answer("/api/v1/operations/{uid}/retry", {"operation": state.tasks[new[0]]["operation"]["uid"]})

    @app.post("/subscriber/{name}")
    async def subscriber(name: str, request: Request) -> Any:
        state.hook_calls.append({"name": name, "body": await request.json()})
        return Response(status_code=200)

    return app
