"""The primary cloud connector: MQTT (aiomqtt on paho-mqtt 2), QoS 1 with a persistent session.

Topic contract, per gateway (``<p>`` is ``[cloud.mqtt] topic_prefix``, ``<gw>`` the gatewayId):

- ``<p>/<gw>/status`` (retained): ``{"status": "online"|"offline", "time"}``; the broker publishes "offline" as
  our last will when the connection drops without a goodbye.
- ``<p>/<gw>/up/registration`` (retained): the gateway and its devices, at every connection.
- ``<p>/<gw>/up/<stream>`` for stream in states, executions, events, alerts: batches
  ``{"gatewayId", "records": [{"seq", "eventId", "stream", "time", "record"}]}``, in seq order per stream.
  A record leaves the outbox once the broker has acknowledged its batch (PUBACK): at least once, so the
  cloud deduplicates by ``eventId`` (and sees gaps in ``seq`` where telemetry was dropped).
- ``<p>/<gw>/down/exec``: ``{"id", "actionGroup": {End-User API action group}}``: run it (source ``cloud``);
  ``<p>/<gw>/down/cancel``: ``{"id", "execId"}``; ``<p>/<gw>/down/nudge``: sync now;
  ``<p>/<gw>/down/actionGroup``, ``down/conditionGroup`` and ``down/trigger``: ``{"id", "oid", "version",
  "actionGroup" | "conditionGroup" | "trigger"}`` or ``"deleted": true``, versions and conflicts as
  cloud/objects.py says. Every command's result
  goes up on the executions stream as ``{"commandId", "execId"}`` or ``{"commandId", "error"}``; a command
  delivered twice (same ``id``) runs once and its first result is sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiomqtt

from hearth.cloud.objects import CloudObjects
from hearth.cloud.recorder import Recorder
from hearth.config import CloudSettings
from hearth.core.tasks import cancel_and_wait
from hearth.extensions import CoreParts, ExtensionStatus, GatewayParts
from hearth.model import events as ev
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError
from hearth.mqtt_connect import BrokerLink, client_options
from hearth.store.outbox import STREAMS, InboundLog, Outbox

log = logging.getLogger(__name__)
# The inbound log is shared with the HTTPS connectors: ours are kept under this prefix.
INBOUND_PREFIX = "mqtt:"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class MqttSync(BrokerLink):
    """Report then pull over one MQTT connection; reconnects with backoff; the home never waits for it."""

    name = "cloud"  # its entry point's name (hearth.extensions)
    what = "cloud sync"
    lost_note = "local functions go on, records wait"

    def __init__(self, settings: CloudSettings) -> None:
        super().__init__(settings.reconnect_min_s, settings.reconnect_max_s, jitter=settings.reconnect_jitter)
        self.settings = settings
        self.mqtt = settings.mqtt
        self.syncing = False
        self.last_sync_ms: int | None = None
        self._nudge = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life

    def attach(self, core: CoreParts) -> None:
        """Called by the gateway before its recovery (identity, store and bus exist): the recorder listens."""
        self.gateway_id: str = core.identity.gateway_id
        self.base = f"{self.mqtt.topic_prefix}/{self.gateway_id}"
        self.outbox = Outbox(core.db, self.settings.outbox_max_rows)
        self.inbound = InboundLog(core.db)
        self.recorder = Recorder(core.bus, self.outbox, self.settings.telemetry_window_s)
        self.recorder.subscribe()

    async def start(self, parts: GatewayParts) -> None:
        """Called by the gateway once it has started."""
        self.parts = parts
        self.objects = CloudObjects(parts.db, parts.bus, parts.action_groups, parts.conditions, parts.triggers)
        self.recorder.start()
        await self._report_interrupted()
        self._task = asyncio.create_task(self._keep_connected(self.mqtt.host, self.mqtt.port), name="cloud-mqtt")

    async def _report_interrupted(self) -> None:
        """Commands taken before a crash but never run: the cloud is told, rather than left waiting."""
        for key in await self.inbound.unanswered(INBOUND_PREFIX):
            command_id = key.removeprefix(INBOUND_PREFIX)
            result = {
                "commandId": command_id,
                "error": {
                    "errorCode": "INTERRUPTED",
                    "error": "the gateway stopped before the command ran; send it again",
                },
            }
            await self.inbound.answer(key, result)
            self.recorder.add("executions", result)
            log.warning("cloud command %s was interrupted by a restart: reported", command_id)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self.objects.close()
        await self.recorder.stop()

    def status(self) -> ExtensionStatus:
        return ExtensionStatus(connected=self.connected, syncing=self.syncing, outbox=self.outbox)

    def _status(self, status: str) -> bytes:
        return json.dumps({"status": status, "time": _now_ms()}).encode()

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            **client_options(self.mqtt, self.parts.settings.data_dir()),
            identifier=f"hearth-{self.gateway_id}",
            clean_session=False,
            timeout=10,
            will=aiomqtt.Will(f"{self.base}/status", self._status("offline"), qos=1, retain=True),
        )

    def _down(self) -> None:
        self.syncing = False

    async def _session(self, client: aiomqtt.Client) -> None:
        self.connected = True
        log.info("cloud connected to %s:%d as %s", self.mqtt.host, self.mqtt.port, self.gateway_id)
        await client.publish(f"{self.base}/status", self._status("online"), qos=1, retain=True)
        await client.publish(
            f"{self.base}/up/registration", json.dumps(self._registration()).encode(), qos=1, retain=True
        )
        await client.subscribe(f"{self.base}/down/#", qos=1)
        self._nudge.set()  # report first, at once, then pull (the broker delivers what waited for us)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._uplink(client))
            group.create_task(self._downlink(client))

    def _registration(self) -> dict[str, Any]:
        from hearth import __version__

        return {
            "gatewayId": self.gateway_id,
            "fwVersion": __version__,
            "time": _now_ms(),
            "devices": [
                {"deviceURL": d.url_text, "controllableName": d.controllable.name, "label": d.label}
                for d in self.parts.registry.all()
            ],
        }

    # ------------------------------------------------------------------ up

    async def _uplink(self, client: aiomqtt.Client) -> None:
        while True:
            written = asyncio.ensure_future(self.recorder.written.wait())
            nudged = asyncio.ensure_future(self._nudge.wait())
            try:
                await asyncio.wait(
                    {written, nudged}, timeout=self.settings.sync_interval_s, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                written.cancel()
                nudged.cancel()
            self.recorder.written.clear()
            self._nudge.clear()
            await self.sync(client)

    async def sync(self, client: aiomqtt.Client) -> None:
        """Send every stream's pending records, batch by batch, each acknowledged before it leaves the outbox."""
        bus = self.parts.bus
        self.syncing = True
        bus.publish(ev.GatewaySynchronizationStartedEvent(gateway_id=self.gateway_id))
        try:
            for stream in STREAMS:
                while True:
                    batch = await self.outbox.pending(stream, self.settings.batch_size)
                    if not batch:
                        break
                    payload = {"gatewayId": self.gateway_id, "records": [r.wire() for r in batch]}
                    # QoS 1: returns once the broker has the message (PUBACK).
                    await client.publish(f"{self.base}/up/{stream}", json.dumps(payload).encode(), qos=1)
                    await self.outbox.ack(stream, batch[-1].seq)
        finally:
            self.syncing = False
            self.last_sync_ms = _now_ms()
            bus.publish(ev.GatewaySynchronizationEndedEvent(gateway_id=self.gateway_id))

    # ------------------------------------------------------------------ down

    async def _downlink(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = str(message.topic)
            kind = topic.rsplit("/", 1)[-1]
            try:
                body = json.loads(bytes(message.payload)) if message.payload else {}
            except (ValueError, TypeError):
                log.warning("cloud message on %s is not JSON: dropped", topic)
                continue
            if kind == "nudge":
                self._nudge.set()
            elif kind in ("exec", "cancel", "actionGroup", "conditionGroup", "trigger"):
                await self._command(kind, body)
            else:
                log.warning("cloud message on unknown topic %s: dropped", topic)

    async def _command(self, kind: str, body: Any) -> None:
        command_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(command_id, str) or not 1 <= len(command_id) <= 128:
            log.warning("cloud %s command without a valid id: dropped", kind)
            return
        key = INBOUND_PREFIX + command_id
        if not await self.inbound.first_time(key):
            previous = await self.inbound.result(key)
            log.info("cloud command %s delivered again: not run twice", command_id)
            self.recorder.add("executions", previous or {"commandId": command_id, "duplicate": True})
            return
        try:
            result = await self._run_command(kind, command_id, body)
        except ApiError as exc:  # validated like a LAN request: the API's own words
            result = {"commandId": command_id, "error": {"errorCode": str(exc.code), "error": exc.message}}
        except (ValueError, TypeError) as exc:
            result = {"commandId": command_id, "error": {"errorCode": "INVALID_FIELD_VALUE", "error": str(exc)}}
        await self.inbound.answer(key, result)
        self.recorder.add("executions", result)

    async def _run_command(self, kind: str, command_id: str, body: dict[str, Any]) -> dict[str, Any]:
        executor = self.parts.executor
        if kind in ("actionGroup", "conditionGroup", "trigger"):
            return await self.objects.apply(kind, command_id, body)
        if kind == "exec":
            group = ActionGroup.model_validate(body.get("actionGroup"))
            execution = await executor.submit(group, owner="cloud", source="cloud")
            return {"commandId": command_id, "execId": execution.id}
        exec_id = body.get("execId")
        if not isinstance(exec_id, str):
            raise ValueError("cancel needs an execId")
        if not executor.cancel(exec_id):
            raise ApiError.not_found(f"No such execution running : {exec_id}")
        return {"commandId": command_id, "cancelled": exec_id}
