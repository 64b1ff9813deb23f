"""ZWaveDriver: a client of a zwave-js server (zwave-js-server-python), its nodes as devices, their commands.

The server holds the network (zwave-js, with its device database); we follow it over a WebSocket. When the
connection drops, Z-Wave commands fail at once (PEER_DOWN) and we reconnect with backoff; the nodes keep their
deviceURLs (``zwave://<gateway>/<node id>[#n]``) across reconnects and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp
from zwave_js_server.client import Client
from zwave_js_server.const import CommandClass, ExclusionStrategy, InclusionStrategy, NodeStatus, SetValueStatus
from zwave_js_server.exceptions import BaseZwaveJSServerError, FailedZWaveCommand, NotFoundError
from zwave_js_server.model.association import AssociationAddress
from zwave_js_server.model.controller.inclusion_and_provisioning import InclusionGrant
from zwave_js_server.model.node import Node

from hearth.sdk import (
    AssociationCapable,
    AssociationGroup,
    AssociationGroups,
    Backoff,
    CommandCall,
    CommandFailed,
    DeviceSpec,
    DeviceURL,
    Driver,
    DriverContext,
    FailureType,
    HasStackDevice,
    events,
)
from hearth_zwave.mapping import (
    BATTERY,
    FIXED_STATES,
    PLAIN_GETS,
    Function,
    ValueKey,
    functions_of,
    plan,
    states_for,
)
from hearth_zwave.server import ManagedServer
from hearth_zwave.settings import ZWaveSettings, parse_settings

__all__ = ["ZWaveDriver"]

STACK_ADDRESS = "stack"
STACK_CONTROLLABLE = "zwave:StackComponent"

_INCLUSION = {
    "default": InclusionStrategy.DEFAULT,
    "smartStart": InclusionStrategy.SMART_START,
    "insecure": InclusionStrategy.INSECURE,
    "securityS0": InclusionStrategy.SECURITY_S0,
    "securityS2": InclusionStrategy.SECURITY_S2,
}
_EXCLUSION = {
    "excludeOnly": ExclusionStrategy.EXCLUDE_ONLY,
    "disableProvisioningEntry": ExclusionStrategy.DISABLE_PROVISIONING_ENTRY,
    "unprovision": ExclusionStrategy.UNPROVISION,
}
_REFUSED = {
    SetValueStatus.FAIL: FailureType.ERRORCOMMAND,
    SetValueStatus.NO_DEVICE_SUPPORT: FailureType.CMDUNKNOWN,
    SetValueStatus.NOT_IMPLEMENTED: FailureType.CMDUNKNOWN,
    SetValueStatus.INVALID_VALUE: FailureType.BAD_PARAM,
    SetValueStatus.ENDPOINT_NOT_FOUND: FailureType.BAD_ADDRESS,
}


def _key(value: Any) -> ValueKey:
    return (int(value.command_class), int(value.endpoint or 0), value.property_, value.property_key)


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
        self.client: Client | None = None
        self.up = False
        self.functions: dict[int, list[tuple[DeviceURL, Function]]] = {}
        self.by_url: dict[str, tuple[int, Function]] = {}
        self.stack_url: DeviceURL = ctx.device_url(STACK_ADDRESS)
        self.server: ManagedServer | None = None
        self._session: aiohttp.ClientSession | None = None
        self._listener: asyncio.Task[None] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopping = False
        self._unsubscribe: list[Any] = []
        self._mode_end: asyncio.TimerHandle | None = None
        # Commands waiting for a node still being loaded by the server, by node id.
        self._ready: dict[int, asyncio.Event] = {}

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        parse_settings(dict(config))

    # ------------------------------------------------------------------ life of the connection

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
        try:
            await self._connect()
        except Exception as exc:
            self.log.warning(
                "zwave-js server at %s not reachable (%s); retrying in the background",
                self.settings.url,
                _describe(exc),
            )
            self.ctx.set_available(self.stack_url, False)
            self._schedule_reconnect()

    async def stop(self) -> None:
        self._stopping = True
        if self._mode_end is not None:
            self._mode_end.cancel()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        await self._disconnect()
        if self.server is not None:
            await self.server.stop()

    async def _connect(self) -> None:
        session = aiohttp.ClientSession()
        client = Client(self.settings.url, session)
        try:
            async with asyncio.timeout(30):
                await client.connect()
                ready = asyncio.Event()
                listener = asyncio.create_task(client.listen(ready), name="zwave-listen")
                done, _ = await asyncio.wait(
                    {listener, asyncio.ensure_future(ready.wait())}, return_when=asyncio.FIRST_COMPLETED
                )
                if listener in done:
                    listener.result()  # raises what went wrong
                    raise ConnectionError("the zwave-js server closed the connection before it was ready")
        except BaseException:
            with contextlib.suppress(Exception):
                await client.disconnect()
            await session.close()
            raise
        self.client, self._session, self._listener = client, session, listener
        listener.add_done_callback(self._listener_ended)
        await self._on_ready(client)
        self.up = True

    def _listener_ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task is not self._listener:
            return
        reason = "closed" if task.cancelled() or task.exception() is None else _describe(task.exception())
        self.log.warning("lost the zwave-js server (%s); Z-Wave commands fail until it is back", reason)
        self.up = False
        self.ctx.set_available(self.stack_url, False)
        self.ctx.create_task(self._disconnect(), "disconnect")
        self._schedule_reconnect()

    async def _disconnect(self) -> None:
        self.up = False
        for unsubscribe in self._unsubscribe:
            with contextlib.suppress(Exception):
                unsubscribe()
        self._unsubscribe.clear()
        client, session, listener = self.client, self._session, self._listener
        self.client = self._session = self._listener = None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        if listener is not None and not listener.done():
            listener.cancel()
        if session is not None:
            await session.close()

    def _schedule_reconnect(self) -> None:
        if self._stopping or (self._reconnecting is not None and not self._reconnecting.done()):
            return
        self._reconnecting = self.ctx.create_task(self._reconnect(), "reconnect")

    async def _reconnect(self) -> None:
        s = self.settings
        backoff = Backoff(s.reconnect_min_s, max(s.reconnect_min_s, s.reconnect_max_s))
        attempt = 0
        while not self._stopping:
            await asyncio.sleep(backoff.next_delay())
            attempt += 1
            try:
                await self._connect()
            except Exception as exc:
                if attempt == 1 or attempt % 10 == 0:
                    self.log.info("zwave-js server still unreachable (attempt %d: %s)", attempt, _describe(exc))
                continue
            self.log.info("zwave-js server back after %d attempt(s)", attempt)
            return

    async def _on_ready(self, client: Client) -> None:
        assert client.driver is not None
        controller = client.driver.controller
        self.log.info(
            "zwave-js %s, home id %08x, %d nodes",
            client.version.driver_version if client.version else "?",
            controller.home_id or 0,
            len(controller.nodes),
        )
        for name in (
            "node added",
            "node removed",
            "inclusion started",
            "inclusion stopped",
            "exclusion started",
            "exclusion stopped",
            "grant security classes",
            "validate dsk and enter pin",
            "inclusion failed",
            "exclusion failed",
        ):
            self._unsubscribe.append(controller.on(name, lambda event, name=name: self._controller_event(name, event)))
        known = set(controller.nodes)
        for node in controller.nodes.values():
            if node.is_controller_node:
                continue
            self._watch(node)
            if node.ready:
                await self._adopt(node)
        # Nodes removed while we were away (or while Hearth was stopped) go.
        for info in self.ctx.devices():
            address = info.url.address
            if address.isascii() and address.isdigit() and int(address) not in known:
                await self.ctx.remove_device(info.url)
                self.by_url.pop(str(info.url), None)
        self.ctx.set_available(self.stack_url, True)
        self.ctx.report_states(
            self.stack_url,
            {"zwave:HomeIdState": f"{controller.home_id or 0:08x}", "zwave:TransceiverStatusState": "idle"},
        )

    # ------------------------------------------------------------------ nodes

    def _watch(self, node: Node) -> None:
        for name in (
            "value added",
            "value updated",
            "value notification",
            "dead",
            "alive",
            "wake up",
            "sleep",
            "ready",
        ):
            self._unsubscribe.append(
                node.on(name, lambda event, name=name, node=node: self._node_event(node, name, event))
            )

    async def _adopt(self, node: Node) -> None:
        """Declare the node's functions as devices (again, after a reconnect: the registry keeps them)."""
        values = list(node.values.values())
        generic = node.device_class.generic.key if node.device_class else None
        specific = node.device_class.specific.key if node.device_class else None
        found = functions_of((_key(v) for v in values), generic, specific)
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
                states.update(states_for(function, _key(value), value.value, value.metadata.unit))
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
            key = _key(value)
            for url, function in self.functions.get(node.node_id, ()):
                states = states_for(function, key, value.value, value.metadata.unit)
                if states:
                    self.ctx.report_states(url, states)
        elif name == "ready":
            self._ready.pop(node.node_id, asyncio.Event()).set()
            self.ctx.create_task(self._adopt(node), f"adopt node {node.node_id}")
        elif name in ("dead", "alive", "wake up"):
            available = name != "dead"
            self.log.info("zwave node %d is %s", node.node_id, "dead" if not available else name)
            for url, _ in self.functions.get(node.node_id, ()):
                self.ctx.set_available(url, available)

    async def _wait_ready(self, node: Node) -> None:
        ready = self._ready.setdefault(node.node_id, asyncio.Event())
        try:
            async with asyncio.timeout(self.settings.command_timeout_s):
                await ready.wait()
        except TimeoutError:
            raise CommandFailed(
                FailureType.DEVICE_NO_ANSWER, f"node {node.node_id} is not ready (its interview has not finished)"
            ) from None

    async def _forget(self, node_id: int) -> None:
        for url, _ in self.functions.pop(node_id, []):
            self.by_url.pop(str(url), None)
            await self.ctx.remove_device(url)

    # ------------------------------------------------------------------ controller events

    def _controller_event(self, name: str, event: Mapping[str, Any]) -> None:
        gw = self.ctx.gateway_id
        if name == "node added":
            node = event["node"]
            self.log.info("zwave node %d added; interviewing", node.node_id)
            self._watch(node)
            if node.ready:
                self.ctx.create_task(self._adopt(node), f"adopt node {node.node_id}")
        elif name == "node removed":
            node = event["node"]
            self.log.info("zwave node %d removed", node.node_id)
            self.ctx.create_task(self._forget(node.node_id), f"forget node {node.node_id}")
        elif name in ("inclusion started", "exclusion started"):
            self._set_mode("including" if name.startswith("inclusion") else "excluding")
        elif name in ("inclusion stopped", "exclusion stopped", "inclusion failed", "exclusion failed"):
            self._set_mode("idle")
        elif name == "grant security classes":
            # The user chose S2 by starting an S2 inclusion; the keys the device asks for are granted, and the
            # PIN (validateDSKAndEnterPIN) is where the user confirms it is the right device.
            requested = event["requested"]
            self.ctx.create_task(self._grant(requested), "grant security classes")
        elif name == "validate dsk and enter pin":
            self.ctx.publish(
                events.ZWaveNewClientSideAuthenticationDSKEvent(gateway_id=gw, device_security_key=str(event["dsk"]))
            )

    async def _grant(self, requested: Any) -> None:
        assert self.client is not None and self.client.driver is not None
        grant = InclusionGrant(requested.security_classes, client_side_auth=False)
        await self.client.driver.controller.async_grant_security_classes(grant)

    def _set_mode(self, mode: str) -> None:
        self.ctx.report_states(self.stack_url, {"zwave:TransceiverStatusState": mode})

    # ------------------------------------------------------------------ commands

    def _node(self, node_id: int) -> Node:
        if not self.up or self.client is None or self.client.driver is None:
            raise CommandFailed(FailureType.PEER_DOWN, f"the zwave-js server ({self.settings.url}) is not connected")
        node = self.client.driver.controller.nodes.get(node_id)
        if node is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"node {node_id} is not in the Z-Wave network")
        return node

    async def read_back(self, url: DeviceURL) -> bool:
        """The node's values asked again, as refreshState does (raises CommandFailed if it does not answer)."""
        await self.execute(CommandCall(device_url=url, name="refreshState", parameters=[], exec_id="read-back", rank=0))
        return True

    async def execute(self, call: CommandCall) -> None:
        url = str(call.device_url)
        if url == str(self.stack_url):
            await self._stack_command(call)
            return
        entry = self.by_url.get(url)
        if entry is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{url} is not a known Z-Wave device")
        node_id, function = entry
        node = self._node(node_id)
        if node.status == NodeStatus.DEAD:
            # zwave-js would try and retry a dead node; fail now and leave the radio to the others.
            raise CommandFailed(FailureType.ACTUATORNOANSWER, f"node {node_id} is dead (not answering)")
        if not node.ready:
            # Just after a (re)connection the server is still loading this node: its values come with "ready".
            await self._wait_ready(node)
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
            raise CommandFailed(FailureType.PEER_DOWN, f"zwave-js server: {_describe(exc)}") from None
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
                (v for v in node.values.values() if _key(v) == (write.cc, write.endpoint, write.prop, write.prop_key)),
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
                    if _key(value)[:2] == (cc, endpoint) and value.metadata.readable:
                        await node.async_poll_value(value)

    async def _stack_command(self, call: CommandCall) -> None:
        p = call.parameters
        if not self.up or self.client is None or self.client.driver is None:
            raise CommandFailed(FailureType.PEER_DOWN, f"the zwave-js server ({self.settings.url}) is not connected")
        driver = self.client.driver
        controller = driver.controller
        try:
            async with asyncio.timeout(self.settings.command_timeout_s):
                if call.name == "startInclusionWithMode":
                    # zwave-js-server-python's Literal leaves smartStart out; we pass it on and zwave-js answers.
                    if not await controller.async_begin_inclusion(_INCLUSION[str(p[0])]):  # type: ignore[arg-type]
                        raise CommandFailed(FailureType.BUSY_RADIO_ERROR, "the controller is busy (another mode?)")
                    self._end_mode_after(p[1] if len(p) > 1 else None, "inclusion")
                elif call.name == "stopInclusion":
                    await controller.async_stop_inclusion()
                    self._set_mode("idle")
                elif call.name == "validateDSKAndEnterPIN":
                    await controller.async_validate_dsk_and_enter_pin(str(p[0]))
                elif call.name == "startExclusionWithMode":
                    if not await controller.async_begin_exclusion(_EXCLUSION[str(p[0])]):
                        raise CommandFailed(FailureType.BUSY_RADIO_ERROR, "the controller is busy (another mode?)")
                    self._end_mode_after(p[1] if len(p) > 1 else None, "exclusion")
                elif call.name == "stopExclusion":
                    await controller.async_stop_exclusion()
                    self._set_mode("idle")
                elif call.name == "isFailedDevice":
                    node = self._node(int(p[0]))
                    try:
                        failed = await controller.async_is_failed_node(node)
                    except FailedZWaveCommand as exc:
                        if exc.zwave_error_code != 105:  # ZW0105: the stick has no IsFailedNode function
                            raise
                        failed = not await node.async_ping()  # the same question, asked of the node itself
                    self.log.info("zwave node %d is %s", node.node_id, "failed" if failed else "not failed")
                    for url, _ in self.functions.get(node.node_id, ()):
                        self.ctx.set_available(url, not failed)
                elif call.name == "removeFailedNode":
                    await controller.async_remove_failed_node(self._node(int(p[0])))
                elif call.name == "replaceFailedDevice":
                    mode = _INCLUSION[str(p[1])] if len(p) > 1 and p[1] else InclusionStrategy.DEFAULT
                    self._set_mode("replacing")
                    # As for inclusion: the library's Literal leaves smartStart out, zwave-js answers for it.
                    if not await controller.async_replace_failed_node(self._node(int(p[0])), mode):  # type: ignore[arg-type]
                        raise CommandFailed(FailureType.ERRORCOMMAND, f"node {p[0]} could not be replaced")
                elif call.name == "resetNetwork":
                    await driver.async_hard_reset()
                    for node_id in list(self.functions):
                        await self._forget(node_id)
                elif call.name == "setAssociations":
                    await self._set_associations(int(p[0]), int(p[1]), p[2])
                elif call.name == "refreshAssociations":
                    node = self._node(int(p[0]))
                    await node.async_refresh_cc_values(CommandClass.ASSOCIATION)  # the node's groups read again
                else:
                    raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not a Z-Wave stack command")
        except CommandFailed:
            self._set_mode("idle") if call.name in ("startInclusionWithMode", "replaceFailedDevice") else None
            raise
        except TimeoutError:
            raise CommandFailed(FailureType.TIME_OUT_ON_COMMAND_PROGRESS, f"{call.name} took too long") from None
        except FailedZWaveCommand as exc:
            raise CommandFailed(FailureType.ERROR_WHILE_EXECUTING, f"{call.name}: {exc.zwave_error_message}") from None
        except (BaseZwaveJSServerError, aiohttp.ClientError, ConnectionError) as exc:
            raise CommandFailed(FailureType.PEER_DOWN, f"zwave-js server: {_describe(exc)}") from None

    def _end_mode_after(self, timeout_s: Any, what: str) -> None:
        """The End-User API's inclusion and exclusion take a timeout; zwave-js's do not: we stop them."""
        if self._mode_end is not None:
            self._mode_end.cancel()
            self._mode_end = None
        if timeout_s:

            async def stop() -> None:
                if self.client is None or self.client.driver is None:
                    return
                controller = self.client.driver.controller
                with contextlib.suppress(Exception):
                    await (
                        controller.async_stop_inclusion() if what == "inclusion" else controller.async_stop_exclusion()
                    )
                self._set_mode("idle")

            self._mode_end = asyncio.get_running_loop().call_later(
                float(timeout_s), lambda: self.ctx.create_task(stop(), f"stop {what}")
            )

    # ------------------------------------------------------------------ associations

    async def association_groups(self, node_id: int) -> AssociationGroups:
        """``{"maxAssociationGroup", "associationGroups": [{"maxNode", "groupId", "nodeList"}]}`` (End-User API)."""
        node = self._node(node_id)
        assert self.client is not None and self.client.driver is not None
        controller = self.client.driver.controller
        source = AssociationAddress(node_id=node.node_id)
        try:
            groups = await controller.async_get_association_groups(source)
            members = await controller.async_get_associations(source)
        except FailedZWaveCommand as exc:
            # ZW0302: the node has no Association command class.
            failure = FailureType.CMDUNKNOWN if exc.zwave_error_code == 302 else FailureType.ERROR_WHILE_EXECUTING
            raise CommandFailed(failure, exc.zwave_error_message) from None
        except (BaseZwaveJSServerError, NotFoundError) as exc:
            raise CommandFailed(FailureType.PEER_DOWN, f"zwave-js server: {_describe(exc)}") from None
        listed: list[AssociationGroup] = [
            {
                "maxNode": group.max_nodes,
                "groupId": group_id,
                "nodeList": sorted(a.node_id for a in members.get(group_id, [])),
            }
            for group_id, group in sorted(groups.items())
        ]
        return {"maxAssociationGroup": max(groups, default=0), "associationGroups": listed}

    async def _set_associations(self, node_id: int, group_id: int, wanted: Any) -> None:
        if not isinstance(wanted, list) or not all(isinstance(n, int) for n in wanted):
            raise CommandFailed(FailureType.BAD_PARAM, "the group's nodes must be a list of node ids")
        node = self._node(node_id)
        assert self.client is not None and self.client.driver is not None
        controller = self.client.driver.controller
        source = AssociationAddress(node_id=node.node_id)
        current = {a.node_id for a in (await controller.async_get_associations(source)).get(group_id, [])}
        gone = [AssociationAddress(node_id=n) for n in sorted(current - set(wanted))]
        new = [AssociationAddress(node_id=n) for n in sorted(set(wanted) - current)]
        if gone:
            await controller.async_remove_associations(source, group_id, gone, wait_for_result=True)
        if new:
            await controller.async_add_associations(source, group_id, new, wait_for_result=True)


def _is_dead(node: Node) -> bool:
    """The node's status now: it changes while a command waits (a check before the wait says nothing of it)."""
    return node.status == NodeStatus.DEAD


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "closed"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
