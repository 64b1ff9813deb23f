"""The radio's life: the network it forms (made once, kept before use), zigpy's ControllerApplication on it,
losing it and reconnecting with backoff, restarting it on what the coordinator holds.

The gateway starts without its radio if it is not there; the radio joins in when it comes. While it is away,
the stack device is unavailable and commands fail with SERIAL_IO_ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import zigpy.config as zconf
import zigpy.exceptions
import zigpy.types as zt
from zigpy.application import ControllerApplication

from hearth.sdk import (
    DeviceURL,
    DriverContext,
    FailureType,
    LinkLog,
    SupervisedLink,
    describe_error,
    reconnect_backoff,
)
from hearth_zigbee.settings import ZigbeeSettings

# Storage keys. The network key is a secret: it lives here and in zigpy's database only.
KEY_NETWORK = "network"
KEY_FORMED = "formed"


def radio_class(radio: str) -> type[ControllerApplication]:
    """zigpy's application for the radio's kind (imported only when used)."""
    if radio == "znp":
        from zigpy_znp.zigbee.application import ControllerApplication as Znp

        return Znp
    if radio == "ezsp":
        from bellows.zigbee.application import ControllerApplication as Ezsp

        return Ezsp
    from zigpy_deconz.zigbee.application import ControllerApplication as Deconz

    return Deconz


def random_pan_id() -> int:
    return 0x1A62 + secrets.randbelow(0xE000)


def random_extended_pan_id() -> str:
    return ":".join(f"{b:02x}" for b in secrets.token_bytes(8))


class Radio:
    """zigpy's ControllerApplication on our radio, from connection to shutdown, across losses.

    ``on_connected`` runs each time the radio is (again) up, with zigpy's application: the driver adopts the
    devices zigpy knows and shows the network on the stack device.
    """

    def __init__(
        self,
        ctx: DriverContext,
        settings: ZigbeeSettings,
        stack_url: DeviceURL,
        on_connected: Callable[[ControllerApplication], Awaitable[None]],
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.log: logging.Logger = ctx.log
        self.stack_url = stack_url
        self._on_connected = on_connected
        self.app: ControllerApplication | None = None
        self.formed_at_start: bool | None = None
        s = settings
        self.link = SupervisedLink(
            self.connect,
            self._shutdown,
            reconnect_backoff(s.reconnect_min_s, s.reconnect_max_s),
            owner=ctx,
            says=LinkLog(
                start_failed="zigbee radio on %(port)s not usable (%(error)s); retrying in the background",
                retry_failed=(
                    "zigbee radio still unreachable (attempt %(attempt)d: %(error)s); next try in %(delay).1f s"
                ),
                back="zigbee radio back after %(attempt)d attempt(s)",
                lost="zigbee radio lost (%(reason)s); commands fail until it is back",
                retry_level=logging.INFO,
                repeat_every=1,
                fields={"port": s.port},
            ),
            unavailable=(FailureType.SERIAL_IO_ERROR, f"the Zigbee radio ({s.port}) is not connected"),
            stack=stack_url,
        )

    @property
    def up(self) -> bool:
        return self.link.up

    def require(self) -> ControllerApplication:
        """The application of a connected radio; SERIAL_IO_ERROR if it is not."""
        return self.link.require(self.app)

    async def start(self) -> None:
        data_dir = self.ctx.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(data_dir, 0o700)  # zigpy's database holds the network key
        await self.link.start()

    async def stop(self) -> None:
        await self.link.stop()

    async def _shutdown(self) -> None:
        """zigpy's application shut down (after a failed attempt, a loss, or at stop), no more its listener."""
        app, self.app = self.app, None
        if app is None:
            return
        app.remove_listener(self)  # a closing port's late connection_lost is not a loss of the next one
        try:
            # A lost radio may never answer its shutdown; at stop, zigpy is given the time it takes.
            async with asyncio.timeout(None if self.link.stopping else 10):
                await app.shutdown()
        except Exception as exc:
            if self.link.stopping:
                self.log.warning("zigbee radio did not shut down cleanly: %s", describe_error(exc))

    # ------------------------------------------------------------------ the network

    async def network(self) -> dict[str, Any]:
        """The network we form: settings plus a key made once, kept in crash-safe storage before any use."""
        network = await self.ctx.storage.get(KEY_NETWORK)
        if not isinstance(network, dict) or "key" not in network:
            s = self.settings
            network = {
                "key": secrets.token_hex(16),
                "channel": s.channel,
                "pan_id": s.pan_id if s.pan_id is not None else random_pan_id(),
                "extended_pan_id": s.extended_pan_id or random_extended_pan_id(),
            }
            await self.keep_network(network)
        return network

    async def keep_network(self, network: Mapping[str, Any]) -> None:
        """The network we would form again (key, channel, PAN ids), written before the radio is told."""
        await self.ctx.storage.put(KEY_NETWORK, dict(network))

    async def count_formed(self) -> None:
        """One more network formed (on a blank coordinator, or asked for)."""
        await self.ctx.storage.put(KEY_FORMED, int(await self.ctx.storage.get(KEY_FORMED) or 0) + 1)

    def config(self, network: Mapping[str, Any]) -> dict[str, Any]:
        """zigpy's configuration: our port, database and network."""
        s = self.settings
        device: dict[str, Any] = {zconf.CONF_DEVICE_PATH: s.port, zconf.CONF_DEVICE_BAUDRATE: s.baudrate}
        if s.flow_control is not None:
            device[zconf.CONF_DEVICE_FLOW_CONTROL] = s.flow_control
        return {
            zconf.CONF_DEVICE: device,
            zconf.CONF_DATABASE: str(self.ctx.data_dir / "zigbee.db"),
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

    async def form(self, app: ControllerApplication, channel: int | None, pan_id: int | None) -> None:
        """Form a new network on the coordinator: new key, new extended PAN id, kept before it is formed."""
        key = secrets.token_hex(16)
        channel = channel or self.settings.channel
        pan_id = pan_id if pan_id is not None else random_pan_id()
        extended_pan_id = random_extended_pan_id()
        await self.keep_network({"key": key, "channel": channel, "pan_id": pan_id, "extended_pan_id": extended_pan_id})
        nwk = app.config[zconf.CONF_NWK]
        nwk[zconf.CONF_NWK_CHANNEL] = channel
        nwk[zconf.CONF_NWK_PAN_ID] = zt.PanId(pan_id)  # type: ignore[no-untyped-call]  # zigpy: untyped __new__
        nwk[zconf.CONF_NWK_EXTENDED_PAN_ID] = zt.ExtendedPanId.convert(extended_pan_id)
        nwk[zconf.CONF_NWK_KEY] = zt.KeyData(bytes.fromhex(key))
        await app.form_network()

    # ------------------------------------------------------------------ connecting

    async def connect(self) -> None:
        network = await self.network()
        cls = radio_class(self.settings.radio)
        app = await cls.new(self.config(network), auto_form=False, start_radio=False)
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
        # Ours from here: a failure below is released by _shutdown, as after a loss.
        self.app = app
        if self.formed_at_start is None:
            self.formed_at_start = formed
        if formed:
            await self.count_formed()
        info = app.state.network_info
        self.log.info(
            "zigbee network %s on channel %s (pan 0x%04x), coordinator %s",
            "formed" if formed else "restored",
            info.channel,
            info.pan_id,
            app.state.node_info.ieee,
        )
        app.add_listener(self)
        await self._on_connected(app)

    def is_coordinator(self, device: Any) -> bool:
        return bool(self.app is not None and device.nwk == 0x0000) or (
            self.app is not None and device.ieee == self.app.state.node_info.ieee
        )

    def connection_lost(self, exc: Exception | None) -> None:
        """zigpy: the serial port closed or the radio stopped answering its watchdog."""
        self.link.lost(describe_error(exc))

    async def restart(self, app: ControllerApplication) -> None:
        """Start again on what the coordinator now holds, as after a power cycle (``app``: the one in use)."""
        await self.link.reconnect()
