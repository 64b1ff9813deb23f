"""ZigbeeDriver: the entry point the gateway loads; it puts together the radio (radio.py), the joined devices
(devices.py), the stack device's network procedures (procedures.py) and the network backups (backup.py), and
runs the devices' commands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import zigpy.exceptions
from zigpy.application import ControllerApplication

from hearth.sdk import (
    CommandCall,
    CommandFailed,
    DeviceSpec,
    DeviceURL,
    Driver,
    DriverContext,
    FailureType,
    HasStackDevice,
    JsonObject,
    JsonValue,
    NetworkBackupCapable,
)
from hearth_zigbee import commands as zcmd
from hearth_zigbee import install_codes
from hearth_zigbee.backup import NetworkBackups
from hearth_zigbee.clusters import check_answer, cluster_of
from hearth_zigbee.devices import Devices
from hearth_zigbee.procedures import NetworkProcedures
from hearth_zigbee.radio import Radio
from hearth_zigbee.settings import ZigbeeSettings, parse_settings

__all__ = ["ZigbeeDriver"]

STACK_ADDRESS = "stack"
STACK_CONTROLLABLE = "zigbee:TransceiverV3_0Component"


class ZigbeeDriver(Driver, NetworkBackupCapable, HasStackDevice):
    protocol: ClassVar[str] = "zigbee"
    # zigpy queues requests per radio itself; several may be in flight.
    max_concurrency: ClassVar[int] = 16
    command_timeout_s: ClassVar[float] = 90.0

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.settings: ZigbeeSettings = parse_settings(ctx.config)
        self.log: logging.Logger = ctx.log
        # The radio itself, as a device: its network's states, and unavailable while the radio is away.
        self.stack_url: DeviceURL = ctx.device_url(STACK_ADDRESS)
        self.radio = Radio(ctx, self.settings, self.stack_url, self._radio_up)
        self.devices = Devices(ctx, self.settings, self.radio)
        self.procedures = NetworkProcedures(ctx, self.settings, self.radio, self.devices, self.stack_url)
        self.backups = NetworkBackups(ctx, self.radio)

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        parse_settings(dict(config))

    @property
    def app(self) -> ControllerApplication | None:
        """zigpy's application while the radio is connected (the Zigbee bench drives it straight)."""
        return self.radio.app

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        await self.ctx.add_device(
            DeviceSpec(
                address=STACK_ADDRESS,
                controllable_name=STACK_CONTROLLABLE,
                label="Zigbee stack",
                states={"zigbee:PermitJoinState": False},
            )
        )
        await self.radio.start()
        self.ctx.create_task(self.devices.watch_availability(), "availability")

    async def stop(self) -> None:
        self.procedures.stop()
        await self.radio.stop()

    async def _radio_up(self, app: ControllerApplication) -> None:
        """The radio (again) connected: zigpy's devices adopted, the network shown, a backup taken."""
        app.add_listener(self.devices)
        await self.devices.adopt_known(app)
        self.ctx.set_available(self.stack_url, True)
        info = app.state.network_info
        self.ctx.report_states(
            self.stack_url,
            {
                "zigbee:ChannelState": int(info.channel),
                "zigbee:PanIdState": int(info.pan_id),
                "zigbee:ExtendedPanIdState": str(info.extended_pan_id),
                "zigbee:PermitJoinState": False,
            },
        )
        self.ctx.create_task(self.backups.keep(), "backup")

    # ------------------------------------------------------------------ network backups

    async def backup(self) -> JsonObject:
        """The network in zigpy's backup format (keys, devices, coordinator state). Secret: never log it."""
        return await self.backups.backup()

    async def restore(self, data: Mapping[str, JsonValue]) -> None:
        """Write a backup (ours or another zigpy's) onto the coordinator in use (see NetworkBackups.restore)."""
        await self.backups.restore(data)

    def check_commissioning_code(self, code: str, commissioning_id: str | None) -> None:
        install_codes.parse(code, commissioning_id)

    # ------------------------------------------------------------------ commands

    async def read_back(self, url: DeviceURL) -> bool:
        """The device's attributes read again, as refreshState does (raises CommandFailed if it does not answer)."""
        await self.execute(CommandCall(device_url=url, name="refreshState", parameters=[], exec_id="read-back", rank=0))
        return True

    async def execute(self, call: CommandCall) -> None:
        url = str(call.device_url)
        if url == str(self.stack_url):
            await self.procedures.run(call)
            return
        self.radio.require()
        entry = self.devices.by_url.get(url)
        if entry is None:
            raise CommandFailed(FailureType.ACTUATORUNKNOWN, f"{url} is not a known Zigbee device")
        node, function = entry
        device = self.devices.device(node.ieee)
        if call.name == "refreshState":
            await self.devices.refresh(node, {url})
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
                    cluster = cluster_of(device, endpoint, step.cluster)
                    if cluster is None:
                        raise CommandFailed(
                            FailureType.CMDUNKNOWN, f"endpoint {endpoint} has no cluster 0x{step.cluster:04x}"
                        )
                    result = await step.send(cluster)
                    check_answer(result, step.label)
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
            if not self.radio.up:
                raise CommandFailed(FailureType.SERIAL_IO_ERROR, "the Zigbee radio was lost") from None
            raise CommandFailed(FailureType.DEVICE_NO_ANSWER, f"{device.ieee} unreachable: {exc}") from None
        except (ConnectionError, OSError, zigpy.exceptions.ZigbeeException) as exc:
            failure = FailureType.SERIAL_IO_ERROR if not self.radio.up else FailureType.ERROR_WHILE_EXECUTING
            raise CommandFailed(failure, f"{type(exc).__name__}: {exc}") from None
        call.in_progress(0)

    async def set_state(self, url: DeviceURL, name: str, value: JsonValue) -> bool:
        return False
