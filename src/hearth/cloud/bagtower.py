"""Seed 000's monitoring cloud ("Bagtower"): every device registered with a stable id and its own API key, and a
log of its states pushed every period, the period the server answers with each log.

Shapes (cloud-apis.md §1): a device ``{deviceId, deviceName, companyId, period, group, tags, enabled}`` created with
a user token; its API key ``{"name", "id", "value", "enabled"}``; a log ``{unixTimestamp, UTCTimestamp, deviceId,
data: [{id, type, val, display}]}`` (``val`` a string) answered by ``{"period", "deviceId"}``. Timestamps in
seconds. The seed lost its paths: ``[cloud.bagtower]`` has them as settings.

The device ids are stable (a UUID from the gateway id and the deviceURL), so a restart or a reinstall registers
nothing twice. The API keys are kept in the data folder, owner-only, never logged.

The cloud follows the box: a device renamed here (or moved between protocols' tags) is updated there ("Update a
device for a company", the full device body, ``companyId`` in the query), a device removed here is deleted there
("Delete a device given the deviceId"; a 404 means it is gone already). What the cloud was last told is kept in
``bagtower-devices.json``.

``display`` is the seed's display format of a value (its examples: ``"enum"``, ``"percent"``, ``"string"``), not
a name: ``enum`` for a boolean or a state with a list of values, ``percent`` for a number bounded 0..100, ``string``
for other text; a plain number has none (the seed's log examples carry data items without it).

Any failure (an answer of the wrong shape, a 5xx, a timeout) is counted by reason (``failures``, in /metrics),
logged once per reason, and retried after a jittered back-off (``hearth.core.backoff``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from hearth.cloud.answers import CloudFailure, SyncLoop, check_status, expect_dict, json_of
from hearth.cloud.credentials import read_secret
from hearth.config import BagtowerSettings
from hearth.core.backoff import Backoff
from hearth.core.tasks import cancel_and_wait
from hearth.extensions import CoreParts, ExtensionStatus, GatewayParts

log = logging.getLogger(__name__)
KEYS_FILE = "bagtower-keys.json"
DEVICES_FILE = "bagtower-devices.json"  # what the cloud was last told of each device (name, tags)


def device_id(gateway_id: str, device_url: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hearth:{gateway_id}:{device_url}"))


def display(device: Any, name: str, value: Any) -> str | None:
    """The seed's display format of a state's value (see the module's doc)."""
    spec = device.controllable.states.get(name)
    if isinstance(value, bool) or (spec is not None and spec.values):
        return "enum"
    if isinstance(value, int | float):
        if spec is not None and spec.min == 0 and spec.max == 100:
            return "percent"
        return None
    return "string"


def _value(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if isinstance(value, int | float):
        return "number", repr(value)
    return "string", value if isinstance(value, str) else json.dumps(value)


class BagtowerConnector:
    name = "bagtower"  # its entry point's name (hearth.extensions); in logs and metrics

    def __init__(self, settings: BagtowerSettings) -> None:
        self.settings = settings
        self.periods: dict[str, float] = {}  # deviceId -> the period the server asked for
        self.sent = 0
        self._task: asyncio.Task[None] | None = None
        self.backoff = Backoff(1.0, 300.0)
        self.loop = SyncLoop("bagtower", self._register, 0, self.backoff)  # its failure count and its log

    def attach(self, core: CoreParts) -> None:
        """Nothing to hear before start: what is sent is read from the registry at each cycle."""

    async def start(self, parts: GatewayParts) -> None:
        self.parts = parts
        self.gateway_id = parts.identity.gateway_id
        self.folder: Path = parts.settings.data_dir()
        self._task = asyncio.create_task(self._run(), name="cloud-bagtower")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    def _keys(self) -> dict[str, str]:
        path = self.folder / KEYS_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    @property
    def failures(self) -> dict[str, int]:
        return self.loop.failures

    def status(self) -> ExtensionStatus:
        return ExtensionStatus(failures=self.failures)

    def _told(self) -> dict[str, dict[str, Any]]:
        path = self.folder / DEVICES_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_keys(self, keys: dict[str, Any], file: str = KEYS_FILE) -> None:
        path = self.folder / file
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keys, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    async def _run(self) -> None:
        s = self.settings
        async with httpx.AsyncClient(base_url=s.base_url, timeout=s.timeout_s) as self.http:
            while True:
                try:
                    await self._register()
                    await self._push_forever(self.http)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # whatever the cloud answered: counted, logged once, retried
                    await asyncio.sleep(self.loop.failed(exc))

    def _body(self, device: Any, did: str) -> dict[str, Any]:
        s = self.settings
        return {
            "deviceId": did,
            "deviceName": device.label[:50] or did,
            "companyId": s.company_id,
            "period": max(s.period_s, s.min_period_s),
            "group": s.group,
            "tags": [device.url.protocol, device.controllable.name],
            "enabled": True,
        }

    async def _register(self) -> None:
        """The cloud follows the box: new devices registered (with their API key), renamed ones updated, removed
        ones deleted."""
        http, s = self.http, self.settings
        keys, told = self._keys(), self._told()
        here = {
            device_id(self.gateway_id, d.url_text): d for d in self.parts.registry.all() if d.url.address != "stack"
        }
        missing = [did for did in here if did not in keys]
        changed = [
            did
            for did in here
            if did in keys
            and {k: told.get(did, {}).get(k) for k in ("deviceName", "tags")}
            != {k: self._body(here[did], did)[k] for k in ("deviceName", "tags")}
        ]
        gone = [did for did in keys if did not in here]
        if not (missing or changed or gone):
            return
        headers = {"Authorization": f"Bearer {read_secret(self.folder, s.user_token_file).decode()}"}
        for did in missing:
            body = self._body(here[did], did)
            created = await http.post(s.devices_path, json=body, headers=headers)
            check_status(created, ok=(409,))  # 409: registered before we lost our keys file
            key = await http.get(s.device_key_path.format(deviceId=did), headers=headers)
            check_status(key)
            value = expect_dict(json_of(key), "API key").get("value")
            if not isinstance(value, str) or not value:
                raise CloudFailure("unexpected shape", "API key: no value")
            keys[did] = value
            self._save_keys(keys)
            told[did] = {"deviceName": body["deviceName"], "tags": body["tags"]}
            self._save_keys(told, DEVICES_FILE)
        for did in changed:
            body = self._body(here[did], did)
            updated = await http.put(
                s.device_path.format(deviceId=did), json=body, headers=headers, params={"companyId": s.company_id}
            )
            check_status(updated)
            told[did] = {"deviceName": body["deviceName"], "tags": body["tags"]}
            self._save_keys(told, DEVICES_FILE)
        for did in gone:
            deleted = await http.delete(
                s.device_path.format(deviceId=did), headers=headers, params={"companyId": s.company_id}
            )
            check_status(deleted, ok=(404,))  # 404: deleted there already
            keys.pop(did, None)
            told.pop(did, None)
            self._save_keys(keys)
            self._save_keys(told, DEVICES_FILE)
        log.info("bagtower: %d devices registered, %d updated, %d deleted", len(missing), len(changed), len(gone))

    async def _push_forever(self, http: httpx.AsyncClient) -> None:
        s = self.settings
        due: dict[str, float] = {}
        told = self._told()
        while True:
            keys = self._keys()
            now = time.monotonic()
            devices = [d for d in self.parts.registry.all() if d.url.address != "stack"]
            if len(devices) != len(keys):
                return  # a device came or went: the cloud follows first
            for device in devices:
                did = device_id(self.gateway_id, device.url_text)
                key = keys.get(did)
                if key is None or told.get(did, {}).get("deviceName") != (device.label[:50] or did):
                    return  # new or renamed: register or update it first
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
            item = {"id": name.split(":", 1)[-1], "type": kind, "val": text}
            shown = display(device, name, state.value)
            if shown is not None:
                item["display"] = shown
            data.append(item)
        body = {
            "unixTimestamp": int(stamp),
            "deviceId": did,
            "data": data,
            "UTCTimestamp": dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        answer = await http.post(s.logs_path, json=body, headers={s.api_key_header: key})
        check_status(answer)
        self.sent += 1
        period = expect_dict(json_of(answer), "log answer").get("period")
        if not isinstance(period, int | float) or isinstance(period, bool) or not 0 < period < 86400 * 366:
            raise CloudFailure("unexpected shape", f"log answer: period {period!r}")
        period = float(period)
        self.loop.succeeded()  # a log taken: the cloud answers well again
        self.periods[did] = period
        return period
