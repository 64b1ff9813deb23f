"""Seed 000's monitoring cloud ("Bagtower"): every device registered with a stable id and its own API key, and a
log of its states pushed every period, the period the server answers with each log.

Shapes (cloud-apis.md §1): a device ``{deviceId, deviceName, companyId, period, group, tags, enabled}`` created with
a user token; its API key ``{"name", "id", "value", "enabled"}``; a log ``{unixTimestamp, UTCTimestamp, deviceId,
data: [{id, type, val, display}]}`` (``val`` a string) answered by ``{"period", "deviceId"}``. Timestamps in
seconds. The seed lost its paths: ``[cloud.bagtower]`` has them as settings.

The device ids are stable (a UUID from the gateway id and the deviceURL), so a restart or a reinstall registers
nothing twice. The API keys are kept in the data folder, owner-only, never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from hearth.cloud.credentials import read_secret

log = logging.getLogger(__name__)
KEYS_FILE = "bagtower-keys.json"


def device_id(gateway_id: str, device_url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hearth:{gateway_id}:{device_url}"))


def _value(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, int | float):
        return "number", repr(value)
    return "string", value if isinstance(value, str) else json.dumps(value)


class BagtowerConnector:
    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.periods: dict[str, float] = {}  # deviceId -> the period the server asked for
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, gateway: Any) -> None:
        self.gateway = gateway
        self.gateway_id = gateway.identity.gateway_id
        self.folder: Path = gateway.settings.data_dir()
        self._task = asyncio.create_task(self._run(), name="cloud-bagtower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _keys(self) -> dict[str, str]:
        path = self.folder / KEYS_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_keys(self, keys: dict[str, str]) -> None:
        path = self.folder / KEYS_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keys, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    async def _run(self) -> None:
        s = self.settings
        delay = 1.0
        async with httpx.AsyncClient(base_url=s.base_url, timeout=s.timeout_s) as http:
            while True:
                try:
                    await self._register(http)
                    await self._push_forever(http)
                except (httpx.HTTPError, OSError, ValueError) as exc:
                    log.warning("bagtower: %s; retrying in %.0f s", _safe(exc), delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 300)

    async def _register(self, http: httpx.AsyncClient) -> None:
        """Every device not registered yet gets its device and its API key."""
        s = self.settings
        keys = self._keys()
        missing = [d for d in self.gateway.registry.all()
                   if device_id(self.gateway_id, d.url_text) not in keys and d.url.address != "stack"]
        if not missing:
            return
        headers = {"Authorization": f"Bearer {read_secret(self.folder, s.user_token_file).decode()}"}
        for device in missing:
            did = device_id(self.gateway_id, device.url_text)
            body = {"deviceId": did, "deviceName": device.label[:50] or did, "companyId": s.company_id,
                    "period": max(s.period_s, s.min_period_s), "group": s.group,
                    "tags": [device.url.protocol, device.controllable.name], "enabled": True}
            created = await http.post(s.devices_path, json=body, headers=headers)
            if created.status_code not in (200, 201, 409):  # 409: registered before we lost our keys file
                raise ValueError(f"registering {device.url_text} answered {created.status_code}")
            key = await http.get(s.device_key_path.format(deviceId=did), headers=headers)
            key.raise_for_status()
            keys[did] = str(key.json()["value"])
            self._save_keys(keys)
        log.info("bagtower: %d devices registered", len(missing))

    async def _push_forever(self, http: httpx.AsyncClient) -> None:
        s = self.settings
        due: dict[str, float] = {}
        while True:
            keys = self._keys()
            now = time.monotonic()
            for device in self.gateway.registry.all():
                did = device_id(self.gateway_id, device.url_text)
                key = keys.get(did)
                if key is None:
                    if device.url.address != "stack":
                        return  # a new device: register it first
                    continue
                if due.get(did, 0.0) > now:
                    continue
                period = await self._push(http, did, key, device)
                due[did] = now + max(period, s.min_period_s)
            await asyncio.sleep(max(0.2, min(due.values(), default=now + 1) - time.monotonic()))

    async def _push(self, http: httpx.AsyncClient, did: str, key: str, device: Any) -> float:
        s = self.settings
        stamp = time.time()
        data = []
        for name, state in device.states.items():
            kind, text = _value(state.value)
            data.append({"id": name.split(":", 1)[-1], "type": kind, "val": text, "display": name})
        body = {"unixTimestamp": int(stamp), "deviceId": did, "data": data,
                "UTCTimestamp": dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat().replace("+00:00", "Z")}
        answer = await http.post(s.logs_path, json=body, headers={s.api_key_header: key})
        answer.raise_for_status()
        self.sent += 1
        period = float(answer.json().get("period") or s.period_s)
        self.periods[did] = period
        return period


def _safe(exc: BaseException) -> str:
    """An error to log, without a URL's query or headers (where keys could be)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.path}"
    return f"{type(exc).__name__}: {exc}"
