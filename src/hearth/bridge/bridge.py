"""The MQTT bridge: every device of the house on a LAN broker, in Home Assistant's MQTT discovery, both ways.

Topics (``<base>`` is ``[bridge] base_topic``, by default ``hearth/<gatewayId>``; ``<id>`` a device's object id,
see discovery.object_id, stable across restarts):

- ``<base>/bridge/state`` (retained): ``online``, or ``offline`` as our last will when the link drops.
- ``<discovery_prefix>/device/<id>/config`` (retained): the device's discovery (discovery.py); an empty retained
  message removes it, when the device is removed or, found on the broker at connection, no longer exists.
- ``<base>/<id>/state`` (retained unless ``retain_states = false``): the device's states as one JSON object,
  and for a moving cover ``"motion": "opening"`` or ``"closing"`` (motion.py), for a light of both RGB and colour
  temperature ``"color_mode"`` (discovery.colour_mode).
- ``<base>/<id>/availability`` (retained): ``online`` / ``offline``.
- ``<base>/<id>/set/<what>``: Home Assistant's commands (discovery.CommandRoute), and ``<base>/<id>/command``:
  ``{"name", "parameters"}`` or a list of them, for anyone else. Each message becomes an execution (source
  ``mqtt``, owner ``mqtt``, in the history like any other), validated like an API request; a bad payload is
  logged and dropped.

When Home Assistant says ``online`` on its status topic (it restarted), everything is announced again. States are
published at the pace the broker takes them: a device that changes faster than that is sent once with its latest
states, never queued without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiomqtt
from pydantic import ValidationError

from hearth import __version__
from hearth.bridge.discovery import COLOUR_MODE_KEY, MEASURED, DeviceDiscovery, colour_mode, device_discovery
from hearth.bridge.motion import MOTION_KEY, MotionTracker
from hearth.config import BridgeSettings
from hearth.core.rate import TokenBucket
from hearth.core.tasks import cancel_and_wait
from hearth.extensions import CoreParts, ExtensionStatus, GatewayParts
from hearth.model import events as ev
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError
from hearth.mqtt_connect import BrokerLink, client_options

log = logging.getLogger(__name__)

ONLINE, OFFLINE = b"online", b"offline"
MAX_COMMAND_PAYLOAD = 4096
STATE_BATCH = 64
RATE_REPORT_S = 10.0


class MqttBridge(BrokerLink):
    """A gateway extension (started after the gateway, stopped before it)."""

    name = "bridge"  # its entry point's name (hearth.extensions)
    what = "MQTT bridge"

    def __init__(self, settings: BridgeSettings) -> None:
        super().__init__(settings.reconnect_min_s, settings.reconnect_max_s)
        self.settings = settings
        self.published = 0  # state messages handed to the broker, for the benchmark and the curious
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._dirty_states: dict[str, None] = {}  # ordered sets of deviceURLs
        self._dirty_availability: dict[str, None] = {}
        self._dirty_config: dict[str, None] = {}
        self._removed: dict[str, str] = {}  # deviceURL -> object id of a removed device, to clear
        self._discovery: dict[str, DeviceDiscovery] = {}  # deviceURL -> what was announced
        self._urls: dict[str, str] = {}  # object id -> deviceURL
        self._unsubscribe: list[Any] = []
        self._motion = MotionTracker()
        self._commands = TokenBucket(settings.commands_per_s, settings.commands_burst)
        self.rate_dropped = 0  # commands dropped by the rate limit
        self._rate_reported = 0.0

    # ------------------------------------------------------------------ life

    def attach(self, core: CoreParts) -> None:
        """Nothing to hear before start: at start it describes every device as it is then."""

    async def start(self, parts: GatewayParts) -> None:
        self.parts = parts
        gateway_id = parts.identity.gateway_id
        self.base = self.settings.base_topic or f"hearth/{gateway_id}"
        self.bridge_topic = f"{self.base}/bridge/state"
        self.origin = {"name": "Hearth", "sw_version": __version__}
        for device in parts.registry.all():
            self._describe(device.url_text)
        bus = parts.bus
        self._unsubscribe = [
            bus.subscribe(self._on_states, ev.DeviceStateChangedEvent),
            bus.subscribe(self._on_availability, ev.DeviceAvailableEvent, ev.DeviceUnavailableEvent),
            bus.subscribe(self._on_device, ev.DeviceCreatedEvent, ev.DeviceUpdatedEvent),
            bus.subscribe(self._on_removed, ev.DeviceRemovedEvent),
        ]
        self._task = asyncio.create_task(
            self._keep_connected(self.settings.host, self.settings.port), name="mqtt-bridge"
        )

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        await cancel_and_wait(self._task)

    def status(self) -> ExtensionStatus:
        return ExtensionStatus(connected=self.connected)

    # ------------------------------------------------------------------ what changed (bus listeners: quick)

    def _on_states(self, event: ev.DeviceStateChangedEvent) -> None:
        discovery = self._discovery.get(event.device_url)
        if discovery is None:
            return
        for state in event.device_states:  # a measured state heard for the first time: its sensor is announced
            if state["name"] in MEASURED and state["name"] not in discovery.measured:
                if self._describe(event.device_url):
                    self._dirty_config[event.device_url] = None
                break
        self._dirty_states[event.device_url] = None
        self._wake.set()

    def _on_availability(self, event: ev.DeviceAvailableEvent | ev.DeviceUnavailableEvent) -> None:
        if event.device_url in self._discovery:
            self._dirty_availability[event.device_url] = None
            self._wake.set()

    def _on_device(self, event: ev.DeviceCreatedEvent | ev.DeviceUpdatedEvent) -> None:
        if self._describe(event.device_url):
            self._dirty_config[event.device_url] = None
            self._dirty_availability[event.device_url] = None
            self._dirty_states[event.device_url] = None
            self._wake.set()

    def _on_removed(self, event: ev.DeviceRemovedEvent) -> None:
        discovery = self._discovery.pop(event.device_url, None)
        if discovery is not None:
            self._urls.pop(discovery.object_id, None)
            self._removed[event.device_url] = discovery.object_id
            self._motion.forget(event.device_url)
            for dirty in (self._dirty_states, self._dirty_availability, self._dirty_config):
                dirty.pop(event.device_url, None)
            self._wake.set()

    def _describe(self, url: str) -> bool:
        """(Re)build a device's discovery; False if Home Assistant has nothing to show of it."""
        device = self.parts.registry.get(url)
        if device is None:
            return False
        place = self.parts.places.get(device.place_oid) if device.place_oid else None
        discovery = device_discovery(
            gateway_id=self.parts.identity.gateway_id,
            device_url=url,
            label=device.label,
            controllable=device.controllable,
            area=place.label if place is not None and place.parent_oid else None,
            base_topic=self.base,
            bridge_state_topic=self.bridge_topic,
            origin=self.origin,
            reported=device.states,
        )
        if discovery is None:
            return False
        self._discovery[url] = discovery
        self._urls[discovery.object_id] = url
        self._removed.pop(url, None)
        return True

    # ------------------------------------------------------------------ the link

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            **client_options(self.settings, self.parts.settings.data_dir()),
            identifier=f"hearth-bridge-{self.parts.identity.gateway_id}",
            timeout=10,
            will=aiomqtt.Will(self.bridge_topic, OFFLINE, qos=1, retain=True),
        )

    async def _session(self, client: aiomqtt.Client) -> None:
        self.connected = True
        log.info("MQTT bridge connected to %s:%d (topics under %s)", self.settings.host, self.settings.port, self.base)
        await client.subscribe(self.settings.ha_status_topic, qos=1)
        await client.subscribe(f"{self.base}/+/set/+", qos=1)
        await client.subscribe(f"{self.base}/+/command", qos=1)
        # Retained configs of ours on the broker: those of devices removed while we were away are cleared.
        await client.subscribe(f"{self.settings.discovery_prefix}/device/+/config", qos=1)
        await client.publish(self.bridge_topic, ONLINE, qos=1, retain=True)
        self._announce_all()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._publisher(client))
            group.create_task(self._receiver(client))

    def _announce_all(self) -> None:
        for url in self._discovery:
            self._dirty_config[url] = None
            self._dirty_availability[url] = None
            self._dirty_states[url] = None
        self._wake.set()

    # ------------------------------------------------------------------ out

    async def _publisher(self, client: aiomqtt.Client) -> None:
        prefix = self.settings.discovery_prefix
        retain_states = self.settings.retain_states
        registry = self.parts.registry
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._removed:
                url, oid = self._removed.popitem()
                await client.publish(f"{prefix}/device/{oid}/config", b"", qos=1, retain=True)
                await client.publish(f"{self.base}/{oid}/state", b"", qos=1, retain=True)
                await client.publish(f"{self.base}/{oid}/availability", b"", qos=1, retain=True)
                log.info("MQTT bridge: %s removed from discovery", url)
            while self._dirty_config:
                url = next(iter(self._dirty_config))
                del self._dirty_config[url]
                discovery = self._discovery.get(url)
                if discovery is not None:
                    await client.publish(
                        f"{prefix}/device/{discovery.object_id}/config",
                        json.dumps(discovery.payload).encode(),
                        qos=1,
                        retain=True,
                    )
            while self._dirty_availability:
                url = next(iter(self._dirty_availability))
                del self._dirty_availability[url]
                device, discovery = registry.get(url), self._discovery.get(url)
                if device is not None and discovery is not None:
                    await client.publish(
                        f"{self.base}/{discovery.object_id}/availability",
                        ONLINE if device.available else OFFLINE,
                        qos=1,
                        retain=True,
                    )
            # States go at QoS 0 straight to paho: aiomqtt's publish would wait a turn of the loop for each one
            # (about 4k messages/s here). Every STATE_BATCH messages the loop's writer sends what is queued
            # before more is queued, so the broker sets the pace and the queue stays short; meanwhile further
            # changes of a device only update what its next message will say.
            paho = client._client  # aiomqtt 2.5 keeps its paho client here (pinned in pyproject)
            sent = 0
            while self._dirty_states:
                url = next(iter(self._dirty_states))
                del self._dirty_states[url]
                device, discovery = registry.get(url), self._discovery.get(url)
                if device is None or discovery is None:
                    continue
                values: dict[str, Any] = {s.name: s.value for s in device.states.values()}
                if "cover" in discovery.payload["components"]:
                    way = self._motion.way(url, values)
                    if way is not None:
                        values[MOTION_KEY] = way
                if "color_mode_state_topic" in discovery.payload["components"].get("light", {}):
                    values[COLOUR_MODE_KEY] = colour_mode({s.name: s.last_update_time for s in device.states.values()})
                payload = json.dumps(values).encode()
                info = paho.publish(f"{self.base}/{discovery.object_id}/state", payload, 0, retain_states)
                if info.rc != 0:
                    raise aiomqtt.MqttCodeError(info.rc, "could not publish a state")
                self.published += 1
                sent += 1
                if sent % STATE_BATCH == 0:
                    await _until_sent(paho)
            if sent:
                await _until_sent(paho)

    # ------------------------------------------------------------------ in

    async def _receiver(self, client: aiomqtt.Client) -> None:
        status_topic = self.settings.ha_status_topic
        config_prefix = f"{self.settings.discovery_prefix}/device/"
        async for message in client.messages:
            topic = str(message.topic)
            payload = (
                bytes(message.payload)
                if isinstance(message.payload, bytes | bytearray)
                else str(message.payload or "").encode()
            )
            if topic == status_topic:
                if payload.strip() == ONLINE:
                    log.info("Home Assistant is online: announcing every device again")
                    self._announce_all()
            elif topic.startswith(config_prefix):
                self._check_stale_config(topic.removeprefix(config_prefix).removesuffix("/config"), payload)
            else:
                await self._command(topic, payload)

    def _check_stale_config(self, oid: str, payload: bytes) -> None:
        """A config of one of our devices that no longer exists (removed while the broker was away): clear it."""
        ours = f"hearth_{self.parts.identity.gateway_id.replace('-', '')}_"
        if payload and oid.startswith(ours) and oid not in self._urls:
            self._removed[f"(gone) {oid}"] = oid
            self._wake.set()

    async def _command(self, topic: str, payload: bytes) -> None:
        """A message on a command topic: an execution, or a log line saying why not."""
        # First the rate: a flood on the command topics (of any kind, good or bad) costs a counter, not a log line.
        if not self._commands.take():
            self.rate_dropped += 1
            now = time.monotonic()
            if now - self._rate_reported >= RATE_REPORT_S:
                self._rate_reported = now
                log.warning("MQTT bridge: too many commands per second; %d dropped so far", self.rate_dropped)
            return
        relative = topic.removeprefix(f"{self.base}/")
        oid, _, rest = relative.partition("/")
        url = self._urls.get(oid)
        if url is None:
            log.warning("MQTT bridge: command on %s for no known device: dropped", topic)
            return
        if len(payload) > MAX_COMMAND_PAYLOAD:
            log.warning("MQTT bridge: command on %s of %d bytes is too long: dropped", topic, len(payload))
            return
        try:
            text = payload.decode()
            if rest == "command":
                commands = _raw_commands(text)
            else:
                route = self._discovery[url].routes.get(rest.removeprefix("set/"))
                if route is None or not rest.startswith("set/"):
                    raise ValueError(f"no such command topic for this device ({rest})")
                commands = [{"name": name, "parameters": params} for name, params in route.build(text)]
            group = ActionGroup.model_validate(
                {"label": f"MQTT {rest}", "actions": [{"deviceURL": url, "commands": commands}]}
            )
            execution = await self.parts.executor.submit(group, owner="mqtt", source="mqtt")
        except (ValueError, ValidationError, UnicodeDecodeError) as exc:
            log.warning("MQTT bridge: bad payload on %s dropped: %s", topic, _short(exc))
        except ApiError as exc:  # refused as the API would refuse it (unknown command, arity, range...)
            log.warning("MQTT bridge: command on %s refused: %s", topic, exc.message)
        else:
            log.debug("MQTT bridge: %s -> execution %s", topic, execution.id)


async def _until_sent(paho: Any) -> None:
    """Give the loop's writer turns until paho's queue is empty (or a while has passed: the link may be dying)."""
    for _ in range(1000):
        if not paho.want_write():
            return
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)


def _raw_commands(text: str) -> list[dict[str, Any]]:
    """``{"name", "parameters"}`` or a list of them: the End-User API's own command objects."""
    body = json.loads(text)
    commands = body if isinstance(body, list) else [body]
    if not commands or not all(isinstance(c, dict) for c in commands):
        raise ValueError("expected a command object or a list of them")
    return commands


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)[:200]
