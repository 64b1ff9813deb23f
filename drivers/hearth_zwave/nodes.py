"""The network's nodes: each zwave-js node as Hearth devices (one per function it has), what its values say,
whether it is alive, and its leaving. A node's deviceURLs (``zwave://<gateway>/<node id>[#n]``) stay the same
across reconnects and restarts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from zwave_js_server.const import NodeStatus
from zwave_js_server.model.controller import Controller
from zwave_js_server.model.node import Node

from hearth.sdk import CommandFailed, DeviceSpec, DeviceURL, DriverContext, FailureType
from hearth_zwave.connection import ServerConnection
from hearth_zwave.mapping import FIXED_STATES, Function, ValueKey, functions_of, states_for
from hearth_zwave.settings import ZWaveSettings

# What a node tells that we follow (zwave-js-server's node event names).
NODE_EVENTS = ("value added", "value updated", "value notification", "dead", "alive", "wake up", "sleep", "ready")
# The controller's events about nodes coming and going.
MEMBERSHIP_EVENTS = ("node added", "node removed")


def value_key(value: Any) -> ValueKey:
    """A zwave-js value's (command class, endpoint, property, property key)."""
    return (int(value.command_class), int(value.endpoint or 0), value.property_, value.property_key)


class Nodes:
    """The adopted nodes' functions by node id, and each Hearth device's (node id, function) by deviceURL."""

    def __init__(self, ctx: DriverContext, settings: ZWaveSettings, connection: ServerConnection) -> None:
        self.ctx = ctx
        self.settings = settings
        self.connection = connection
        self.log: logging.Logger = ctx.log
        self.functions: dict[int, list[tuple[DeviceURL, Function]]] = {}
        self.by_url: dict[str, tuple[int, Function]] = {}
        # Commands waiting for a node still being loaded by the server, by node id.
        self._ready: dict[int, asyncio.Event] = {}

    def node(self, node_id: int) -> Node:
        """The server's node; PEER_DOWN without the server, ACTUATORUNKNOWN if it is not in the network."""
        node = self.connection.require().controller.nodes.get(node_id)
        if node is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"node {node_id} is not in the Z-Wave network")
        return node

    def set_available(self, node_id: int, available: bool) -> None:
        for url, _ in self.functions.get(node_id, ()):
            self.ctx.set_available(url, available)

    async def sync(self, controller: Controller) -> None:
        """On each connection: the server's nodes followed and adopted, the devices of nodes gone removed."""
        known = set(controller.nodes)
        for node in controller.nodes.values():
            if node.is_controller_node:
                continue
            self.watch(node)
            if node.ready:
                await self.adopt(node)
        # Nodes removed while we were away (or while Hearth was stopped) go.
        for info in self.ctx.devices():
            address = info.url.address
            if address.isascii() and address.isdigit() and int(address) not in known:
                await self.ctx.remove_device(info.url)
                self.by_url.pop(str(info.url), None)

    def watch(self, node: Node) -> None:
        for name in NODE_EVENTS:
            self.connection.subscriptions.append(
                node.on(name, lambda event, name=name, node=node: self._node_event(node, name, event))
            )

    async def adopt(self, node: Node) -> None:
        """Declare the node's functions as devices (again, after a reconnect: the registry keeps them)."""
        values = list(node.values.values())
        generic = node.device_class.generic.key if node.device_class else None
        specific = node.device_class.specific.key if node.device_class else None
        found = functions_of((value_key(v) for v in values), generic, specific)
        if not found:
            self.log.info(
                "zwave node %d has nothing the catalogue knows (%s)",
                node.node_id,
                ", ".join(sorted({hex(int(v.command_class)) for v in values})),
            )
            return
        label = node.name or (node.device_config.label if node.device_config else None) or f"Z-Wave node {node.node_id}"
        manufacturer = node.device_config.manufacturer if node.device_config else None
        entries: list[tuple[DeviceURL, Function]] = []
        for index, function in enumerate(found, start=1):
            subsystem = index if len(found) > 1 else None
            states: dict[str, Any] = dict(FIXED_STATES.get(function.controllable, {}))
            for value in values:
                states.update(states_for(function, value_key(value), value.value, value.metadata.unit))
            attributes = {
                "zwave:NodeId": node.node_id,
                "zwave:Endpoint": function.endpoint,
                "core:PowerSourceType": "mainSupply" if node.is_listening else "battery",
            }
            if manufacturer:
                attributes["core:Manufacturer"] = manufacturer
            if node.device_config and node.device_config.label:
                attributes["core:Model"] = node.device_config.label
            url = await self.ctx.add_device(
                DeviceSpec(
                    address=str(node.node_id),
                    controllable_name=function.controllable,
                    subsystem=subsystem,
                    label=f"{label} #{subsystem}" if subsystem else label,
                    attributes=attributes,
                    states=states,
                )
            )
            self.ctx.report_states(url, states)
            self.ctx.set_available(url, node.status != NodeStatus.DEAD)
            self.by_url[str(url)] = (node.node_id, function)
            entries.append((url, function))
        self.functions[node.node_id] = entries
        self.log.info("zwave node %d: %s", node.node_id, ", ".join(f.controllable for f in found))

    def _node_event(self, node: Node, name: str, event: Mapping[str, Any]) -> None:
        if name in ("value added", "value updated", "value notification"):
            value = event.get("value")
            if value is None:
                return
            key = value_key(value)
            for url, function in self.functions.get(node.node_id, ()):
                states = states_for(function, key, value.value, value.metadata.unit)
                if states:
                    self.ctx.report_states(url, states)
        elif name == "ready":
            self._ready.pop(node.node_id, asyncio.Event()).set()
            self.ctx.create_task(self.adopt(node), f"adopt node {node.node_id}")
        elif name in ("dead", "alive", "wake up"):
            available = name != "dead"
            self.log.info("zwave node %d is %s", node.node_id, "dead" if not available else name)
            self.set_available(node.node_id, available)

    def membership_event(self, name: str, event: Mapping[str, Any]) -> None:
        """The controller's ``node added`` (interviewed: adopted once ready) and ``node removed``."""
        node = event["node"]
        if name == "node added":
            self.log.info("zwave node %d added; interviewing", node.node_id)
            self.watch(node)
            if node.ready:
                self.ctx.create_task(self.adopt(node), f"adopt node {node.node_id}")
        elif name == "node removed":
            self.log.info("zwave node %d removed", node.node_id)
            self.ctx.create_task(self.forget(node.node_id), f"forget node {node.node_id}")

    async def wait_ready(self, node: Node) -> None:
        ready = self._ready.setdefault(node.node_id, asyncio.Event())
        try:
            async with asyncio.timeout(self.settings.command_timeout_s):
                await ready.wait()
        except TimeoutError:
            raise CommandFailed(
                FailureType.DEVICE_NO_ANSWER, f"node {node.node_id} is not ready (its interview has not finished)"
            ) from None

    async def forget(self, node_id: int) -> None:
        for url, _ in self.functions.pop(node_id, []):
            self.by_url.pop(str(url), None)
            await self.ctx.remove_device(url)

    async def forget_all(self) -> None:
        for node_id in list(self.functions):
            await self.forget(node_id)
