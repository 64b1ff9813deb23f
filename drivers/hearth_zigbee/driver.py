"""ZigbeeDriver: the radio's life (form, restore, lose, reconnect), the devices it interviews, their commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import zigpy.config as zconf
import zigpy.exceptions
import zigpy.types as zt
from zigpy.application import ControllerApplication
from zigpy.zcl import foundation
from zigpy.zdo import types as zdo_t

from hearth.sdk import (
    COMMISSIONING_CODES,
    Backoff,
    CommandCall,
    CommandFailed,
    DeviceSpec,
    DeviceURL,
    Driver,
    DriverContext,
    FailureType,
    NetworkBackupCapable,
)
from hearth_zigbee import commands as zcmd
from hearth_zigbee import install_codes
from hearth_zigbee.mapping import (
    ATTRIBUTES,
    COLOR_CONTROL,
    FIXED_STATES,
    IAS_ZONE,
    IAS_ZONE_STATUS_ATTR,
    REPORTING,
    WINDOW_COVERING,
    EndpointInfo,
    Function,
    functions_of,
    listens_to,
    states_for,
)
from hearth_zigbee.settings import ZigbeeSettings, parse_settings

__all__ = ["ZigbeeDriver"]

STACK_ADDRESS = "stack"
STACK_CONTROLLABLE = "zigbee:TransceiverV3_0Component"
# Storage keys. The network key and the backup are secrets: they live here and in zigpy's database only.
KEY_NETWORK = "network"
KEY_BACKUP = "backup"
KEY_FORMED = "formed"


def _radio_class(radio: str) -> type[ControllerApplication]:
    if radio == "znp":
        from zigpy_znp.zigbee.application import ControllerApplication as Znp

        return Znp
    if radio == "ezsp":
        from bellows.zigbee.application import ControllerApplication as Ezsp

        return Ezsp
    from zigpy_deconz.zigbee.application import ControllerApplication as Deconz

    return Deconz


class _ClusterListener:
    """zigpy calls these by name (``listener_event``) for one cluster of one endpoint."""

    def __init__(self, driver: ZigbeeDriver, ieee: str, endpoint: int, cluster: int) -> None:
        self.driver, self.ieee, self.endpoint, self.cluster = driver, ieee, endpoint, cluster

    def attribute_updated(self, attrid: int, value: Any, *_: Any) -> None:
        self.driver._on_attribute(self.ieee, self.endpoint, self.cluster, int(attrid), value)

    def cluster_command(self, tsn: int, command_id: int, args: Any) -> None:
        # IAS Zone "zone status change notification" (0x00) carries the zone status first.
        if self.cluster == IAS_ZONE and command_id == 0x00 and args:
            self.driver._on_attribute(self.ieee, self.endpoint, IAS_ZONE, IAS_ZONE_STATUS_ATTR, args[0])
        elif self.cluster == IAS_ZONE and command_id == 0x01:
            # Zone enroll request: a zone reports alarms only once the CIE (we) answered it.
            self.driver._heard(self.ieee)
            self.driver.ctx.create_task(self.driver._enroll(self.ieee, self.endpoint), f"enroll-{self.ieee}")
        else:
            self.driver._heard(self.ieee)

    def general_command(self, *_: Any) -> None:
        self.driver._heard(self.ieee)


class _DeviceListener:
    def __init__(self, driver: ZigbeeDriver, ieee: str) -> None:
        self.driver, self.ieee = driver, ieee

    def device_last_seen_updated(self, *_: Any) -> None:
        self.driver._heard(self.ieee)


class _Node:
    """What we know of one joined device: its functions and the deviceURL of each."""

    def __init__(self, ieee: str, functions: list[Function], urls: list[DeviceURL], mains: bool) -> None:
        self.ieee = ieee
        self.functions = functions
        self.urls = urls
        self.mains = mains
        self.last_heard = time.monotonic()
        self.available = True


class ZigbeeDriver(Driver, NetworkBackupCapable):
    protocol: ClassVar[str] = "zigbee"
    # zigpy queues requests per radio itself; several may be in flight.
    max_concurrency: ClassVar[int] = 16
    command_timeout_s: ClassVar[float] = 90.0

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.settings: ZigbeeSettings = parse_settings(ctx.config)
        self.log: logging.Logger = ctx.log
        self.app: ControllerApplication | None = None
        self.up = False
        self.nodes: dict[str, _Node] = {}
        self.by_url: dict[str, tuple[_Node, Function]] = {}
        self.stack_url: DeviceURL = ctx.device_url(STACK_ADDRESS)
        self.formed_at_start: bool | None = None
        self._reconnecting: asyncio.Task[Any] | None = None
        self._permit_close: asyncio.TimerHandle | None = None
        self._install_code_window: asyncio.Task[Any] | None = None
        self._stopping = False
        self._listened: weakref.WeakSet[Any] = weakref.WeakSet()

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        parse_settings(dict(config))

    # ------------------------------------------------------------------ life of the radio

    @property
    def data_dir(self) -> Path:
        return self.ctx.data_dir

    async def start(self) -> None:
        await self.ctx.add_device(
            DeviceSpec(
                address=STACK_ADDRESS,
                controllable_name=STACK_CONTROLLABLE,
                label="Zigbee stack",
                states={"zigbee:PermitJoinState": False},
            )
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.data_dir, 0o700)  # zigpy's database holds the network key
        try:
            await self._connect()
        except Exception as exc:
            # The gateway starts without its radio; the radio joins in when it comes.
            self.log.warning(
                "zigbee radio on %s not usable (%s); retrying in the background", self.settings.port, _describe(exc)
            )
            self.ctx.set_available(self.stack_url, False)
            self._schedule_reconnect()
        self.ctx.create_task(self._watch_availability(), "availability")

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._permit_close is not None:
            self._permit_close.cancel()
        self._close_install_code_window()
        app, self.app, self.up = self.app, None, False
        if app is not None:
            try:
                await app.shutdown()
            except Exception as exc:
                self.log.warning("zigbee radio did not shut down cleanly: %s", _describe(exc))

    async def _network(self) -> dict[str, Any]:
        """The network we form: settings plus a key made once, kept in crash-safe storage before any use."""
        network = await self.ctx.storage.get(KEY_NETWORK)
        if not isinstance(network, dict) or "key" not in network:
            s = self.settings
            network = {
                "key": secrets.token_hex(16),
                "channel": s.channel,
                "pan_id": s.pan_id if s.pan_id is not None else 0x1A62 + secrets.randbelow(0xE000),
                "extended_pan_id": s.extended_pan_id or ":".join(f"{b:02x}" for b in secrets.token_bytes(8)),
            }
            await self.ctx.storage.put(KEY_NETWORK, network)
        return network

    def _config(self, network: Mapping[str, Any]) -> dict[str, Any]:
        s = self.settings
        device: dict[str, Any] = {zconf.CONF_DEVICE_PATH: s.port, zconf.CONF_DEVICE_BAUDRATE: s.baudrate}
        if s.flow_control is not None:
            device[zconf.CONF_DEVICE_FLOW_CONTROL] = s.flow_control
        return {
            zconf.CONF_DEVICE: device,
            zconf.CONF_DATABASE: str(self.data_dir / "zigbee.db"),
            zconf.CONF_NWK: {
                zconf.CONF_NWK_CHANNEL: int(network["channel"]),
                zconf.CONF_NWK_PAN_ID: int(network["pan_id"]),
                zconf.CONF_NWK_EXTENDED_PAN_ID: str(network["extended_pan_id"]),
                zconf.CONF_NWK_KEY: list(bytes.fromhex(network["key"])),
            },
            # We take the backups ourselves (after start, on demand), into crash-safe storage.
            zconf.CONF_NWK_BACKUP_ENABLED: False,
            zconf.CONF_TOPO_SCAN_ENABLED: False,
            zconf.CONF_OTA: {zconf.CONF_OTA_ENABLED: False},
        }

    async def _connect(self) -> None:
        network = await self._network()
        cls = _radio_class(self.settings.radio)
        app = await cls.new(self._config(network), auto_form=False, start_radio=False)
        try:
            await app.connect()
            try:
                await app.load_network_info(load_devices=False)
                formed = False
            except zigpy.exceptions.NetworkNotFormed:
                # A blank coordinator: zigpy restores our last backup onto it, or forms a network from our
                # settings (first start).
                formed = app.backups.most_recent_backup() is None
            await app.initialize(auto_form=True)
        except BaseException:
            with contextlib.suppress(Exception):
                await app.shutdown()
            raise
        self.app = app
        self.up = True
        if self.formed_at_start is None:
            self.formed_at_start = formed
        if formed:
            await self.ctx.storage.put(KEY_FORMED, int(await self.ctx.storage.get(KEY_FORMED) or 0) + 1)
        info = app.state.network_info
        self.log.info(
            "zigbee network %s on channel %s (pan 0x%04x), coordinator %s",
            "formed" if formed else "restored",
            info.channel,
            info.pan_id,
            app.state.node_info.ieee,
        )
        app.add_listener(self)
        for device in list(app.devices.values()):
            if self._is_coordinator(device):
                continue
            if getattr(device, "is_initialized", False):
                await self._adopt(device, interviewed=False)
        self.ctx.set_available(self.stack_url, True)
        self.ctx.report_states(
            self.stack_url,
            {
                "zigbee:ChannelState": int(info.channel),
                "zigbee:PanIdState": int(info.pan_id),
                "zigbee:ExtendedPanIdState": str(info.extended_pan_id),
                "zigbee:PermitJoinState": False,
            },
        )
        self.ctx.create_task(self._store_backup(), "backup")

    def _is_coordinator(self, device: Any) -> bool:
        return bool(self.app is not None and device.nwk == 0x0000) or (
            self.app is not None and device.ieee == self.app.state.node_info.ieee
        )

    def connection_lost(self, exc: Exception | None) -> None:
        """zigpy: the serial port closed or the radio stopped answering its watchdog."""
        if not self.up or self._stopping:
            return
        self.up = False
        self.log.warning("zigbee radio lost (%s); commands fail until it is back", _describe(exc))
        self.ctx.set_available(self.stack_url, False)
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._stopping or (self._reconnecting is not None and not self._reconnecting.done()):
            return
        self._reconnecting = self.ctx.create_task(self._reconnect(), "reconnect")

    async def _reconnect(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await app.shutdown()
        s = self.settings
        backoff = Backoff(s.reconnect_min_s, max(s.reconnect_min_s, s.reconnect_max_s))
        delay = backoff.next_delay()
        attempt = 0
        while not self._stopping:
            await asyncio.sleep(delay)
            attempt += 1
            try:
                await self._connect()
            except Exception as exc:
                delay = backoff.next_delay()
                self.log.info(
                    "zigbee radio still unreachable (attempt %d: %s); next try in %.1f s",
                    attempt,
                    _describe(exc),
                    delay,
                )
                continue
            self.log.info("zigbee radio back after %d attempt(s)", attempt)
            return

    # ------------------------------------------------------------------ backups

    async def backup(self) -> dict[str, Any]:
        """The network in zigpy's backup format (keys, devices, coordinator state). Secret: never log it."""
        if not self.up or self.app is None:
            stored = await self.ctx.storage.get(KEY_BACKUP)
            if isinstance(stored, dict):
                return stored
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio is not connected")
        backup = await self.app.backups.create_backup(load_devices=True)
        data: dict[str, Any] = backup.as_dict()
        await self.ctx.storage.put(KEY_BACKUP, data)
        return data

    async def restore(self, data: Mapping[str, Any]) -> None:
        """Write a backup (ours or another zigpy's) onto the coordinator in use: the same network on new hardware.

        ValueError if ``data`` is not a zigpy backup. The network we would form again becomes the backup's, and
        the radio restarts on it, as after a power cycle; the devices keep their addresses and need no re-pairing.
        """
        from zigpy.backups import NetworkBackup

        try:
            backup = NetworkBackup.from_dict(dict(data))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a zigpy network backup ({type(exc).__name__}: {exc})") from None
        if not self.up or self.app is None:
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio is not connected")
        info = backup.network_info
        await self.ctx.storage.put(
            KEY_NETWORK,
            {
                "key": bytes(info.network_key.key).hex(),
                "channel": int(info.channel),
                "pan_id": int(info.pan_id),
                "extended_pan_id": str(info.extended_pan_id),
            },
        )
        app = self.app
        await app.backups.restore_backup(backup)
        await self._restart_radio(app)
        await self.ctx.storage.put(KEY_BACKUP, backup.as_dict())

    async def _store_backup(self) -> None:
        try:
            await self.backup()
        except Exception as exc:
            self.log.info("zigbee backup not taken: %s", type(exc).__name__)

    # ------------------------------------------------------------------ devices

    def device_joined(self, device: Any) -> None:
        self.log.info("zigbee device %s joined (nwk 0x%04x); interviewing", device.ieee, device.nwk)

    def raw_device_initialized(self, device: Any) -> None:
        pass

    def device_initialized(self, device: Any) -> None:
        if self.app is None or self._is_coordinator(device):
            return
        self.ctx.create_task(self._adopt(device, interviewed=True), f"adopt-{device.ieee}")

    def device_left(self, device: Any) -> None:
        self.ctx.create_task(self._forget(str(device.ieee)), f"left-{device.ieee}")

    def device_removed(self, device: Any) -> None:
        self.ctx.create_task(self._forget(str(device.ieee)), f"removed-{device.ieee}")

    def device_init_failure(self, device: Any) -> None:
        self.log.warning("zigbee device %s: interview failed", device.ieee)

    async def _adopt(self, device: Any, *, interviewed: bool) -> None:
        ieee = str(device.ieee)
        if interviewed:
            await self._read_kinds(device)
        endpoints = []
        for ep_id, ep in device.endpoints.items():
            if ep_id == 0 or not hasattr(ep, "in_clusters"):
                continue
            cached: dict[tuple[int, int], Any] = {}
            for cid, cluster in ep.in_clusters.items():
                for attr_id in (0x0000, 0x0001, 0x400A, 0x0301, 0x0302, 0x0604, 0x0605):
                    value = _cached(cluster, attr_id)
                    if value is not None:
                        cached[(cid, attr_id)] = value
            endpoints.append(EndpointInfo(ep_id, int(getattr(ep, "device_type", 0) or 0), set(ep.in_clusters), cached))
        functions = functions_of(endpoints)
        if not functions:
            self.log.warning(
                "zigbee device %s: no cluster we know (%s)",
                ieee,
                {e.endpoint: sorted(e.in_clusters) for e in endpoints},
            )
            return
        many = len(functions) > 1
        label = " ".join(x for x in (device.manufacturer, device.model) if x) or f"Zigbee {ieee}"
        urls = []
        for i, function in enumerate(functions, start=1):
            url = await self.ctx.add_device(
                DeviceSpec(
                    address=ieee,
                    subsystem=i if many else None,
                    controllable_name=function.controllable,
                    label=f"{label} #{i}" if many else label,
                    states=dict(FIXED_STATES.get(function.controllable, {})),
                    attributes={
                        "core:Manufacturer": device.manufacturer or "",
                        "core:Model": device.model or "",
                        "zigbee:Endpoint": function.endpoint,
                    },
                )
            )
            urls.append(url)
        mains = bool(device.node_desc is not None and device.node_desc.is_mains_powered)
        node = _Node(ieee, functions, urls, mains)
        old = self.nodes.get(ieee)
        if old is not None:
            for url in old.urls:
                self.by_url.pop(str(url), None)
        self.nodes[ieee] = node
        for function, url in zip(functions, urls, strict=True):
            self.by_url[str(url)] = (node, function)
        self._listen(device, node)
        for url in urls:
            self.ctx.set_available(url, True)
        # Known values first (from the interview or zigpy's cache), then ask the device.
        for function, url in zip(functions, urls, strict=True):
            states: dict[str, Any] = {}
            for ep_id, cid in _clusters_of(function):
                cluster = _cluster(device, ep_id, cid)
                if cluster is None:
                    continue
                for c, attr in ATTRIBUTES:
                    if c == cid:
                        value = _cached(cluster, attr)
                        if value is not None:
                            states.update(states_for(function, cid, attr, value, _cache_of(device, ep_id)))
            if states:
                self.ctx.report_states(url, states)
        if interviewed:
            self.log.info("zigbee device %s: %s", ieee, ", ".join(f.controllable for f in functions))
            self.ctx.create_task(self._configure(device, node), f"configure-{ieee}")

    async def _read_kinds(self, device: Any) -> None:
        """Attributes that decide the controllable (zone type, covering type, colour capabilities)."""
        for ep_id, ep in device.endpoints.items():
            if ep_id == 0 or not hasattr(ep, "in_clusters"):
                continue
            for cid, attr in ((IAS_ZONE, 0x0001), (WINDOW_COVERING, 0x0000), (COLOR_CONTROL, 0x400A)):
                cluster = ep.in_clusters.get(cid)
                if cluster is None or _cached(cluster, attr) is not None:
                    continue
                try:
                    async with asyncio.timeout(self.settings.command_timeout_s):
                        await cluster.read_attributes([attr])
                except Exception as exc:
                    self.log.info(
                        "zigbee device %s: attribute 0x%04x/0x%04x not read (%s)",
                        device.ieee,
                        cid,
                        attr,
                        _describe(exc),
                    )

    def _listen(self, device: Any, node: _Node) -> None:
        if device in self._listened:
            return
        self._listened.add(device)
        device.add_listener(_DeviceListener(self, node.ieee))
        for ep_id, ep in device.endpoints.items():
            if ep_id == 0 or not hasattr(ep, "in_clusters"):
                continue
            for cid, cluster in ep.in_clusters.items():
                cluster.add_listener(_ClusterListener(self, node.ieee, ep_id, cid))
                # zigpy 2.x announces reports of known attributes only through its event system (the
                # legacy ``attribute_updated`` listener call is made for reads, not for reports).
                for event_type in ("attribute_report", "attribute_updated"):
                    cluster.on_event(event_type, self._reported(node.ieee, ep_id, cid))

    async def _configure(self, device: Any, node: _Node) -> None:
        """Bind and configure reporting for the clusters we show, then read their current values."""
        for function in node.functions:
            for ep_id, cid in _clusters_of(function):
                cluster = _cluster(device, ep_id, cid)
                if cluster is None:
                    continue
                try:
                    async with asyncio.timeout(self.settings.command_timeout_s):
                        if cid == IAS_ZONE and self.app is not None:
                            await cluster.write_attributes({"cie_addr": self.app.state.node_info.ieee})
                            await cluster.enroll_response(enroll_response_code=0, zone_id=0)
                        await cluster.bind()
                        for (c, attr), (lo, hi, change) in REPORTING.items():
                            if c == cid:
                                await cluster.configure_reporting(attr, lo, hi, change)
                except Exception as exc:
                    self.log.info(
                        "zigbee device %s: reporting of cluster 0x%04x not configured (%s)",
                        node.ieee,
                        cid,
                        _describe(exc),
                    )
        await self._refresh_node(node)

    async def _refresh_node(self, node: _Node, urls: set[str] | None = None) -> None:
        device = self._device(node.ieee)
        for function, url in zip(node.functions, node.urls, strict=True):
            if urls is not None and str(url) not in urls:
                continue
            for ep_id, cid in _clusters_of(function):
                cluster = _cluster(device, ep_id, cid)
                if cluster is None:
                    continue
                attrs = [a for (c, a) in ATTRIBUTES if c == cid]
                if cid == IAS_ZONE:
                    attrs = [IAS_ZONE_STATUS_ATTR]
                if not attrs:
                    continue
                try:
                    async with asyncio.timeout(self.settings.command_timeout_s):
                        # Answers arrive through attribute_updated, like reports.
                        await cluster.read_attributes(attrs)
                except Exception as exc:
                    self.log.info("zigbee device %s: cluster 0x%04x not read (%s)", node.ieee, cid, _describe(exc))

    async def _enroll(self, ieee: str, endpoint: int) -> None:
        try:
            cluster = _cluster(self._device(ieee), endpoint, IAS_ZONE)
            if cluster is not None:
                async with asyncio.timeout(self.settings.command_timeout_s):
                    await cluster.enroll_response(enroll_response_code=0, zone_id=0)
        except Exception as exc:
            self.log.info("zigbee device %s: zone not enrolled (%s)", ieee, _describe(exc))

    async def _forget(self, ieee: str) -> None:
        node = self.nodes.pop(ieee, None)
        urls = node.urls if node is not None else [d.url for d in self.ctx.devices() if d.url.address == ieee]
        for url in urls:
            self.by_url.pop(str(url), None)
            await self.ctx.remove_device(url)
        if urls:
            self.log.info("zigbee device %s left the network", ieee)

    def _device(self, ieee: str) -> Any:
        if self.app is None:
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio is not connected")
        try:
            return self.app.get_device(ieee=zt.EUI64.convert(ieee))
        except KeyError:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{ieee} is not in the Zigbee network") from None

    # ------------------------------------------------------------------ what devices say

    def _heard(self, ieee: str) -> None:
        node = self.nodes.get(ieee)
        if node is None:
            return
        node.last_heard = time.monotonic()
        if not node.available:
            node.available = True
            for url in node.urls:
                self.ctx.set_available(url, True)

    def _reported(self, ieee: str, endpoint: int, cluster: int) -> Any:
        def on_event(event: Any) -> None:
            self._on_attribute(ieee, endpoint, cluster, int(event.attribute_id), event.value)

        return on_event

    def _on_attribute(self, ieee: str, endpoint: int, cluster: int, attribute: int, value: Any) -> None:
        node = self.nodes.get(ieee)
        if node is None:
            return
        self._heard(ieee)
        cache: Mapping[tuple[int, int], Any] = {}
        for function, url in zip(node.functions, node.urls, strict=True):
            if not listens_to(function, endpoint, cluster):
                continue
            if not cache and self.app is not None:
                with contextlib.suppress(Exception):
                    cache = _cache_of(self._device(ieee), endpoint)
            states = states_for(function, cluster, attribute, value, cache)
            if states:
                self.ctx.report_states(url, states)

    async def _watch_availability(self) -> None:
        while True:
            await asyncio.sleep(self.settings.availability_check_s)
            self.check_availability()

    def check_availability(self) -> None:
        now = time.monotonic()
        for node in list(self.nodes.values()):
            device_seen = None
            if self.app is not None:
                with contextlib.suppress(Exception):
                    device_seen = self._device(node.ieee).last_seen
            if device_seen is not None:
                # zigpy's last_seen is wall-clock; bring it onto our monotonic clock.
                node.last_heard = max(node.last_heard, now - max(0.0, time.time() - float(device_seen)))
            limit = self.settings.mains_unavailable_s if node.mains else self.settings.battery_unavailable_s
            if node.available and now - node.last_heard > limit:
                node.available = False
                self.log.info("zigbee device %s silent for %.0f s: unavailable", node.ieee, now - node.last_heard)
                for url in node.urls:
                    self.ctx.set_available(url, False)

    # ------------------------------------------------------------------ commands

    async def read_back(self, url: DeviceURL) -> bool:
        """The device's attributes read again, as refreshState does (raises CommandFailed if it does not answer)."""
        await self.execute(CommandCall(device_url=url, name="refreshState", parameters=[], exec_id="read-back", rank=0))
        return True

    async def execute(self, call: CommandCall) -> None:
        url = str(call.device_url)
        if url == str(self.stack_url):
            await self._stack_command(call)
            return
        if not self.up or self.app is None:
            raise CommandFailed(
                FailureType.SERIAL_IO_ERROR, f"the Zigbee radio ({self.settings.port}) is not connected"
            )
        entry = self.by_url.get(url)
        if entry is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{url} is not a known Zigbee device")
        node, function = entry
        device = self._device(node.ieee)
        if call.name == "refreshState":
            await self._refresh_node(node, {url})
            return
        plan = zcmd.plan(function, call.name, call.parameters)
        if plan is None:
            raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not supported on {function.controllable}")
        await self._run(device, function.endpoint, plan, call)
        if plan.optimistic:
            self.ctx.report_states(call.device_url, plan.optimistic)

    async def _run(self, device: Any, endpoint: int, plan: zcmd.Plan, call: CommandCall) -> None:
        timeout = asyncio.timeout(self.settings.command_timeout_s)
        try:
            async with timeout:
                for step in plan.steps:
                    cluster = _cluster(device, endpoint, step.cluster)
                    if cluster is None:
                        raise CommandFailed(
                            FailureType.CMDUNKNOWN, f"endpoint {endpoint} has no cluster 0x{step.cluster:04x}"
                        )
                    result = await step.send(cluster)
                    _check(result, step.label)
        except CommandFailed:
            raise
        except TimeoutError:
            if timeout.expired():
                raise CommandFailed(
                    FailureType.TIME_OUT_ON_COMMAND_PROGRESS,
                    f"no answer within {self.settings.command_timeout_s:.0f} s",
                ) from None
            raise CommandFailed(FailureType.DEVICE_NO_ANSWER, f"{device.ieee} did not answer") from None
        except zigpy.exceptions.DeliveryError as exc:
            if not self.up:
                raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio was lost") from None
            raise CommandFailed(FailureType.DEVICE_NO_ANSWER, f"{device.ieee} unreachable: {exc}") from None
        except (ConnectionError, OSError, zigpy.exceptions.ZigbeeException) as exc:
            failure = FailureType.SERIAL_IO_ERROR if not self.up else FailureType.ERROR_WHILE_EXECUTING
            raise CommandFailed(failure, f"{type(exc).__name__}: {exc}") from None
        call.in_progress(0)

    # ------------------------------------------------------------------ the stack device

    async def _stack_command(self, call: CommandCall) -> None:
        p = call.parameters
        if not self.up or self.app is None:
            raise CommandFailed(
                FailureType.SERIAL_IO_ERROR, f"the Zigbee radio ({self.settings.port}) is not connected"
            )
        app = self.app
        try:
            async with asyncio.timeout(self.settings.command_timeout_s * 2):
                if call.name == "openNetwork":
                    duration = int(p[0]) if p and p[0] is not None else self.settings.permit_join_s
                    await self._open_network(duration, _ieee(p[1]) if len(p) > 1 and p[1] else None)
                elif call.name == "closeNetwork":
                    self._close_install_code_window()
                    await app.permit(time_s=0)
                    self._permit_for(0)
                elif call.name == "createNetwork":
                    await self._create_network(
                        int(p[0]) if p and p[0] is not None else None,
                        int(p[1]) if len(p) > 1 and p[1] is not None else None,
                    )
                elif call.name == "leaveNetwork":
                    ieee = _ieee(p[0])
                    if ieee not in self.nodes and self._device_or_none(ieee) is None:
                        raise CommandFailed(FailureType.BAD_ADDRESS, f"{ieee} is not in the Zigbee network")
                    await app.remove(zt.EUI64.convert(ieee))
                    await self._forget(ieee)
                elif call.name == "refreshNetwork":
                    wanted = _ieee(p[0]) if p and p[0] else None
                    for node in list(self.nodes.values()):
                        if wanted is None or node.ieee == wanted:
                            await self._refresh_node(node)
                elif call.name in ("bind", "unbind"):
                    await self._bind(call.name, _ieee(p[0]), int(p[1]), int(p[2]), _ieee(p[3]), int(p[4]))
                else:
                    raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not a Zigbee stack command")
        except CommandFailed:
            raise
        except TimeoutError:
            raise CommandFailed(FailureType.TIME_OUT_ON_COMMAND_PROGRESS, f"{call.name} took too long") from None
        except (ConnectionError, OSError, zigpy.exceptions.ZigbeeException) as exc:
            failure = FailureType.SERIAL_IO_ERROR if not self.up else FailureType.ERROR_WHILE_EXECUTING
            raise CommandFailed(failure, f"{call.name}: {type(exc).__name__}: {exc}") from None

    async def _open_network(self, duration: int, router: str | None) -> None:
        """Permit joins network-wide or through one router; with commissioning codes, only their devices."""
        app = self.app
        assert app is not None
        if router is not None:
            device = self._device_or_none(router)
            if device is None or self._is_coordinator(device):
                raise CommandFailed(FailureType.BAD_ADDRESS, f"{router} is not a router of the Zigbee network")
            # Asked of the router itself, to see its answer (zigpy's permit(node=...) only logs a refusal).
            result = await device.zdo.permit(duration)
            status = result[0] if isinstance(result, list | tuple) and result else result
            if status != zdo_t.Status.SUCCESS:
                raise CommandFailed(
                    FailureType.ERRORCOMMAND, f"{router} refused to permit joins: ZDO status {_status_name(status)}"
                )
            self._permit_for(duration)
            return
        admitted = [(ieee, key) for ieee, key in await self._install_codes() if str(ieee) not in self.nodes]
        if not admitted:
            await app.permit(time_s=duration)
            self._permit_for(duration)
            return
        # zigpy's permit_with_link_key hands the key to the radio, then holds the join window open for its whole
        # duration: it runs in the background, and its first requests (where a radio refuses) are waited for.
        self._close_install_code_window()
        window = self.ctx.create_task(self._admit(admitted, duration), "install-code join window")
        self._install_code_window = window
        done, _ = await asyncio.wait({window}, timeout=min(duration, 2.0))
        if window in done and window.exception() is not None:
            exc = window.exception()
            raise CommandFailed(
                FailureType.ERROR_WHILE_EXECUTING, f"the radio refused the install codes: {type(exc).__name__}: {exc}"
            )
        self.log.info("zigbee network open for %d s to %d device(s) with install codes", duration, len(admitted))
        self._permit_for(duration)

    async def _admit(self, admitted: list[tuple[zt.EUI64, zt.KeyData]], duration: int) -> None:
        assert self.app is not None
        await asyncio.gather(*(self.app.permit_with_link_key(ieee, key, duration) for ieee, key in admitted))

    async def _install_codes(self) -> list[tuple[zt.EUI64, zt.KeyData]]:
        codes = await self.ctx.storage.get(COMMISSIONING_CODES)
        parsed = []
        for entry in codes if isinstance(codes, list) else []:
            try:
                parsed.append(install_codes.parse(str(entry.get("code", "")), entry.get("commissioningId")))
            except (ValueError, AttributeError):
                # Checked when it was added; one bad row must not keep every other device out.
                self.log.warning("zigbee commissioning code skipped: it does not parse")
        return parsed

    def _close_install_code_window(self) -> None:
        if self._install_code_window is not None:
            self._install_code_window.cancel()
            self._install_code_window = None

    def check_commissioning_code(self, code: str, commissioning_id: str | None) -> None:
        install_codes.parse(code, commissioning_id)

    def _device_or_none(self, ieee: str) -> Any:
        try:
            return self._device(ieee)
        except CommandFailed:
            return None

    def _permit_for(self, duration: int) -> None:
        if self._permit_close is not None:
            self._permit_close.cancel()
            self._permit_close = None
        self.ctx.report_states(self.stack_url, {"zigbee:PermitJoinState": duration > 0})
        if duration > 0:
            self._permit_close = asyncio.get_running_loop().call_later(
                duration, lambda: self.ctx.report_states(self.stack_url, {"zigbee:PermitJoinState": False})
            )

    async def _bind(self, name: str, src: str, src_ep: int, cluster: int, dst: str, dst_ep: int) -> None:
        device = self._device(src)
        address = zdo_t.MultiAddress(addrmode=0x03, ieee=zt.EUI64.convert(dst), endpoint=dst_ep)
        request = device.zdo.Bind_req if name == "bind" else device.zdo.Unbind_req
        result = await request(zt.EUI64.convert(src), src_ep, cluster, address)
        status = result[0] if isinstance(result, list | tuple) and result else result
        if status != zdo_t.Status.SUCCESS:
            raise CommandFailed(FailureType.ERRORCOMMAND, f"{name}: ZDO status {_status_name(status)}")

    async def _create_network(self, channel: int | None, pan_id: int | None) -> None:
        """Leave the current network and form a new one: new key, new extended PAN id; devices must rejoin."""
        app = self.app
        assert app is not None
        key = secrets.token_hex(16)
        channel = channel or self.settings.channel
        pan_id = pan_id if pan_id is not None else 0x1A62 + secrets.randbelow(0xE000)
        extended_pan_id = ":".join(f"{b:02x}" for b in secrets.token_bytes(8))
        network = {"key": key, "channel": channel, "pan_id": pan_id, "extended_pan_id": extended_pan_id}
        await self.ctx.storage.put(KEY_NETWORK, network)
        nwk = app.config[zconf.CONF_NWK]
        nwk[zconf.CONF_NWK_CHANNEL] = channel
        nwk[zconf.CONF_NWK_PAN_ID] = zt.PanId(pan_id)  # type: ignore[no-untyped-call]  # zigpy: untyped __new__
        nwk[zconf.CONF_NWK_EXTENDED_PAN_ID] = zt.ExtendedPanId.convert(extended_pan_id)
        nwk[zconf.CONF_NWK_KEY] = zt.KeyData(bytes.fromhex(key))
        await app.form_network()
        for ieee in list(self.nodes):
            await self._forget(ieee)
            with contextlib.suppress(Exception):
                await app.remove(zt.EUI64.convert(ieee))
        await self._restart_radio(app)
        await self.ctx.storage.put(KEY_FORMED, int(await self.ctx.storage.get(KEY_FORMED) or 0) + 1)

    async def _restart_radio(self, app: Any) -> None:
        """Start again on what the coordinator now holds, as after a power cycle."""
        self.up = False
        self.app = None
        with contextlib.suppress(Exception):
            await app.shutdown()
        await self._connect()

    async def set_state(self, url: DeviceURL, name: str, value: Any) -> bool:
        return False


# ----------------------------------------------------------------------------- helpers


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "closed"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _ieee(value: Any) -> str:
    try:
        return str(zt.EUI64.convert(str(value).strip().lower()))
    except (ValueError, TypeError):
        raise CommandFailed(FailureType.BAD_PARAM, f"{value!r} is not an IEEE address") from None


def _clusters_of(function: Function) -> list[tuple[int, int]]:
    return [(function.endpoint, c) for c in function.clusters] + list(function.extra)


def _cluster(device: Any, endpoint: int, cluster: int) -> Any:
    ep = device.endpoints.get(endpoint)
    if ep is None or not hasattr(ep, "in_clusters"):
        return None
    return ep.in_clusters.get(cluster)


def _cached(cluster: Any, attr: int) -> Any:
    try:
        return cluster.get(attr)
    except Exception:
        return None


def _cache_of(device: Any, endpoint: int) -> dict[tuple[int, int], Any]:
    out: dict[tuple[int, int], Any] = {}
    ep = device.endpoints.get(endpoint)
    if ep is None or not hasattr(ep, "in_clusters"):
        return out
    for cid, cluster in ep.in_clusters.items():
        for attr in (0x0301, 0x0302, 0x0604, 0x0605):
            value = _cached(cluster, attr)
            if value is not None:
                out[(cid, attr)] = value
    return out


def _status_name(status: Any) -> str:
    return getattr(status, "name", None) or str(status)


def _check(result: Any, label: str) -> None:
    """A ZCL answer that is not SUCCESS fails the command, naming the status."""
    statuses: list[Any] = []
    if isinstance(result, list | tuple):
        for item in result:
            if isinstance(item, list):  # write attributes: [WriteAttributesStatusRecord]
                statuses.extend(getattr(r, "status", None) for r in item)
            elif hasattr(item, "status"):
                statuses.append(item.status)
    elif hasattr(result, "status"):
        statuses.append(result.status)
    for status in statuses:
        if status is None or status == foundation.Status.SUCCESS:
            continue
        if isinstance(status, int) and not isinstance(status, foundation.Status):
            with contextlib.suppress(ValueError):
                status = foundation.Status(status)  # type: ignore[no-untyped-call]  # zigpy's enum: untyped __call__
        raise CommandFailed(FailureType.ERRORCOMMAND, f"{label}: ZCL status {_status_name(status)}")
