"""A fake of seed 002's cloud (BBOXX SMARTSolar), from the seed's text: login with a sliding token, the unit's
time-series writes, report-then-pull (``rc_data``), the product actions an operator calls (enable/disable,
update_software, lock_software, send_wakeup/sync/force_connection, add_payment_command), and signed webhooks.

Shapes from the seed: the login answer ``{"status", "message": {"login_successful": {username, entity_id,
display_name, name, user_product_visibility, hub_id, shop_id, API_token, token_expiry, permissions}}}`` (no
``data``); the envelope ``{"status", "message", "data"}`` of the actions; the data write's ``"N data-point(s)
successfully written to influx"``; ``lock_software``'s ``{software_lock_id, software_lock_name}``;
``send_wakeup``'s sms_history record; webhooks ``{"channel", "timestamp", "data"}`` signed by
``X-BBOXX-Signature``, ``product-status`` data ``{state, enabled_status, user}`` and ``product-alert`` data
``{alert_id, product_imei, alert_type_id, start_time, dismissed_at, ...}``.

Where the seed is silent, the choices made:

- **The rc_data path and bodies**: the seed says a unit POSTs its status (software, location, enable_status,
  tamper_status ...) then GETs its instructions ("update the software, change the power settings (capacity
  limit) or enabled_status"), but shows neither body. Here: ``/v1/products/<imei>/rc_data``; the GET answers the
  envelope with ``data: {enable_status, capacity_limit (a string, as the product rows show it), software,
  software_lock, payment_commands: [{transaction_id, category, value}]}`` (the DCM commands "SMARTSolar forwards"
  to the unit). The POST takes ``{software, enable_status, tamper_status, capacity_limit, state, balance:
  {balance, expected_expiry}, payment_acks: [transaction_id], final_balance}``.
- **How a nudge reaches the unit**: the seed's nudges are an SMS (send_wakeup) or an RTC message (sync,
  force_connection). A gateway has neither: the fake posts ``{"channel": "wakeup", "timestamp", "data":
  {"trigger": "wakeup" | "sync" | "force_connection"}}``, signed like every webhook, to ``nudge_url``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

ENABLE_STATUSES = ("enabled", "pending_enabled", "pending_disabled", "disabled")


@dataclass
class SmartSolarState:
    username: str
    password: str
    imei: str
    token_lifetime_s: float = 3 * 3600
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch s)
    logins: int = 0
    writes: list[dict[str, Any]] = field(default_factory=list)
    write_times: list[float] = field(default_factory=list)  # monotonic time of every data write attempt
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next data writes with
    slow_next: list[float] = field(default_factory=list)  # seconds to sit on the next data writes
    desired_enable_status: str = "enabled"  # what the product actions (enable/disable) last asked
    capacity_limit: str | None = None
    software: str | None = None  # update_software's target
    software_lock: str | None = None
    payment_commands: list[dict[str, Any]] = field(default_factory=list)
    reported: list[dict[str, Any]] = field(default_factory=list)  # the unit's rc_data reports
    answers: list[dict[str, Any]] = field(default_factory=list)  # {"path", "body"} of every JSON answer
    nudge_url: str = ""  # where the unit hears a wake-up (see the module's doc)
    webhook_key: bytes = b""
    signed_url: str = ""  # the URL the unit subscribed with (part of what is signed)
    refused: int = 0


def sign(key: bytes, body: bytes, url: str) -> str:
    """The seed's X-BBOXX-Signature: base64(HMAC-SHA1(key, payload + exact subscribed URL))."""
    return base64.b64encode(hmac.new(key, body + url.encode(), hashlib.sha1).digest()).decode()


def naive_utc_now() -> str:
    """The seed's timestamps: ISO 8601, UTC, no designator."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()


def build_app(state: SmartSolarState) -> FastAPI:
    app = FastAPI()

    def answer(path: str, body: Any, status: int = 200) -> JSONResponse:
        state.answers.append({"path": path, "body": body})
        return JSONResponse(body, status_code=status)

    def envelope(path: str, message: str, data: Any = None, status: int = 200) -> JSONResponse:
        return answer(path, {"status": "success", "message": message, "data": data}, status)

    def refused() -> JSONResponse:
        state.refused += 1
        return JSONResponse({"status": "error", "message": "token invalid", "data": None}, status_code=401)

    def authorized(authorization: str | None) -> bool:
        token = (authorization or "").removeprefix("Token token=")
        if state.tokens.get(token, 0) < time.time():
            return False
        state.tokens[token] = time.time() + state.token_lifetime_s  # sliding expiry
        return True

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
        return answer(
            "/v1/auth/login",
            {
                "status": "success",
                "message": {
                    "login_successful": {
                        "username": username,
                        "entity_id": 1,
                        "display_name": "T User",
                        "name": "",
                        "user_product_visibility": "GLOBAL",
                        "hub_id": None,
                        "shop_id": None,
                        "API_token": token,
                        "token_expiry": email.utils.formatdate(expiry, usegmt=True),
                        "permissions": "TECHNICAL",
                    }
                },
            },
        )

    @app.post("/v1/products/{imei}/data")
    async def write(imei: str, request: Request, authorization: str | None = Header(None)) -> Any:
        if not authorized(authorization):
            return refused()
        state.write_times.append(time.monotonic())
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
        return envelope("/v1/products/{imei}/data", f"{points} data-point(s) successfully written to influx")

    # ------------------------------------------------------------------ the operator's product actions

    @app.put("/v1/products/{imei}/{action}")
    async def product_action(imei: str, action: str, request: Request) -> Any:
        """Called by the test as the cloud's operator would; pending until the unit pulls."""
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        if action in ("enable", "disable"):
            state.desired_enable_status = f"{action}d"
            return envelope("/v1/products/{imei}/enable", f"product {imei} pending_{action}d")
        if action == "update_software":
            if state.software_lock is not None:
                return JSONResponse(
                    {
                        "status": "validation-error",
                        "validation_errors": {"software": "the software is locked"},
                        "message": "Your request contained invalid data",
                        "data": body,
                    },
                    status_code=400,
                )
            state.software = str(body["software"])
            return envelope(
                "/v1/products/{imei}/update_software", f"#{imei} updated to software_version {state.software}"
            )
        if action == "lock_software":
            software = body.get("software")
            state.software_lock = None if software is None else str(software)
            return envelope(
                "/v1/products/{imei}/lock_software",
                f"#{imei} software lock set",
                {"software_lock_id": None if software is None else 1, "software_lock_name": state.software_lock},
            )
        return JSONResponse({"status": "error", "message": "unknown action", "data": None}, status_code=404)

    @app.post("/v1/products/{imei}/add_payment_command")
    async def add_payment(imei: str, request: Request) -> Any:
        body = await request.json()
        category, value, transaction = body.get("category"), int(body.get("value", 0)), body.get("transaction_id")
        valid = {"payment": value > 0, "bad-payment": value < 0, "zero-command": value == 0}
        if not valid.get(category) or any(p["transaction_id"] == transaction for p in state.payment_commands):
            return JSONResponse(
                {
                    "status": "validation-error",
                    "validation_errors": {"value": "invalid"},
                    "message": "Your request contained invalid data",
                    "data": body,
                },
                status_code=400,
            )
        command = {"transaction_id": transaction, "category": category, "value": value}
        state.payment_commands.append(command)
        return envelope("/v1/products/{imei}/add_payment_command", "payment command added", command, 201)

    @app.post("/v1/products/{imei}/send_wakeup")
    @app.post("/v1/products/{imei}/sync")
    @app.post("/v1/products/{imei}/force_connection")
    async def nudge(imei: str, request: Request) -> Any:
        nudge = request.url.path.rsplit("/", 1)[-1]
        trigger = "wakeup" if nudge == "send_wakeup" else nudge
        message = json.dumps({"channel": "wakeup", "timestamp": naive_utc_now(), "data": {"trigger": trigger}}).encode()
        async with httpx.AsyncClient(verify=False, timeout=10) as unit:
            await unit.post(
                state.nudge_url,
                content=message,
                headers={
                    "Content-Type": "application/json",
                    "X-BBOXX-Signature": sign(state.webhook_key, message, state.signed_url),
                },
            )
        if nudge == "send_wakeup":
            return envelope(
                "/v1/products/{imei}/send_wakeup",
                "sms successfully sent",
                {
                    "sms_history_id": 37571,
                    "product_imei": imei,
                    "attempted_retries": 0,
                    "enable_history_id": None,
                    "sent_time": naive_utc_now(),
                    "sms_timeout": 3600.0,
                    "status": None,
                    "trigger": "wakeup",
                    "message": None,
                    "message_reference": "/41a8b4b06a019949/12882393256110756",
                    "created_at": naive_utc_now(),
                    "modified_at": None,
                    "created_by": "u.celery@bboxx.co.uk",
                },
            )
        return envelope("/v1/products/{imei}/force_connection", "Force connection request sent", {})

    # ------------------------------------------------------------------ the unit's report, then pull

    @app.post("/v1/products/{imei}/rc_data")
    async def rc_report(imei: str, request: Request, authorization: str | None = Header(None)) -> Any:
        if not authorized(authorization):
            return refused()
        report = await request.json()
        state.reported.append(report)
        acked = set(report.get("payment_acks") or [])
        state.payment_commands = [p for p in state.payment_commands if p["transaction_id"] not in acked]
        return envelope("/v1/products/{imei}/rc_data", "status received")

    @app.get("/v1/products/{imei}/rc_data")
    async def rc_pull(imei: str, authorization: str | None = Header(None)) -> Any:
        if not authorized(authorization):
            return refused()
        return envelope(
            "/v1/products/{imei}/rc_data",
            "instructions",
            {
                "enable_status": state.desired_enable_status,
                "capacity_limit": state.capacity_limit,
                "software": state.software,
                "software_lock": state.software_lock,
                "payment_commands": list(state.payment_commands),
            },
        )

    return app


async def send_webhook(
    state: SmartSolarState, url: str, channel: str, data: dict[str, Any], timestamp: str | None = None
) -> httpx.Response:
    """What the cloud posts to a subscribed URL: ``{"channel", "timestamp", "data"}``, signed."""
    message = json.dumps({"channel": channel, "timestamp": timestamp or naive_utc_now(), "data": data}).encode()
    async with httpx.AsyncClient(verify=False, timeout=10) as http:
        return await http.post(
            url,
            content=message,
            headers={
                "Content-Type": "application/json",
                "X-BBOXX-Signature": sign(state.webhook_key, message, state.signed_url),
            },
        )
