"""Seed 002's cloud (BBOXX SMARTSolar): the gateway as one unit (``product_imei``).

- **Auth**: ``POST /v1/auth/login`` (form ``username``/``password``) gives a token that expires after 3 h without
  use; we keep it with its expiry, log in again 10 minutes before, and once more on a 401.
- **Telemetry**, store-and-forward like the seed's ``rm_data``: numeric states are kept in our own outbox and sent
  every ``upload_interval_s`` in the seed's time-series form, ``POST /v1/products/<imei>/data``
  ``{"measurement", "tags", "fields": {"<field>": [[epoch ms, value], ...]}}``; rows leave only after a 2xx.
- **Report then pull** (the seed's ``rc_data``), at every upload: ``POST`` our status (software, enable status),
  then ``GET`` the instructions; a new ``enable_status`` (the product actions enable/disable) runs the action
  group ``actions`` names for it, once per change.
- **Webhooks** (``product-status``): verified by ``X-BBOXX-Signature`` = base64(HMAC-SHA1(key, body + the exact
  subscribed URL)); the unit's ``enabled_status`` runs the action group ``[cloud.smartsolar] actions`` names for
  it; a message older than the last one taken is dropped (the seed warns they may come out of order), and one
  delivered twice runs once.
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
from typing import Any

import httpx

from hearth.cloud.credentials import read_secret
from hearth.cloud.https_connector import OutboxConnector

log = logging.getLogger(__name__)
REFRESH_BEFORE_S = 600
_FIELD = re.compile(r"[^A-Za-z0-9_]")


class SmartSolarConnector(OutboxConnector):
    name = "smartsolar"
    outbox_table = "outbox_smartsolar"
    streams = frozenset({"states"})

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.uploaded = 0
        self.logins = 0
        self._token: str | None = None
        self._token_expiry = 0.0
        self._last_webhook_ts = ""
        self._enable_status: str | None = None  # the last enable status the cloud asked for

    def _attach(self, gateway: Any) -> None:
        gateway.smartsolar = self  # the API hands it the webhooks

    def _secret(self, name: str) -> bytes:
        return read_secret(self.folder, name)

    # ------------------------------------------------------------------ telemetry

    async def _run(self) -> None:
        s = self.settings
        async with httpx.AsyncClient(base_url=s.base_url, timeout=s.timeout_s) as http:
            while True:
                await asyncio.sleep(s.upload_interval_s)
                try:
                    await self.upload(http)
                    await self.report_then_pull(http)
                except (httpx.HTTPError, OSError, ValueError) as exc:
                    log.warning("smartsolar: upload failed (%s); the telemetry waits for the next one",
                                exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else exc)

    async def _login(self, http: httpx.AsyncClient) -> str:
        if self._token is not None and time.time() < self._token_expiry - REFRESH_BEFORE_S:
            return self._token
        answer = await http.post("/v1/auth/login", data={
            "username": self.settings.username, "password": self._secret(self.settings.password_file).decode()})
        answer.raise_for_status()
        info = answer.json()["message"]["login_successful"]
        self._token = str(info["API_token"])
        expiry = email.utils.parsedate_to_datetime(str(info["token_expiry"]))
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
                payload = {"measurement": self.settings.measurement,
                           "tags": {"gateway": _FIELD.sub("_", self.gateway.identity.gateway_id)}, "fields": fields}
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
        answer.raise_for_status()
        return answer

    async def report_then_pull(self, http: httpx.AsyncClient) -> None:
        """Our status up (what the unit is), then its instructions down (what the cloud wants it to be)."""
        from hearth import __version__
        path = self.settings.rc_data_path.format(imei=self.settings.product_imei)
        await self._call(http, "POST", path, {"software": f"hearth-{__version__}",
                                               "enable_status": self._enable_status or "enabled",
                                               "tamper_status": "ok"})
        answer = await self._call(http, "GET", path)
        wanted = (answer.json().get("data") or {}).get("enable_status")
        if isinstance(wanted, str) and wanted != self._enable_status:
            self._enable_status = wanted  # pending_* becomes the state: the cloud sees it at the next report
            await self._run_action(wanted)

    async def _run_action(self, status: str) -> dict[str, Any]:
        oid = self.settings.actions.get(status)
        if oid is None:
            return {"ignored": f"no action group for {status!r}"}
        group = self.gateway.action_groups.get(oid)
        execution = await self.gateway.executor.submit(group, owner="smartsolar", source="cloud",
                                                       action_group_oid=oid)
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
        if channel != "product-status" or not isinstance(data, dict):
            return {"ignored": f"channel {channel!r}"}
        if stamp and self._last_webhook_ts and stamp < self._last_webhook_ts:
            return {"ignored": "older than the last message taken"}
        if not await self.inbound.first_time(f"smartsolar:{channel}:{stamp}:{data.get('enabled_status')}"):
            return {"ignored": "delivered before"}
        self._last_webhook_ts = max(stamp, self._last_webhook_ts)
        status = str(data.get("enabled_status"))
        self._enable_status = status
        return await self._run_action(status)
