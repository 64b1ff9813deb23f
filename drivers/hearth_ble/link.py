"""An active link: one configured device kept connected, one characteristic read and followed into one state.

The device is connected through the ``BLEDevice`` the scanner found (bleak then needs no scan of its own). A
lost link is retried with a back-off; a device out of range simply waits for its next advertisement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bleak import BleakClient
from bleak.backends.device import BLEDevice

from hearth.sdk import Backoff
from hearth_ble.formats.characteristic import decode_characteristic
from hearth_ble.settings import BleSettings, LinkSettings


class CharacteristicLink:
    def __init__(
        self,
        spec: LinkSettings,
        settings: BleSettings,
        find: Callable[[str], Awaitable[BLEDevice]],
        report: Callable[[float], None],
        log: logging.Logger,
    ) -> None:
        self.spec = spec
        self._settings = settings
        self._find = find
        self._report = report
        self._log = log
        self.connected = False

    async def run(self) -> None:
        """Connect, read, follow; on loss, wait and connect again. Ends only when cancelled."""
        s, spec = self._settings, self.spec
        backoff = Backoff(s.reconnect_min_s, max(s.reconnect_min_s, s.reconnect_max_s))
        failures = 0
        while True:
            device = await self._find(spec.address)
            lost = asyncio.Event()
            try:
                async with BleakClient(
                    device, disconnected_callback=_setting(lost), timeout=s.connect_timeout_s
                ) as client:
                    self.connected = True
                    failures = 0
                    backoff.reset()
                    self._log.info("BLE %s connected", spec.address)
                    if spec.read:
                        self._take(bytes(await client.read_gatt_char(spec.characteristic)))
                    if spec.notify:
                        await client.start_notify(spec.characteristic, self._on_notify)
                    await lost.wait()
                self._log.warning("BLE %s: link lost; reconnecting", spec.address)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # bleak's errors, D-Bus errors, timeouts: all mean "not now"
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    self._log.warning(
                        "BLE %s: cannot connect (%s: %s); retrying with back-off", spec.address, type(exc).__name__, exc
                    )
            finally:
                self.connected = False
            await asyncio.sleep(backoff.next_delay())

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
