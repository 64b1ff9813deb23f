"""A fake of seed 000's monitoring cloud, from the seed's text: devices with API keys, logs answered with the period
to push at, devices updated and deleted.

Shapes from the seed: a device is answered with the seed's Device fields (``keyId``, ``createdTs``,
``modifiedTs`` ... set by the server); the API key ``{"name", "id", "value", "enabled"}``; a log's answer
``{"period", "deviceId"}``; "Delete a device given the deviceId" answers ``{ }``; errors ``{"code", "message"}``.

Where the seed is silent (its HTTP paths and methods were lost in rendering): the paths are our choice and match
``[cloud.bagtower]``'s defaults: ``POST /devices``, ``GET /devices/{id}/apikey``, ``PUT|DELETE /devices/{id}``
(``companyId`` in the query, "required" in the seed), ``POST /logs`` with the key in ``x-api-key``.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class BagtowerState:
    user_token: str
    period: int = 60
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)  # {"path", "body"} of every JSON answer
    fail_next: list[int | str] = field(default_factory=list)  # next log answers: a status, "garbage" or "half"
    refused: int = 0


# The seed's Device fields (its "Get device" example): what the server answers a device with.
DEVICE_FIELDS = (
    "alertStatus",
    "timezone",
    "companyName",
    "keyId",
    "deviceId",
    "deviceName",
    "enabled",
    "group",
    "period",
    "types",
    "lastAlertMessage",
    "failedMonitors",
    "frames",
    "assetTemplateId",
    "lastStateChangeTs",
    "pool",
    "alertData",
    "createdTs",
    "tags",
    "companyId",
    "modifiedTs",
    "alertSettings",
    "lastAlertId",
    "kpis",
    "status",
)


def _device(body: dict[str, Any], created: int) -> dict[str, Any]:
    now = int(time.time())
    out = {name: body[name] for name in DEVICE_FIELDS if name in body}
    out.update({"keyId": body["deviceId"], "createdTs": created, "modifiedTs": now})
    return out


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def build_app(state: BagtowerState) -> FastAPI:
    app = FastAPI()

    def user_ok(authorization: str | None) -> bool:
        return authorization == f"Bearer {state.user_token}"

    def answer(path: str, body: Any, status: int = 200) -> JSONResponse:
        state.answers.append({"path": path, "body": body})
        return JSONResponse(body, status_code=status)

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
        state.devices[did] = _device(body, int(time.time()))
        state.keys[did] = secrets.token_hex(16)
        return answer("/devices", state.devices[did], 201)

    @app.put("/devices/{did}")
    async def update_device(
        did: str,
        request: Request,
        companyId: str | None = None,  # noqa: N803 (the seed's)
        authorization: str | None = Header(None),
    ) -> Any:
        if not user_ok(authorization):
            state.refused += 1
            return _error(401, "unauthorized", "owner or developer users only")
        if did not in state.devices:
            return _error(404, "not_found", f"no device {did}")
        body = await request.json()
        if not companyId or not body.get("deviceName") or int(body.get("period", 0)) < 60:
            return _error(400, "invalid", "companyId, deviceName and a period >= 60 are required")
        state.updates.append(body)
        state.devices[did] = _device({**body, "deviceId": did}, state.devices[did]["createdTs"])
        return answer("/devices/{id}", state.devices[did])

    @app.delete("/devices/{did}")
    async def delete_device(
        did: str,
        companyId: str | None = None,  # noqa: N803 (the seed's name)
        authorization: str | None = Header(None),
    ) -> Any:
        if not user_ok(authorization):
            state.refused += 1
            return _error(401, "unauthorized", "owner or developer users only")
        if not companyId:
            return _error(400, "invalid", "companyId is required")
        if did not in state.devices:
            return _error(404, "not_found", f"no device {did}")
        del state.devices[did]
        del state.keys[did]
        state.deleted.append(did)
        return answer("/devices/{id}", {})

    @app.get("/devices/{did}/apikey")
    async def api_key(did: str, authorization: str | None = Header(None)) -> Any:
        if not user_ok(authorization):
            return _error(401, "unauthorized", "owner or developer users only")
        if did not in state.keys:
            return _error(404, "not_found", f"no device {did}")
        return answer("/devices/{id}/apikey", {"name": did, "id": did, "value": state.keys[did], "enabled": True})

    @app.post("/logs")
    async def post_log(request: Request, x_api_key: str | None = Header(None)) -> Any:
        if state.fail_next:  # a hostile cloud, for the tests: not the seed's
            what = state.fail_next.pop(0)
            if what == "garbage":
                return Response("<html>502</html>", media_type="application/json")
            if what == "half":
                return Response('{"period": ', media_type="application/json")
            return _error(int(what), "unavailable", "try again later")
        body = await request.json()
        did = body.get("deviceId")
        if did not in state.keys or state.keys[did] != x_api_key:
            state.refused += 1
            return _error(403, "forbidden", "a valid API key is required")
        if not isinstance(body.get("unixTimestamp"), int) or not isinstance(body.get("data"), list):
            return _error(400, "invalid", "unixTimestamp and data are required")
        if not all(isinstance(d.get("val"), str) for d in body["data"]):
            return _error(400, "invalid", "val is a string")
        if not all(isinstance(d.get("display", ""), str) for d in body["data"]):
            return _error(400, "invalid", "display is a string")
        state.logs.append(body)
        return answer("/logs", {"period": state.period, "deviceId": did})

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
