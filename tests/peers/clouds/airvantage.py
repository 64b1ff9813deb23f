"""A fake of AirVantage (seeds 001/004) for one system: alert rules to download, tasks aimed at the system,
the alerts it receives, and the task outcomes reported back (at the path ``[cloud.airvantage]`` names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse


@dataclass
class AirVantageState:
    token: str
    system_uid: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: int = 0

    def add_command(self, uid: str, command_id: str, parameters: dict[str, Any] | None = None, rank: int = 0) -> None:
        self.tasks.append({"uid": uid, "state": "PENDING", "rank": rank, "createdAt": 0, "target": None,
                           "targetDescription": {"uid": self.system_uid},
                           "operation": {"operationType": "SYSTEM_SEND_COMMAND", "uid": f"op-{uid}"},
                           "input": {"commandId": command_id, "parameters": parameters or {}}, "messages": []})


def build_app(state: AirVantageState) -> FastAPI:
    app = FastAPI()

    def ok(authorization: str | None) -> bool:
        if authorization == f"Bearer {state.token}":
            return True
        state.refused += 1
        return False

    def denied() -> JSONResponse:
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    @app.get("/api/v2/alertrules")
    async def rules(authorization: str | None = Header(None)) -> Any:
        if not ok(authorization):
            return denied()
        return {"items": state.rules, "count": len(state.rules)}

    @app.get("/api/v1/operations/tasks")
    async def tasks(target: str, states: str = "", authorization: str | None = Header(None)) -> Any:
        if not ok(authorization):
            return denied()
        wanted = set(states.split(",")) if states else None
        items = [t for t in state.tasks if target == state.system_uid and (wanted is None or t["state"] in wanted)]
        return {"items": items, "count": len(items), "size": len(items), "offset": 0}

    @app.post("/api/v1/operations/tasks/{uid}/report")
    async def report(uid: str, request: Request, authorization: str | None = Header(None)) -> Any:
        if not ok(authorization):
            return denied()
        body = await request.json()
        state.reports[uid] = body
        for task in state.tasks:
            if task["uid"] == uid:
                task["state"] = body["state"]
        return JSONResponse(None, status_code=200)

    @app.post("/api/v2/alerts")
    async def alert(request: Request, authorization: str | None = Header(None)) -> Any:
        if not ok(authorization):
            return denied()
        state.alerts.append(await request.json())
        return {"uid": state.alerts[-1].get("uid")}

    return app
