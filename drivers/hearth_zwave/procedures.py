"""The network procedures, run as commands of the Z-Wave stack device: inclusion (with S2's security grant and
PIN) and exclusion, failed nodes (check, remove, replace), the controller's reset, and a node's associations.
The stack device's ``zwave:TransceiverStatusState`` follows the controller's mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from zwave_js_server.const import CommandClass, ExclusionStrategy, InclusionStrategy
from zwave_js_server.exceptions import BaseZwaveJSServerError, FailedZWaveCommand
from zwave_js_server.model.controller.inclusion_and_provisioning import InclusionGrant

from hearth.sdk import CommandCall, CommandFailed, DeviceURL, DriverContext, FailureType, describe_error, events
from hearth_zwave.associations import Associations
from hearth_zwave.connection import ServerConnection
from hearth_zwave.nodes import Nodes
from hearth_zwave.settings import ZWaveSettings

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
# The controller's events about its mode and inclusion's questions (zwave-js-server's event names).
MODE_EVENTS = (
    "inclusion started",
    "inclusion stopped",
    "exclusion started",
    "exclusion stopped",
    "grant security classes",
    "validate dsk and enter pin",
    "inclusion failed",
    "exclusion failed",
)


class NetworkProcedures:
    def __init__(
        self,
        ctx: DriverContext,
        settings: ZWaveSettings,
        connection: ServerConnection,
        nodes: Nodes,
        associations: Associations,
        stack_url: DeviceURL,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.connection = connection
        self.nodes = nodes
        self.associations = associations
        self.stack_url = stack_url
        self.log: logging.Logger = ctx.log
        self._mode_end: asyncio.TimerHandle | None = None

    def stop(self) -> None:
        if self._mode_end is not None:
            self._mode_end.cancel()

    async def run(self, call: CommandCall) -> None:
        p = call.parameters
        driver = self.connection.require()
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
                    self.set_mode("idle")
                elif call.name == "validateDSKAndEnterPIN":
                    await controller.async_validate_dsk_and_enter_pin(str(p[0]))
                elif call.name == "startExclusionWithMode":
                    if not await controller.async_begin_exclusion(_EXCLUSION[str(p[0])]):
                        raise CommandFailed(FailureType.BUSY_RADIO_ERROR, "the controller is busy (another mode?)")
                    self._end_mode_after(p[1] if len(p) > 1 else None, "exclusion")
                elif call.name == "stopExclusion":
                    await controller.async_stop_exclusion()
                    self.set_mode("idle")
                elif call.name == "isFailedDevice":
                    node = self.nodes.node(int(p[0]))
                    try:
                        failed = await controller.async_is_failed_node(node)
                    except FailedZWaveCommand as exc:
                        if exc.zwave_error_code != 105:  # ZW0105: the stick has no IsFailedNode function
                            raise
                        failed = not await node.async_ping()  # the same question, asked of the node itself
                    self.log.info("zwave node %d is %s", node.node_id, "failed" if failed else "not failed")
                    self.nodes.set_available(node.node_id, not failed)
                elif call.name == "removeFailedNode":
                    await controller.async_remove_failed_node(self.nodes.node(int(p[0])))
                elif call.name == "replaceFailedDevice":
                    mode = _INCLUSION[str(p[1])] if len(p) > 1 and p[1] else InclusionStrategy.DEFAULT
                    self.set_mode("replacing")
                    # As for inclusion: the library's Literal leaves smartStart out, zwave-js answers for it.
                    if not await controller.async_replace_failed_node(self.nodes.node(int(p[0])), mode):  # type: ignore[arg-type]
                        raise CommandFailed(FailureType.ERRORCOMMAND, f"node {p[0]} could not be replaced")
                elif call.name == "resetNetwork":
                    await driver.async_hard_reset()
                    await self.nodes.forget_all()
                elif call.name == "setAssociations":
                    await self.associations.set(int(p[0]), int(p[1]), p[2])
                elif call.name == "refreshAssociations":
                    node = self.nodes.node(int(p[0]))
                    await node.async_refresh_cc_values(CommandClass.ASSOCIATION)  # the node's groups read again
                else:
                    raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not a Z-Wave stack command")
        except CommandFailed:
            self.set_mode("idle") if call.name in ("startInclusionWithMode", "replaceFailedDevice") else None
            raise
        except TimeoutError:
            raise CommandFailed(FailureType.TIME_OUT_ON_COMMAND_PROGRESS, f"{call.name} took too long") from None
        except FailedZWaveCommand as exc:
            raise CommandFailed(FailureType.ERROR_WHILE_EXECUTING, f"{call.name}: {exc.zwave_error_message}") from None
        except (BaseZwaveJSServerError, aiohttp.ClientError, ConnectionError) as exc:
            raise CommandFailed(FailureType.PEER_DOWN, f"zwave-js server: {describe_error(exc)}") from None

    def set_mode(self, mode: str) -> None:
        self.ctx.report_states(self.stack_url, {"zwave:TransceiverStatusState": mode})

    def mode_event(self, name: str, event: Mapping[str, Any]) -> None:
        """The controller's mode changed, or an inclusion asks a question (security classes, the PIN)."""
        if name in ("inclusion started", "exclusion started"):
            self.set_mode("including" if name.startswith("inclusion") else "excluding")
        elif name in ("inclusion stopped", "exclusion stopped", "inclusion failed", "exclusion failed"):
            self.set_mode("idle")
        elif name == "grant security classes":
            # The user chose S2 by starting an S2 inclusion; the keys the device asks for are granted, and the
            # PIN (validateDSKAndEnterPIN) is where the user confirms it is the right device.
            requested = event["requested"]
            self.ctx.create_task(self._grant(requested), "grant security classes")
        elif name == "validate dsk and enter pin":
            self.ctx.publish(
                events.ZWaveNewClientSideAuthenticationDSKEvent(
                    gateway_id=self.ctx.gateway_id, device_security_key=str(event["dsk"])
                )
            )

    async def _grant(self, requested: Any) -> None:
        client = self.connection.client
        assert client is not None and client.driver is not None
        grant = InclusionGrant(requested.security_classes, client_side_auth=False)
        await client.driver.controller.async_grant_security_classes(grant)

    def _end_mode_after(self, timeout_s: Any, what: str) -> None:
        """The End-User API's inclusion and exclusion take a timeout; zwave-js's do not: we stop them."""
        if self._mode_end is not None:
            self._mode_end.cancel()
            self._mode_end = None
        if timeout_s:

            async def stop() -> None:
                client = self.connection.client
                if client is None or client.driver is None:
                    return
                controller = client.driver.controller
                with contextlib.suppress(Exception):
                    await (
                        controller.async_stop_inclusion() if what == "inclusion" else controller.async_stop_exclusion()
                    )
                self.set_mode("idle")

            self._mode_end = asyncio.get_running_loop().call_later(
                float(timeout_s), lambda: self.ctx.create_task(stop(), f"stop {what}")
            )
