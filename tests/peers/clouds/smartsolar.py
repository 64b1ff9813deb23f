"""A fake of seed 002's cloud (BBOXX SMARTSolar): login with a sliding token, the unit's time-series writes, and
signed webhooks sent to a subscribed URL (``sign``)."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse


@dataclass
class SmartSolarState:
    username: str
    password: str
    imei: str
    token_lifetime_s: float = 3 * 3600
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch s)
    logins: int = 0
    writes: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next data writes with
    slow_next: list[float] = field(default_factory=list)  # seconds to sit on the next data writes
    desired_enable_status: str = "enabled"  # what the product actions (enable/disable) last asked
    reported: list[dict[str, Any]] = field(default_factory=list)  # the unit's rc_data reports
    refused: int = 0


def sign(key: bytes, body: bytes, url: str) -> str:
    """The seed's X-BBOXX-Signature: base64(HMAC-SHA1(key, payload + exact subscribed URL))."""
    return base64.b64encode(hmac.new(key, body + url.encode(), hashlib.sha1).digest()).decode()


def build_app(state: SmartSolarState) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/auth/login")
    async def login(request: Request) -> Any:
        form = parse_qs((await request.body()).decode())  # form fields, as the seed says
        username, password = form.get("username", [""])[0], form.get("password", [""])[0]
        if (username, password) != (state.username, state.password):
            return JSONResponse({"status": "error", "message": "bad credentials", "data": None}, status_code=401)
        token = secrets.token_hex(32)
        expiry = time.time() + state.token_lifetime_s
        state.tokens[token] = expiry
        state.logins += 1
        return {"status": "success", "data": None, "message": {"login_successful": {
            "API_token": token, "token_expiry": email.utils.formatdate(expiry, usegmt=True),
            "permissions": "TECHNICAL", "entity_id": 1}}}

    @app.post("/v1/products/{imei}/data")
    async def write(imei: str, request: Request, authorization: str | None = Header(None)) -> Any:
        token = (authorization or "").removeprefix("Token token=")
        if state.tokens.get(token, 0) < time.time():
            state.refused += 1
            return JSONResponse({"status": "error", "message": "token invalid", "data": None}, status_code=401)
        state.tokens[token] = time.time() + state.token_lifetime_s  # sliding expiry
        if state.slow_next:
            await asyncio.sleep(state.slow_next.pop(0))
        if state.fail_next:
            code = state.fail_next.pop(0)
            return JSONResponse({"status": "error", "message": "try again later", "data": None}, status_code=code)
        if imei != state.imei:
            return JSONResponse({"status": "error", "message": "no such product", "data": None}, status_code=404)
        body = await request.json()
        points = sum(len(v) for v in body.get("fields", {}).values())
        state.writes.append(body)
        return {"status": "success", "message": f"{points} data-point(s) successfully written to influx",
                "data": None}

    def authorized(authorization: str | None) -> bool:
        token = (authorization or "").removeprefix("Token token=")
        if state.tokens.get(token, 0) < time.time():
            state.refused += 1
            return False
        state.tokens[token] = time.time() + state.token_lifetime_s
        return True

    @app.put("/v1/products/{imei}/{action}")
    async def product_action(imei: str, action: str, authorization: str | None = Header(None)) -> Any:
        """enable / disable (here called by the test as the cloud's operator would): pending until the unit pulls."""
        if action not in ("enable", "disable"):
            return JSONResponse({"status": "error", "message": "unknown action", "data": None}, status_code=404)
        state.desired_enable_status = f"{action}d"
        return {"status": "success", "message": f"product {imei} pending_{action}d", "data": None}

    @app.post("/v1/products/{imei}/rc_data")
    async def rc_report(imei: str, request: Request, authorization: str | None = Header(None)) -> Any:
        if not authorized(authorization):
            return JSONResponse({"status": "error", "message": "token invalid", "data": None}, status_code=401)
        state.reported.append(await request.json())
        return {"status": "success", "message": "status received", "data": None}

    @app.get("/v1/products/{imei}/rc_data")
    async def rc_pull(imei: str, authorization: str | None = Header(None)) -> Any:
        if not authorized(authorization):
            return JSONResponse({"status": "error", "message": "token invalid", "data": None}, status_code=401)
        return {"status": "success", "message": "instructions",
                "data": {"enable_status": state.desired_enable_status, "capacity_limit": None}}

    return app
