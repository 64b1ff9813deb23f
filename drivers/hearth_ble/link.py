"""An active link: one configured device kept connected, one characteristic read and followed into one state.

The device is connected through the ``BLEDevice`` the scanner found (bleak then needs no scan of its own). A
lost link is retried with a back-off; a device out of range simply waits for its next advertisement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bleak import BleakClient
from bleak.backends.device import BLEDevice

from hearth.sdk import FailureType, LinkLog, LinkOwner, SupervisedLink, reconnect_backoff
from hearth_ble.formats.characteristic import decode_characteristic
from hearth_ble.settings import BleSettings, LinkSettings


class CharacteristicLink:
    def __init__(
        self,
        spec: LinkSettings,
        settings: BleSettings,
        find: Callable[[str], Awaitable[BLEDevice]],
        report: Callable[[float], None],
        owner: LinkOwner,
    ) -> None:
        self.spec = spec
        self._settings = settings
        self._find = find
        self._report = report
        self._log: logging.Logger = owner.log
        self._client: BleakClient | None = None
        self._lost = asyncio.Event()
        self.link = SupervisedLink(
            self._connect,
            self._disconnect,
            reconnect_backoff(settings.reconnect_min_s, settings.reconnect_max_s),
            owner=owner,
            says=LinkLog(
                # bleak's errors, D-Bus errors, timeouts: all mean "not now".
                retry_failed="BLE %(address)s: cannot connect (%(error)s); retrying with back-off",
                lost="BLE %(address)s: link lost; reconnecting",
                fields={"address": spec.address},
            ),
            unavailable=(FailureType.DEVICE_NO_ANSWER, f"BLE {spec.address} is not connected"),
            watch=self._gone,
            name=f"link {spec.address} retries",
        )

    @property
    def connected(self) -> bool:
        return self.link.up

    async def run(self) -> None:
        """Connect, read, follow; on loss, wait and connect again. Ends only when cancelled."""
        await self.link.start(in_background=True)  # the device may not have been heard yet: no waiting here
        try:
            await asyncio.Future()  # until cancelled (the adapter gone, the driver stopping)
        finally:
            await self.link.stop()

    async def _connect(self) -> None:
        s, spec = self._settings, self.spec
        device = await self._find(spec.address)
        lost = self._lost = asyncio.Event()
        self._client = client = BleakClient(device, disconnected_callback=_setting(lost), timeout=s.connect_timeout_s)
        await client.connect()
        self._log.info("BLE %s connected", spec.address)
        if spec.read:
            self._take(bytes(await client.read_gatt_char(spec.characteristic)))
        if spec.notify:
            await client.start_notify(spec.characteristic, self._on_notify)

    async def _gone(self) -> None:
        await self._lost.wait()  # this connection's own event (each connection has a new one)

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()

    def _on_notify(self, _characteristic: Any, data: bytearray) -> None:
        self._take(bytes(data))

    def _take(self, data: bytes) -> None:
        value = decode_characteristic(data, self.spec.layout, self.spec.factor)
        if value is None:
            # The device's bytes are its own business: a wrong size is dropped, never raised.
            self._log.debug("BLE %s: %d bytes do not fit %s; dropped", self.spec.address, len(data), self.spec.layout)
            return
        self._report(value)


def _setting(event: asyncio.Event) -> Callable[[BleakClient], None]:
    """A disconnect callback that sets this connection's own event (not the next one's)."""
    return lambda _client: event.set()
