"""A fake of seed 000's monitoring cloud: devices with API keys, logs answered with the period to push at.

Paths are our choice (the seed lost them) and match ``[cloud.bagtower]``'s defaults. Errors have the seed's
shape ``{"code", "message"}``.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse


@dataclass
class BagtowerState:
    user_token: str
    period: int = 60
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def build_app(state: BagtowerState) -> FastAPI:
    app = FastAPI()

    def user_ok(authorization: str | None) -> bool:
        return authorization == f"Bearer {state.user_token}"

    @app.post("/devices")
    async def create_device(request: Request, authorization: str | None = Header(None)) -> Any:
        if not user_ok(authorization):
            state.refused += 1
            return _error(401, "unauthorized", "owner or developer users only")
        body = await request.json()
        did = body.get("deviceId")
        if not did or not body.get("deviceName") or not body.get("companyId") or int(body.get("period", 0)) < 60:
            return _error(400, "invalid", "deviceId, deviceName, companyId and a period >= 60 are required")
        if did in state.devices:
            return _error(409, "exists", f"device {did} exists")
        state.devices[did] = body
        state.keys[did] = secrets.token_hex(16)
        return JSONResponse({**body, "keyId": did, "createdTs": 0}, status_code=201)

    @app.get("/devices/{did}/apikey")
    async def api_key(did: str, authorization: str | None = Header(None)) -> Any:
        if not user_ok(authorization):
            return _error(401, "unauthorized", "owner or developer users only")
        if did not in state.keys:
            return _error(404, "not_found", f"no device {did}")
        return {"name": did, "id": did, "value": state.keys[did], "enabled": True}

    @app.post("/logs")
    async def post_log(request: Request, x_api_key: str | None = Header(None)) -> Any:
        body = await request.json()
        did = body.get("deviceId")
        if did not in state.keys or state.keys[did] != x_api_key:
            state.refused += 1
            return _error(403, "forbidden", "a valid API key is required")
        if not isinstance(body.get("unixTimestamp"), int) or not isinstance(body.get("data"), list):
            return _error(400, "invalid", "unixTimestamp and data are required")
        if not all(isinstance(d.get("val"), str) for d in body["data"]):
            return _error(400, "invalid", "val is a string")
        state.logs.append(body)
        return {"period": state.period, "deviceId": did}

    return app


class FakeCloud:
    """A FastAPI app in uvicorn on a free port, on the test's loop."""

    def __init__(self, app: FastAPI) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeCloud:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
