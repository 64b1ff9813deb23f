"""Seed 002's cloud (BBOXX SMARTSolar): the gateway as one unit (``product_imei``).

- **Auth**: ``POST /v1/auth/login`` (form ``username``/``password``) gives a token that expires after 3 h without
  use; we keep it with its expiry, log in again 10 minutes before, and once more on a 401.
- **Telemetry**, store-and-forward like the seed's ``rm_data``: numeric states are kept in our own outbox and sent
  every ``upload_interval_s`` in the seed's time-series form, ``POST /v1/products/<imei>/data``
  ``{"measurement", "tags", "fields": {"<field>": [[epoch ms, value], ...]}}``; rows leave only after a 2xx. After
  a failed cycle the next comes after a jittered back-off (``retry_min_s`` doubling up to the interval), not
  after the full interval (``hearth.cloud.answers.SyncLoop``).
- **Report then pull** (the seed's ``rc_data``), at every upload. The seed names what goes each way but shows
  neither body (our choice, also in tests/peers/clouds/smartsolar.py): up ``{software, enable_status,
  tamper_status, capacity_limit, state, balance, payment_acks, final_balance}``; down ``{enable_status,
  capacity_limit, software, software_lock, payment_commands}``. What is done with it:

  - ``enable_status``: ``enabled``/``disabled`` runs the action group ``actions`` names for it, once per change
    (``pending_*`` are the cloud's in-between states: nothing runs);
  - ``capacity_limit`` (the seed's product rows show it as a string, e.g. ``"7"``): a number >= 0 is kept and
    reported back as applied; it runs the ``capacity_limit`` action group if ``actions`` names one;
  - ``software`` / ``software_lock``: a lock set to another version blocks the update (the seed: "If the
    software is locked then it cannot be updated"); otherwise a gateway does not flash itself from a cloud: the
    requested version is reported back as ``software_update: {requested, status: "not supported"}``;
  - ``payment_commands``: seed 002's DCM, kept by ``hearth.cloud.credit`` (deduplicated by ``transaction_id``);
    when the credit runs out the ``disabled`` group runs, even offline.
- **tamper_status**: from a real state, ``tamper_state = "<deviceURL>#<stateName>"``: ``"tampered"`` when that state
  is ``open``/``detected``/``tampered``/true, else ``"ok"``; without the setting no tamper status is reported.
- **Webhooks**: verified by ``X-BBOXX-Signature`` = base64(HMAC-SHA1(key, body + the exact subscribed URL)); a
  message older than the last one taken on its channel is dropped (the seed warns they may come out of order),
  and one delivered twice runs once. Channels: ``product-status`` (``state`` 1-9 kept and reported,
  ``enabled_status`` as above), ``product-alert`` (kept by ``alert_id``, published as a
  ``SmartSolarAlertEvent``), and ``wakeup`` (not a seed channel: a gateway gets no SMS, so the seed's nudges
  send_wakeup / sync / force_connection reach it this way, signed the same) which syncs at once.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from hearth.cloud.answers import CloudFailure, SyncLoop, check_status, expect_dict, json_of
from hearth.cloud.credentials import read_secret
from hearth.cloud.credit import SETTINGS_KEY, Credit
from hearth.cloud.https_connector import OutboxConnector
from hearth.config import SmartSolarSettings
from hearth.core.backoff import Backoff
from hearth.extensions import GatewayParts
from hearth.model.events import Event
from hearth.store.repositories import SettingsRepository

log = logging.getLogger(__name__)
REFRESH_BEFORE_S = 600
_FIELD = re.compile(r"[^A-Za-z0-9_]")
ENABLE_STATUSES = ("enabled", "pending_enabled", "pending_disabled", "disabled")
TAMPERED = ("open", "opened", "detected", "tampered", True)
NUDGES = ("wakeup", "sync", "force_connection")


@dataclass(slots=True, kw_only=True)
class SmartSolarAlertEvent(Event):
    """A product-alert webhook of seed 002 (its ``data``, as sent)."""

    alert_id: int
    alert_type_id: int | None
    start_time: str | None
    dismissed_at: str | None
    extra_info: str | None


class SmartSolarConnector(OutboxConnector):
    name = "smartsolar"
    outbox_table = "outbox_smartsolar"
    streams = frozenset({"states"})

    def __init__(self, settings: SmartSolarSettings) -> None:
        super().__init__(settings)
        self.settings: SmartSolarSettings = settings
        self.uploaded = 0
        self.logins = 0
        self._token: str | None = None
        self._token_expiry = 0.0
        self._last_webhook_ts: dict[str, str] = {}  # channel -> timestamp of the last message taken
        self._enable_status: str | None = None  # the last enable status the cloud asked for
        self.product_state: int | None = None  # the seed's state type (1-9), from product-status
        self.capacity_limit: float | None = None
        self.software_update: dict[str, Any] | None = None
        self.alerts: dict[int, dict[str, Any]] = {}  # product-alert, by alert_id
        self.credit = Credit()
        self.loop = SyncLoop(
            "smartsolar",
            self._cycle,
            settings.upload_interval_s,
            Backoff(settings.retry_min_s, max(settings.retry_min_s, settings.upload_interval_s)),
        )

    @property
    def failures(self) -> dict[str, int]:
        return self.loop.failures

    def _prepare(self, parts: GatewayParts) -> None:
        self.settings_repo = SettingsRepository(parts.db)

    def _secret(self, name: str) -> bytes:
        return read_secret(self.folder, name)

    # ------------------------------------------------------------------ telemetry

    async def _run(self) -> None:
        s = self.settings
        self.credit = Credit.loads(await self.settings_repo.get(SETTINGS_KEY))
        async with httpx.AsyncClient(base_url=s.base_url, timeout=s.timeout_s) as self.http:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._watch_credit())
                group.create_task(self.loop.run(first_wait=True))

    async def _cycle(self) -> None:
        await self.upload(self.http)
        await self.report_then_pull(self.http)

    async def _watch_credit(self) -> None:
        """The seed: the unit switches itself off when its credit runs out, online or not."""
        while True:
            balance = self.credit.balance()
            if balance is not None and balance > 0:
                await asyncio.sleep(min(balance, 60) + 0.05)
                continue
            if balance == 0 and self._enable_status != "disabled":
                log.warning("smartsolar: the credit ran out: the unit disables itself")
                self._enable_status = "disabled"
                try:
                    await self._run_action("disabled")
                except Exception:
                    log.exception("smartsolar: the disabled action group did not start")
            await asyncio.sleep(1.0)

    async def _login(self, http: httpx.AsyncClient) -> str:
        if self._token is not None and time.time() < self._token_expiry - REFRESH_BEFORE_S:
            return self._token
        answer = await http.post(
            "/v1/auth/login",
            data={"username": self.settings.username, "password": self._secret(self.settings.password_file).decode()},
        )
        check_status(answer)
        try:
            info = json_of(answer)["message"]["login_successful"]
            self._token = str(info["API_token"])
            expiry = email.utils.parsedate_to_datetime(str(info["token_expiry"]))
        except (KeyError, TypeError, ValueError):
            raise CloudFailure("unexpected shape", "login: message.login_successful.{API_token,token_expiry}") from None
        self._token_expiry = expiry.timestamp()
        self.logins += 1
        return self._token

    async def upload(self, http: httpx.AsyncClient) -> None:
        await self.recorder.flush(telemetry=True)
        while batch := await self.outbox.pending("states", 1000):
            fields: dict[str, list[list[Any]]] = {}
            for record in batch:
                body = record.body
                value = body.get("value")
                if isinstance(value, bool):
                    value = 1.0 if value else 0.0
                if not isinstance(value, int | float):
                    continue  # the time series takes numbers only
                name = _FIELD.sub("_", f"{body['deviceURL'].rsplit('/', 1)[-1]}_{body['name'].split(':')[-1]}")
                fields.setdefault(name, []).append([int(body.get("time") or record.created), float(value)])
            if fields:
                payload = {
                    "measurement": self.settings.measurement,
                    "tags": {"gateway": _FIELD.sub("_", self.parts.identity.gateway_id)},
                    "fields": fields,
                }
                await self._post_data(http, payload)
            await self.outbox.ack("states", batch[-1].seq)
            self.uploaded += sum(len(points) for points in fields.values())

    async def _post_data(self, http: httpx.AsyncClient, payload: dict[str, Any]) -> None:
        await self._call(http, "POST", f"/v1/products/{self.settings.product_imei}/data", payload)

    async def _call(self, http: httpx.AsyncClient, method: str, path: str, payload: Any = None) -> httpx.Response:
        async def send() -> httpx.Response:
            token = await self._login(http)
            return await http.request(method, path, json=payload, headers={"Authorization": f"Token token={token}"})

        answer = await send()
        if answer.status_code == 401:
            self._token = None  # expired sooner than said: log in again, once
            answer = await send()
        check_status(answer)
        return answer

    def _tamper(self) -> str | None:
        where = self.settings.tamper_state
        if not where or "#" not in where:
            return None
        url, name = where.rsplit("#", 1)
        device = self.parts.registry.get(url)
        state = device.states.get(name) if device is not None else None
        if state is None:
            return None
        value = state.value.lower() if isinstance(state.value, str) else state.value
        return "tampered" if value in TAMPERED else "ok"

    async def report_then_pull(self, http: httpx.AsyncClient) -> None:
        """Our status up (what the unit is), then its instructions down (what the cloud wants it to be)."""
        from hearth import __version__

        path = self.settings.rc_data_path.format(imei=self.settings.product_imei)
        report: dict[str, Any] = {
            "software": f"hearth-{__version__}",
            "enable_status": self._enable_status or "enabled",
        }
        tamper = self._tamper()
        if tamper is not None:
            report["tamper_status"] = tamper
        if self.capacity_limit is not None:
            report["capacity_limit"] = self.capacity_limit
        if self.product_state is not None:
            report["state"] = self.product_state
        if self.software_update is not None:
            report["software_update"] = self.software_update
        credit = self.credit.report()
        report.update(credit)
        await self._call(http, "POST", path, report)
        self.credit.reported(credit.get("payment_acks", []), credit.get("final_balance"))
        await self.settings_repo.put(SETTINGS_KEY, self.credit.dumps())
        answer = await self._call(http, "GET", path)
        envelope = expect_dict(json_of(answer), "GET rc_data")
        data = envelope.get("data") or {}
        if not isinstance(data, dict):
            raise CloudFailure("unexpected shape", "GET rc_data: data is not an object")
        await self._instructions(data)

    async def _instructions(self, data: dict[str, Any]) -> None:
        wanted = data.get("enable_status")
        if wanted in ("enabled", "disabled") and wanted != self._enable_status:
            self._enable_status = wanted  # pending_* becomes the state: the cloud sees it at the next report
            await self._run_action(wanted)
        limit = data.get("capacity_limit")
        if limit is not None:
            try:
                value = float(limit)
            except (TypeError, ValueError):
                value = -1.0
            if not 0 <= value < float("inf"):
                log.warning("smartsolar: capacity_limit %r is not a number >= 0: ignored", limit)
            elif value != self.capacity_limit:
                self.capacity_limit = value
                if "capacity_limit" in self.settings.actions:
                    await self._run_action("capacity_limit")
        software, lock = data.get("software"), data.get("software_lock")
        if isinstance(software, str | int) and software != "":
            if lock not in (None, "") and str(lock) != str(software):
                self.software_update = {"requested": str(software), "status": f"blocked: locked to {lock}"}
            else:
                self.software_update = {"requested": str(software), "status": "not supported"}
        commands = data.get("payment_commands") or []
        if isinstance(commands, list) and commands:
            for command in commands:
                refused = self.credit.apply(command)
                if refused:
                    log.warning("smartsolar: payment command refused: %s", refused)
            await self.settings_repo.put(SETTINGS_KEY, self.credit.dumps())  # before the cloud hears the acks

    async def _run_action(self, status: str) -> dict[str, Any]:
        oid = self.settings.actions.get(status)
        if oid is None:
            return {"ignored": f"no action group for {status!r}"}
        group = self.parts.action_groups.get(oid)
        execution = await self.parts.executor.submit(group, owner="smartsolar", source="cloud", action_group_oid=oid)
        return {"execId": execution.id}

    # ------------------------------------------------------------------ webhooks

    def verify(self, body: bytes, signature: str | None) -> bool:
        if not signature or not self.settings.webhook_url:
            return False
        key = self._secret(self.settings.webhook_key_file)
        digest = hmac.new(key, body + self.settings.webhook_url.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), signature.strip())

    async def webhook(self, message: dict[str, Any]) -> dict[str, Any]:
        """A verified message: what it did, for the answer."""
        channel, stamp, data = message.get("channel"), str(message.get("timestamp", "")), message.get("data")
        if channel not in ("product-status", "product-alert", "wakeup") or not isinstance(data, dict):
            return {"ignored": f"channel {channel!r}"}
        last = self._last_webhook_ts.get(str(channel), "")
        if stamp and last and stamp < last:
            return {"ignored": "older than the last message taken"}
        if channel == "wakeup":
            trigger = data.get("trigger")
            if trigger not in NUDGES:
                return {"ignored": f"nudge {trigger!r}"}
            self._last_webhook_ts[channel] = max(stamp, last)
            self.loop.nudge()
            return {"nudged": trigger}
        if channel == "product-alert":
            return await self._alert(stamp, data)
        state, status = data.get("state"), data.get("enabled_status")
        if not (isinstance(state, int) and not isinstance(state, bool) and 1 <= state <= 9) and state is not None:
            return {"ignored": f"state {state!r} is not a state type (1-9)"}
        if status not in ENABLE_STATUSES:
            return {"ignored": f"enabled_status {status!r}"}
        if not await self.inbound.first_time(f"smartsolar:{channel}:{stamp}:{status}:{state}"):
            return {"ignored": "delivered before"}
        self._last_webhook_ts[channel] = max(stamp, last)
        if state is not None:
            self.product_state = state
        if status in ("enabled", "disabled") and status != self._enable_status:
            self._enable_status = str(status)
            return await self._run_action(str(status))
        return {"state": state, "enabled_status": status}

    async def _alert(self, stamp: str, data: dict[str, Any]) -> dict[str, Any]:
        alert_id = data.get("alert_id")
        if not isinstance(alert_id, int) or isinstance(alert_id, bool):
            return {"ignored": "alert_id is not an integer"}
        if not await self.inbound.first_time(f"smartsolar:product-alert:{alert_id}:{stamp}"):
            return {"ignored": "delivered before"}
        self._last_webhook_ts["product-alert"] = max(stamp, self._last_webhook_ts.get("product-alert", ""))
        self.alerts[alert_id] = data

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value)[:512] if value is not None else None

        type_id = data.get("alert_type_id")
        self.parts.bus.publish(
            SmartSolarAlertEvent(
                alert_id=alert_id,
                alert_type_id=type_id if isinstance(type_id, int) else None,
                start_time=text("start_time"),
                dismissed_at=text("dismissed_at"),
                extra_info=text("extra_info"),
            )
        )
        log.info("smartsolar: product alert %d %s", alert_id, "dismissed" if data.get("dismissed_at") else "raised")
        return {"alert": alert_id}
