"""The network procedures, run as commands of the Zigbee stack device: open the network (to all, through one
router, or to the devices of the commissioning codes only), close it, form a new one, remove a device, read
every device again, bind and unbind clusters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import zigpy.exceptions
import zigpy.types as zt
from zigpy.zdo import types as zdo_t

from hearth.sdk import COMMISSIONING_CODES, CommandCall, CommandFailed, DeviceURL, DriverContext, FailureType
from hearth_zigbee import install_codes
from hearth_zigbee.clusters import status_name
from hearth_zigbee.devices import Devices
from hearth_zigbee.radio import Radio
from hearth_zigbee.settings import ZigbeeSettings


def parse_ieee(value: Any) -> str:
    """An IEEE address given as a command parameter, in zigpy's spelling; BAD_PARAM if it is not one."""
    try:
        return str(zt.EUI64.convert(str(value).strip().lower()))
    except (ValueError, TypeError):
        raise CommandFailed(FailureType.BAD_PARAM, f"{value!r} is not an IEEE address") from None


def _zdo_status(result: Any) -> Any:
    return result[0] if isinstance(result, list | tuple) and result else result


class NetworkProcedures:
    """The stack device's commands; its ``zigbee:PermitJoinState`` follows the join window."""

    def __init__(
        self, ctx: DriverContext, settings: ZigbeeSettings, radio: Radio, devices: Devices, stack_url: DeviceURL
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.radio = radio
        self.devices = devices
        self.stack_url = stack_url
        self.log: logging.Logger = ctx.log
        self._permit_close: asyncio.TimerHandle | None = None
        self._install_code_window: asyncio.Task[Any] | None = None

    def stop(self) -> None:
        if self._permit_close is not None:
            self._permit_close.cancel()
        self._close_install_code_window()

    async def run(self, call: CommandCall) -> None:
        p = call.parameters
        app = self.radio.require()
        try:
            async with asyncio.timeout(self.settings.command_timeout_s * 2):
                if call.name == "openNetwork":
                    duration = int(p[0]) if p and p[0] is not None else self.settings.permit_join_s
                    await self._open_network(duration, parse_ieee(p[1]) if len(p) > 1 and p[1] else None)
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
                    ieee = parse_ieee(p[0])
                    if ieee not in self.devices.nodes and self.devices.device_or_none(ieee) is None:
                        raise CommandFailed(FailureType.BAD_ADDRESS, f"{ieee} is not in the Zigbee network")
                    await app.remove(zt.EUI64.convert(ieee))
                    await self.devices.forget(ieee)
                elif call.name == "refreshNetwork":
                    wanted = parse_ieee(p[0]) if p and p[0] else None
                    for node in list(self.devices.nodes.values()):
                        if wanted is None or node.ieee == wanted:
                            await self.devices.refresh(node)
                elif call.name in ("bind", "unbind"):
                    await self._bind(call.name, parse_ieee(p[0]), int(p[1]), int(p[2]), parse_ieee(p[3]), int(p[4]))
                else:
                    raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not a Zigbee stack command")
        except CommandFailed:
            raise
        except TimeoutError:
            raise CommandFailed(FailureType.TIME_OUT_ON_COMMAND_PROGRESS, f"{call.name} took too long") from None
        except (ConnectionError, OSError, zigpy.exceptions.ZigbeeException) as exc:
            failure = FailureType.SERIAL_IO_ERROR if not self.radio.up else FailureType.ERROR_WHILE_EXECUTING
            raise CommandFailed(failure, f"{call.name}: {type(exc).__name__}: {exc}") from None

    # ------------------------------------------------------------------ joining

    async def _open_network(self, duration: int, router: str | None) -> None:
        """Permit joins network-wide or through one router; with commissioning codes, only their devices."""
        app = self.radio.app
        assert app is not None
        if router is not None:
            device = self.devices.device_or_none(router)
            if device is None or self.radio.is_coordinator(device):
                raise CommandFailed(FailureType.BAD_ADDRESS, f"{router} is not a router of the Zigbee network")
            # Asked of the router itself, to see its answer (zigpy's permit(node=...) only logs a refusal).
            status = _zdo_status(await device.zdo.permit(duration))
            if status != zdo_t.Status.SUCCESS:
                raise CommandFailed(
                    FailureType.ERRORCOMMAND, f"{router} refused to permit joins: ZDO status {status_name(status)}"
                )
            self._permit_for(duration)
            return
        admitted = [(ieee, key) for ieee, key in await self._install_codes() if str(ieee) not in self.devices.nodes]
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
        app = self.radio.app
        assert app is not None
        await asyncio.gather(*(app.permit_with_link_key(ieee, key, duration) for ieee, key in admitted))

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

    def _permit_for(self, duration: int) -> None:
        if self._permit_close is not None:
            self._permit_close.cancel()
            self._permit_close = None
        self.ctx.report_states(self.stack_url, {"zigbee:PermitJoinState": duration > 0})
        if duration > 0:
            self._permit_close = asyncio.get_running_loop().call_later(
                duration, lambda: self.ctx.report_states(self.stack_url, {"zigbee:PermitJoinState": False})
            )

    # ------------------------------------------------------------------ the network itself

    async def _bind(self, name: str, src: str, src_ep: int, cluster: int, dst: str, dst_ep: int) -> None:
        device = self.devices.device(src)
        address = zdo_t.MultiAddress(addrmode=0x03, ieee=zt.EUI64.convert(dst), endpoint=dst_ep)
        request = device.zdo.Bind_req if name == "bind" else device.zdo.Unbind_req
        status = _zdo_status(await request(zt.EUI64.convert(src), src_ep, cluster, address))
        if status != zdo_t.Status.SUCCESS:
            raise CommandFailed(FailureType.ERRORCOMMAND, f"{name}: ZDO status {status_name(status)}")

    async def _create_network(self, channel: int | None, pan_id: int | None) -> None:
        """Leave the current network and form a new one: new key, new extended PAN id; devices must rejoin."""
        app = self.radio.app
        assert app is not None
        await self.radio.form(app, channel, pan_id)
        for ieee in list(self.devices.nodes):
            await self.devices.forget(ieee)
            with contextlib.suppress(Exception):
                await app.remove(zt.EUI64.convert(ieee))
        await self.radio.restart(app)
        await self.radio.count_formed()
