"""The joined devices: each zigpy device as Hearth devices (one per function it has), what they report, whether
they are still heard, and their leaving.

zigpy tells of devices through listeners called by name: the application's (joined, interviewed, left) are
methods of ``Devices``; a device's and its clusters' are the small listener classes here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import zigpy.types as zt

from hearth.sdk import CommandFailed, DeviceSpec, DeviceURL, DriverContext, FailureType, describe_error
from hearth_zigbee.clusters import CONTEXT_ATTRIBUTES, cache_of, cached, cluster_of, clusters_of
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
from hearth_zigbee.radio import Radio
from hearth_zigbee.settings import ZigbeeSettings

# Read from zigpy's cache when a device is adopted: what decides an endpoint's functions (by cluster: the
# covering type 0x0000, the zone type 0x0001, the colour capabilities 0x400A), then the context attributes.
KIND_ATTRIBUTES = (0x0000, 0x0001, 0x400A, *CONTEXT_ATTRIBUTES)


class Node:
    """What we know of one joined device: its functions and the deviceURL of each."""

    def __init__(self, ieee: str, functions: list[Function], urls: list[DeviceURL], mains: bool) -> None:
        self.ieee = ieee
        self.functions = functions
        self.urls = urls
        self.mains = mains
        self.last_heard = time.monotonic()
        self.available = True


class _ClusterListener:
    """zigpy calls these by name (``listener_event``) for one cluster of one endpoint."""

    def __init__(self, devices: Devices, ieee: str, endpoint: int, cluster: int) -> None:
        self.devices, self.ieee, self.endpoint, self.cluster = devices, ieee, endpoint, cluster

    def attribute_updated(self, attrid: int, value: Any, *_: Any) -> None:
        self.devices.on_attribute(self.ieee, self.endpoint, self.cluster, int(attrid), value)

    def cluster_command(self, tsn: int, command_id: int, args: Any) -> None:
        # IAS Zone "zone status change notification" (0x00) carries the zone status first.
        if self.cluster == IAS_ZONE and command_id == 0x00 and args:
            self.devices.on_attribute(self.ieee, self.endpoint, IAS_ZONE, IAS_ZONE_STATUS_ATTR, args[0])
        elif self.cluster == IAS_ZONE and command_id == 0x01:
            # Zone enroll request: a zone reports alarms only once the CIE (we) answered it.
            self.devices.heard(self.ieee)
            self.devices.ctx.create_task(self.devices.enroll(self.ieee, self.endpoint), f"enroll-{self.ieee}")
        else:
            self.devices.heard(self.ieee)

    def general_command(self, *_: Any) -> None:
        self.devices.heard(self.ieee)


class _DeviceListener:
    def __init__(self, devices: Devices, ieee: str) -> None:
        self.devices, self.ieee = devices, ieee

    def device_last_seen_updated(self, *_: Any) -> None:
        self.devices.heard(self.ieee)


class Devices:
    """The joined devices by IEEE address, and each Hearth device's (node, function) by deviceURL."""

    def __init__(self, ctx: DriverContext, settings: ZigbeeSettings, radio: Radio) -> None:
        self.ctx = ctx
        self.settings = settings
        self.radio = radio
        self.log: logging.Logger = ctx.log
        self.nodes: dict[str, Node] = {}
        self.by_url: dict[str, tuple[Node, Function]] = {}
        self._listened: weakref.WeakSet[Any] = weakref.WeakSet()

    # ------------------------------------------------------------------ zigpy's application listener

    def device_joined(self, device: Any) -> None:
        self.log.info("zigbee device %s joined (nwk 0x%04x); interviewing", device.ieee, device.nwk)

    def raw_device_initialized(self, device: Any) -> None:
        pass

    def device_initialized(self, device: Any) -> None:
        if self.radio.app is None or self.radio.is_coordinator(device):
            return
        self.ctx.create_task(self.adopt(device, interviewed=True), f"adopt-{device.ieee}")

    def device_left(self, device: Any) -> None:
        self.ctx.create_task(self.forget(str(device.ieee)), f"left-{device.ieee}")

    def device_removed(self, device: Any) -> None:
        self.ctx.create_task(self.forget(str(device.ieee)), f"removed-{device.ieee}")

    def device_init_failure(self, device: Any) -> None:
        self.log.warning("zigbee device %s: interview failed", device.ieee)

    # ------------------------------------------------------------------ zigpy's devices

    def device(self, ieee: str) -> Any:
        """zigpy's device; SERIAL_IO_ERROR without the radio, ACTUATORUNKNOWN if it is not in the network."""
        app = self.radio.app
        if app is None:
            raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio is not connected")
        try:
            return app.get_device(ieee=zt.EUI64.convert(ieee))
        except KeyError:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{ieee} is not in the Zigbee network") from None

    def device_or_none(self, ieee: str) -> Any:
        try:
            return self.device(ieee)
        except CommandFailed:
            return None

    # ------------------------------------------------------------------ adopting and forgetting

    async def adopt_known(self, app: Any) -> None:
        """The devices zigpy already knows (interviewed before), as they are."""
        for device in list(app.devices.values()):
            if self.radio.is_coordinator(device):
                continue
            if getattr(device, "is_initialized", False):
                await self.adopt(device, interviewed=False)

    async def adopt(self, device: Any, *, interviewed: bool) -> None:
        ieee = str(device.ieee)
        if interviewed:
            await self._read_kinds(device)
        endpoints = []
        for ep_id, ep in device.endpoints.items():
            if ep_id == 0 or not hasattr(ep, "in_clusters"):
                continue
            known: dict[tuple[int, int], Any] = {}
            for cid, cluster in ep.in_clusters.items():
                for attr_id in KIND_ATTRIBUTES:
                    value = cached(cluster, attr_id)
                    if value is not None:
                        known[(cid, attr_id)] = value
            endpoints.append(EndpointInfo(ep_id, int(getattr(ep, "device_type", 0) or 0), set(ep.in_clusters), known))
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
        node = Node(ieee, functions, urls, mains)
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
            for ep_id, cid in clusters_of(function):
                cluster = cluster_of(device, ep_id, cid)
                if cluster is None:
                    continue
                for c, attr in ATTRIBUTES:
                    if c == cid:
                        value = cached(cluster, attr)
                        if value is not None:
                            states.update(states_for(function, cid, attr, value, cache_of(device, ep_id)))
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
                if cluster is None or cached(cluster, attr) is not None:
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
                        describe_error(exc),
                    )

    def _listen(self, device: Any, node: Node) -> None:
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

    async def _configure(self, device: Any, node: Node) -> None:
        """Bind and configure reporting for the clusters we show, then read their current values."""
        for function in node.functions:
            for ep_id, cid in clusters_of(function):
                cluster = cluster_of(device, ep_id, cid)
                if cluster is None:
                    continue
                try:
                    async with asyncio.timeout(self.settings.command_timeout_s):
                        app = self.radio.app
                        if cid == IAS_ZONE and app is not None:
                            await cluster.write_attributes({"cie_addr": app.state.node_info.ieee})
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
                        describe_error(exc),
                    )
        await self.refresh(node)

    async def refresh(self, node: Node, urls: set[str] | None = None) -> None:
        """Ask the device for the attributes of its functions (of those of ``urls`` only, if given)."""
        device = self.device(node.ieee)
        for function, url in zip(node.functions, node.urls, strict=True):
            if urls is not None and str(url) not in urls:
                continue
            for ep_id, cid in clusters_of(function):
                cluster = cluster_of(device, ep_id, cid)
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
                    self.log.info("zigbee device %s: cluster 0x%04x not read (%s)", node.ieee, cid, describe_error(exc))

    async def enroll(self, ieee: str, endpoint: int) -> None:
        try:
            cluster = cluster_of(self.device(ieee), endpoint, IAS_ZONE)
            if cluster is not None:
                async with asyncio.timeout(self.settings.command_timeout_s):
                    await cluster.enroll_response(enroll_response_code=0, zone_id=0)
        except Exception as exc:
            self.log.info("zigbee device %s: zone not enrolled (%s)", ieee, describe_error(exc))

    async def forget(self, ieee: str) -> None:
        """The device's Hearth devices removed (those we adopted, or any left from before with its address)."""
        node = self.nodes.pop(ieee, None)
        urls = node.urls if node is not None else [d.url for d in self.ctx.devices() if d.url.address == ieee]
        for url in urls:
            self.by_url.pop(str(url), None)
            await self.ctx.remove_device(url)
        if urls:
            self.log.info("zigbee device %s left the network", ieee)

    # ------------------------------------------------------------------ what devices say

    def heard(self, ieee: str) -> None:
        node = self.nodes.get(ieee)
        if node is None:
            return
        node.last_heard = time.monotonic()
        if not node.available:
            node.available = True
            for url in node.urls:
                self.ctx.set_available(url, True)

    def _reported(self, ieee: str, endpoint: int, cluster: int) -> Callable[[Any], None]:
        def on_event(event: Any) -> None:
            self.on_attribute(ieee, endpoint, cluster, int(event.attribute_id), event.value)

        return on_event

    def on_attribute(self, ieee: str, endpoint: int, cluster: int, attribute: int, value: Any) -> None:
        node = self.nodes.get(ieee)
        if node is None:
            return
        self.heard(ieee)
        cache: Mapping[tuple[int, int], Any] = {}
        for function, url in zip(node.functions, node.urls, strict=True):
            if not listens_to(function, endpoint, cluster):
                continue
            if not cache and self.radio.app is not None:
                with contextlib.suppress(Exception):
                    cache = cache_of(self.device(ieee), endpoint)
            states = states_for(function, cluster, attribute, value, cache)
            if states:
                self.ctx.report_states(url, states)

    async def watch_availability(self) -> None:
        while True:
            await asyncio.sleep(self.settings.availability_check_s)
            self.check_availability()

    def check_availability(self) -> None:
        """Devices not heard for longer than their kind's limit (mains or battery) become unavailable."""
        now = time.monotonic()
        for node in list(self.nodes.values()):
            device_seen = None
            if self.radio.app is not None:
                with contextlib.suppress(Exception):
                    device_seen = self.device(node.ieee).last_seen
            if device_seen is not None:
                # zigpy's last_seen is wall-clock; bring it onto our monotonic clock.
                node.last_heard = max(node.last_heard, now - max(0.0, time.time() - float(device_seen)))
            limit = self.settings.mains_unavailable_s if node.mains else self.settings.battery_unavailable_s
            if node.available and now - node.last_heard > limit:
                node.available = False
                self.log.info("zigbee device %s silent for %.0f s: unavailable", node.ieee, now - node.last_heard)
                for url in node.urls:
                    self.ctx.set_available(url, False)
