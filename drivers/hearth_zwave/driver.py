"""ZWaveDriver: the entry point the gateway loads, a client of a zwave-js server (zwave-js-server-python).

The server holds the network (zwave-js, with its device database); we follow it over a WebSocket
(connection.py). The driver puts together the connection, the nodes as devices (nodes.py), the stack device's
network procedures (procedures.py) and association groups (associations.py), and runs the nodes' commands.
When the connection drops, Z-Wave commands fail at once (PEER_DOWN) and we reconnect with backoff; the nodes keep
their deviceURLs (``zwave://<gateway>/<node id>[#n]``) across reconnects and restarts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp
from zwave_js_server.client import Client
from zwave_js_server.const import CommandClass, NodeStatus, SetValueStatus
from zwave_js_server.exceptions import BaseZwaveJSServerError, FailedZWaveCommand
from zwave_js_server.model.node import Node

from hearth.sdk import (
    AssociationCapable,
    AssociationGroups,
    CommandCall,
    CommandFailed,
    DeviceSpec,
    DeviceURL,
    Driver,
    DriverContext,
    FailureType,
    HasStackDevice,
    describe_error,
)
from hearth_zwave.associations import Associations
from hearth_zwave.connection import ServerConnection
from hearth_zwave.mapping import BATTERY, PLAIN_GETS, Function, plan
from hearth_zwave.nodes import MEMBERSHIP_EVENTS, Nodes, value_key
from hearth_zwave.procedures import MODE_EVENTS, NetworkProcedures
from hearth_zwave.server import ManagedServer
from hearth_zwave.settings import ZWaveSettings, parse_settings

__all__ = ["ZWaveDriver"]

STACK_ADDRESS = "stack"
STACK_CONTROLLABLE = "zwave:StackComponent"

_REFUSED = {
    SetValueStatus.FAIL: FailureType.ERRORCOMMAND,
    SetValueStatus.NO_DEVICE_SUPPORT: FailureType.CMDUNKNOWN,
    SetValueStatus.NOT_IMPLEMENTED: FailureType.CMDUNKNOWN,
    SetValueStatus.INVALID_VALUE: FailureType.BAD_PARAM,
    SetValueStatus.ENDPOINT_NOT_FOUND: FailureType.BAD_ADDRESS,
}


class ZWaveDriver(Driver, AssociationCapable, HasStackDevice):
    protocol: ClassVar[str] = "zwave"
    max_concurrency: ClassVar[int] = 16
    # A command to a sleeping node may wait for its wake-up (wakeup_wait_s, at most 3000 s): the executor's own
    # bound must be longer.
    command_timeout_s: ClassVar[float] = 3600.0

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.settings: ZWaveSettings = parse_settings(ctx.config)
        self.log: logging.Logger = ctx.log
        # The controller itself, as a device: its network's states, and unavailable while the server is away.
        self.stack_url: DeviceURL = ctx.device_url(STACK_ADDRESS)
        self.server: ManagedServer | None = None
        self.connection = ServerConnection(ctx, self.settings, self.stack_url, self._on_ready)
        self.nodes = Nodes(ctx, self.settings, self.connection)
        self.associations = Associations(self.connection, self.nodes)
        self.procedures = NetworkProcedures(
            ctx, self.settings, self.connection, self.nodes, self.associations, self.stack_url
        )

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        parse_settings(dict(config))

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        await self.ctx.add_device(
            DeviceSpec(
                address=STACK_ADDRESS,
                controllable_name=STACK_CONTROLLABLE,
                label="Z-Wave stack",
                states={"zwave:TransceiverStatusState": "idle"},
            )
        )
        if self.settings.port is not None:
            self.server = ManagedServer(
                self.settings.server_command,
                self.settings.port,
                self.settings.ws_port,
                self.ctx.data_dir / "server",
                self.log,
                self.settings.reconnect_min_s,
                self.settings.reconnect_max_s,
            )
            await self.server.start()
            await self.server.wait_ready(within_s=30)
        await self.connection.start()

    async def stop(self) -> None:
        self.procedures.stop()
        await self.connection.stop()
        if self.server is not None:
            await self.server.stop()

    async def _on_ready(self, client: Client) -> None:
        """A new connection: the controller's events followed, the nodes synchronised, the network shown."""
        assert client.driver is not None
        controller = client.driver.controller
        self.log.info(
            "zwave-js %s, home id %08x, %d nodes",
            client.version.driver_version if client.version else "?",
            controller.home_id or 0,
            len(controller.nodes),
        )
        for name in (*MEMBERSHIP_EVENTS, *MODE_EVENTS):
            self.connection.subscriptions.append(
                controller.on(name, lambda event, name=name: self._controller_event(name, event))
            )
        await self.nodes.sync(controller)
        self.ctx.set_available(self.stack_url, True)
        self.ctx.report_states(
            self.stack_url,
            {"zwave:HomeIdState": f"{controller.home_id or 0:08x}", "zwave:TransceiverStatusState": "idle"},
        )

    def _controller_event(self, name: str, event: Mapping[str, Any]) -> None:
        if name in MEMBERSHIP_EVENTS:
            self.nodes.membership_event(name, event)
        else:
            self.procedures.mode_event(name, event)

    # ------------------------------------------------------------------ associations

    async def association_groups(self, node_id: int) -> AssociationGroups:
        """The node's association groups, in the End-User API's shape (see Associations.groups)."""
        return await self.associations.groups(node_id)

    # ------------------------------------------------------------------ commands

    async def read_back(self, url: DeviceURL) -> bool:
        """The node's values asked again, as refreshState does (raises CommandFailed if it does not answer)."""
        await self.execute(CommandCall(device_url=url, name="refreshState", parameters=[], exec_id="read-back", rank=0))
        return True

    async def execute(self, call: CommandCall) -> None:
        url = str(call.device_url)
        if url == str(self.stack_url):
            await self.procedures.run(call)
            return
        entry = self.nodes.by_url.get(url)
        if entry is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{url} is not a known Z-Wave device")
        node_id, function = entry
        node = self.nodes.node(node_id)
        if node.status == NodeStatus.DEAD:
            # zwave-js would try and retry a dead node; fail now and leave the radio to the others.
            raise CommandFailed(FailureType.ACTUATORNOANSWER, f"node {node_id} is dead (not answering)")
        if not node.ready:
            # Just after a (re)connection the server is still loading this node: its values come with "ready".
            await self.nodes.wait_ready(node)
        work = asyncio.ensure_future(self._send(node, function, call))
        try:
            await self._await_node(node, call, work)
        except TimeoutError:
            asleep = node.status == NodeStatus.ASLEEP
            failure = FailureType.TIME_OUT_ON_COMMAND_PROGRESS if asleep else FailureType.DEVICE_NO_ANSWER
            what = "did not wake up" if asleep else "did not answer"
            raise CommandFailed(failure, f"node {node_id} {what} in time") from None
        except CommandFailed:
            raise
        except FailedZWaveCommand as exc:
            raise CommandFailed(
                FailureType.DEVICE_NO_ANSWER
                if "timeout" in exc.zwave_error_message.lower() or _is_dead(node)
                else FailureType.ERROR_WHILE_EXECUTING,
                f"node {node_id}: {exc.zwave_error_message}",
            ) from None
        except (BaseZwaveJSServerError, aiohttp.ClientError, ConnectionError) as exc:
            raise CommandFailed(FailureType.PEER_DOWN, f"zwave-js server: {describe_error(exc)}") from None
        finally:
            work.cancel()

    async def _await_node(self, node: Node, call: CommandCall, work: asyncio.Future[None]) -> None:
        """Wait for the node's answer: command_timeout_s while it is awake, wakeup_wait_s once it is asleep.

        zwave-js keeps a sleeping node's commands until its wake-up; a node with Wake Up found not answering is
        marked asleep then, not dead. Either way the execution shows the wait (IN_PROGRESS, its time to next
        state the bound) and ends with TIME_OUT_ON_COMMAND_PROGRESS if the node does not wake in time.
        """
        loop = asyncio.get_running_loop()
        asleep = False
        deadline = loop.time() + self.settings.command_timeout_s
        while True:
            if not asleep and node.status == NodeStatus.ASLEEP:
                asleep = True
                wait_s = self.settings.wakeup_wait_s
                self.log.info(
                    "zwave node %d is asleep: %s waits for its wake-up (at most %.0f s)",
                    node.node_id,
                    call.name,
                    wait_s,
                )
                call.in_progress(int(wait_s * 1000))
                deadline = loop.time() + wait_s
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            await asyncio.wait({work}, timeout=min(remaining, 0.25))
            if work.done():
                work.result()
                return

    async def _send(self, node: Node, function: Function, call: CommandCall) -> None:
        node_id = node.node_id
        if call.name == "refreshState":
            await self._refresh(node, function)
            return
        writes = plan(function, call.name, call.parameters)
        if writes is None:
            raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not supported on {function.controllable}")
        for write in writes:
            value = next(
                (
                    v
                    for v in node.values.values()
                    if value_key(v) == (write.cc, write.endpoint, write.prop, write.prop_key)
                ),
                None,
            )
            if value is None:
                raise CommandFailed(
                    FailureType.CMDUNKNOWN,
                    f"node {node_id} has no value {write.prop} on command "
                    f"class 0x{write.cc:02x}, endpoint {write.endpoint}",
                )
            result = await node.async_set_value(value, write.value, wait_for_result=True)
            if result is not None and result.status in _REFUSED:
                why = result.message or result.status.name
                raise CommandFailed(_REFUSED[result.status], f"node {node_id} refused {call.name}: {why}")

    async def _refresh(self, node: Node, function: Function) -> None:
        """Ask the node for the function's values again; returns when it has answered.

        A plain Get through the command class's API where one needs no argument: zwave-js sends it with the usual
        retries and, for a sleeping node, keeps it for the wake-up. (Its polls and refresh_cc_values are cheaper
        but give up on a node found asleep, which would end the execution before the states are fresh.)
        """
        for cc in function.ccs:
            endpoint = 0 if cc == BATTERY else function.endpoint
            instance = node.endpoints.get(endpoint)
            if instance is None or not any(c.id == cc for c in instance.command_classes):
                continue
            if cc in PLAIN_GETS:
                await instance.async_invoke_cc_api(CommandClass(cc), "get", wait_for_result=True)
            else:
                for value in node.values.values():
                    if value_key(value)[:2] == (cc, endpoint) and value.metadata.readable:
                        await node.async_poll_value(value)


def _is_dead(node: Node) -> bool:
    """The node's status now: it changes while a command waits (a check before the wait says nothing of it)."""
    return node.status == NodeStatus.DEAD
