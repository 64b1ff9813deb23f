"""BleDriver: BLE sensors heard through BlueZ (bleak), one Hearth device per Bluetooth address.

The scanner listens to advertisements all the time; those in a format we read (formats/) become states of
the device of their address. A device is created on its first advertisement only if the user allowed it:
``auto_add``, the ``allow`` list, ``addDevice`` on the stack, or a ``startScan`` window. What the driver knows
of its devices is on disk (DriverStorage) before the device is declared, so a restart finds them all.

A sensor is available while it is heard; one silent for ``unavailable_after_s`` is unavailable until its next
advertisement. When the adapter leaves (unplugged, powered off, bluetoothd gone) every BLE device is
unavailable, and scanning resumes by itself when the adapter is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from hearth.sdk import (
    CommandCall,
    CommandFailed,
    DeviceSpec,
    DeviceURL,
    Driver,
    DriverContext,
    FailureType,
    HasStackDevice,
    LinkLog,
    SupervisedLink,
    cancel_and_wait,
    reconnect_backoff,
)
from hearth_ble.adapter import AdapterWatch
from hearth_ble.formats import (
    ATC_SERVICE_UUID,
    BTHOME_SERVICE_UUID,
    MIBEACON_SERVICE_UUID,
    Reading,
    decode_advertisement,
)
from hearth_ble.link import CharacteristicLink
from hearth_ble.mapping import NUMERIC_STATES, RSSI_STATE, controllable_for, to_states
from hearth_ble.settings import BleSettings, LinkSettings, normal_mac, parse_settings

if TYPE_CHECKING:
    from bleak import BleakScanner
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

__all__ = ["BleDriver"]

STACK_ADDRESS = "stack"
STACK_CONTROLLABLE = "ble:StackComponent"
SCANNING_STATE = "ble:ScanningState"
# While the adapter stays away, its warning is repeated this often (seconds), not at every retry.
WARN_AGAIN_S = 60.0
STATUS_STATE = "core:StatusState"
# DriverStorage: "device.<address>" -> {"address", "controllable", "label"}; "allow" and "ignored" -> [address].
_DEVICE_PREFIX = "device."
_ALLOW_KEY = "allow"
_IGNORED_KEY = "ignored"
_LABEL_MAX = 64


@dataclass(slots=True)
class Sensor:
    url: DeviceURL
    address: str
    # The states its controllable declares: nothing else is reported.
    states: frozenset[str]
    # time.monotonic() of the last advertisement (or of the start, for a device known from before).
    heard: float
    packet_id: int | None = None
    rssi: int | None = None


def _label(name: str | None, address: str) -> str:
    """The advertised name, if it is printable text (it comes from the air), else one made from the address."""
    text = "".join(ch for ch in (name or "") if ch.isprintable()).strip()[:_LABEL_MAX]
    return text or f"BLE sensor {address[-8:]}"


class BleDriver(Driver, HasStackDevice):
    # The vendor's protocol list (pyoverkiz's Protocol) has no Bluetooth: "ble" is ours, read as "unknown" there.
    protocol: ClassVar[str] = "ble"
    max_concurrency: ClassVar[int] = 8
    command_timeout_s: ClassVar[float] = 30.0

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__(ctx)
        self.settings: BleSettings = parse_settings(ctx.config)
        self.log: logging.Logger = ctx.log
        self.stack_url: DeviceURL = ctx.device_url(STACK_ADDRESS)
        self.sensors: dict[str, Sensor] = {}
        # Allowed by the configuration (allow, link) and by addDevice (kept in storage).
        self._configured = frozenset(self.settings.allow) | {link.address for link in self.settings.link}
        self._added: set[str] = set()
        self._ignored: set[str] = set()
        self._adding: set[str] = set()
        # The linked devices the scanner has seen since the adapter came up (for BleakClient), and who waits for
        # one. Only these: the air is full of addresses (phones rotate theirs) that must not pile up here.
        self._seen: dict[str, BLEDevice] = {}
        self._waiting: dict[str, asyncio.Event] = {}
        self._window: asyncio.TimerHandle | None = None
        self._links: dict[str, CharacteristicLink] = {}
        self._link_tasks: list[asyncio.Task[None]] = []
        self._silence_task: asyncio.Task[None] | None = None
        # The adapter while it is there: its watch on the system bus, and the scanner on it.
        self._watch: AdapterWatch | None = None
        self._scanner_on: BleakScanner | None = None
        s = self.settings
        self.link = SupervisedLink(
            self._open_adapter,
            self._close_adapter,
            reconnect_backoff(s.reconnect_min_s, s.reconnect_max_s),
            owner=ctx,
            says=LinkLog(
                # No system bus, no bluetoothd, no adapter, adapter busy: all "not now". Said at the first
                # failure, then at every tenth if the last was said WARN_AGAIN_S ago; a loss says itself, once.
                retry_failed="Bluetooth adapter %(adapter)s not usable (%(error)s); retrying in %(delay).1f s",
                lost="Bluetooth adapter %(adapter)s is gone; BLE devices are unavailable until it is back",
                repeat_after_s=WARN_AGAIN_S,
                loss_is_first_failure=True,
                fields={"adapter": s.adapter},
            ),
            unavailable=(FailureType.SERIAL_IO_ERROR, f"the Bluetooth adapter {s.adapter} is not usable"),
            stack=self.stack_url,
            watch=self._adapter_gone,
            on_up=self._set_up,
            on_down=self._down,
            retry_at_once_after_loss=True,
        )

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        parse_settings(dict(config))

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        await self.ctx.add_device(
            DeviceSpec(address=STACK_ADDRESS, controllable_name=STACK_CONTROLLABLE, label="Bluetooth LE")
        )
        self.ctx.set_available(self.stack_url, False)
        self.ctx.report_states(self.stack_url, {SCANNING_STATE: False})
        self._added = set(await self.ctx.storage.get(_ALLOW_KEY) or [])
        self._ignored = set(await self.ctx.storage.get(_IGNORED_KEY) or [])
        for key in await self.ctx.storage.keys():
            if key.startswith(_DEVICE_PREFIX):
                info = await self.ctx.storage.get(key)
                if isinstance(info, dict):
                    await self._declare(info)
        for link in self.settings.link:
            if link.address not in self.sensors:
                await self._create(link.address, controllable_for([link.state]), _label(link.label, link.address))
        await self.link.start(in_background=True)  # a D-Bus that does not answer must not hold the start
        self._silence_task = self.ctx.create_task(self._watch_silence(), "silence")

    async def stop(self) -> None:
        self._close_window()
        await self.link.stop()
        for task in (self._silence_task, *self._link_tasks):
            await cancel_and_wait(task)

    # ------------------------------------------------------------------ the adapter and the scanner

    async def _open_adapter(self) -> None:
        """The adapter there and powered (watched from now on), and the scanner started on it."""
        s = self.settings
        self._watch = watch = AdapterWatch(s.adapter)
        await watch.open()
        scanner = self._scanner()
        await scanner.start()
        self._scanner_on = scanner
        self.log.info("BLE scanning on %s", s.adapter)

    async def _adapter_gone(self) -> None:
        assert self._watch is not None
        await self._watch.gone()

    async def _close_adapter(self) -> None:
        watch, scanner = self._watch, self._scanner_on
        self._watch = self._scanner_on = None
        if watch is not None:
            watch.close()
        if scanner is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await scanner.stop()  # the adapter may be gone already: nothing to stop then

    def _scanner(self) -> BleakScanner:
        from bleak import BleakScanner

        s = self.settings
        if s.scanning_mode == "active":
            return BleakScanner(self._on_advertisement, adapter=s.adapter)
        from bleak.args.bluez import OrPattern
        from bleak.assigned_numbers import AdvertisementDataType

        # Service data AD structures whose 16-bit UUID (little-endian, first in the data) is one we read.
        # Typed as bleak's BlueZScannerArgs takes it (a list, invariant, of patterns or plain tuples).
        patterns: list[OrPattern | tuple[int, AdvertisementDataType, bytes]] = [
            OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, bytes.fromhex(uuid[6:8] + uuid[4:6]))
            for uuid in (BTHOME_SERVICE_UUID, ATC_SERVICE_UUID, MIBEACON_SERVICE_UUID)
        ]
        return BleakScanner(
            self._on_advertisement, adapter=s.adapter, scanning_mode="passive", bluez={"or_patterns": patterns}
        )

    def _set_up(self) -> None:
        """The adapter is there (the link made the stack available): scanning shown, active links started."""
        self._report_scanning()
        for spec in self.settings.link:
            link = CharacteristicLink(
                spec, self.settings, self._ble_device, functools.partial(self._on_link_value, spec), self.ctx
            )
            self._links[spec.address] = link
            self._link_tasks.append(self.ctx.create_task(link.run(), f"link {spec.address}"))

    def _down(self) -> None:
        """No adapter (gone, or not there yet): nothing can be heard, so nothing is available."""
        for task in self._link_tasks:
            task.cancel()
        self._link_tasks.clear()
        self._links.clear()
        self._seen.clear()
        self._report_scanning()
        for sensor in self.sensors.values():
            self.ctx.set_available(sensor.url, False)

    async def _watch_silence(self) -> None:
        """A sensor not heard for ``unavailable_after_s`` is unavailable (its next advertisement undoes it)."""
        limit = self.settings.unavailable_after_s
        while True:
            await asyncio.sleep(max(0.05, min(limit / 4, 30.0)))
            now = time.monotonic()
            for sensor in self.sensors.values():
                link = self._links.get(sensor.address)
                if link is not None and link.connected:
                    sensor.heard = now  # a connected device often stops advertising; the link says it is there
                elif now - sensor.heard > limit:
                    self.ctx.set_available(sensor.url, False)

    # ------------------------------------------------------------------ advertisements

    def _on_advertisement(self, device: BLEDevice, adv: AdvertisementData) -> None:
        """bleak's callback: whatever came from the air, nothing escapes from here."""
        try:
            self._heard(device, adv)
        except Exception:
            self.log.debug("BLE advertisement from %s dropped", getattr(device, "address", "?"), exc_info=True)

    def _heard(self, device: BLEDevice, adv: AdvertisementData) -> None:
        address = device.address.upper()
        if address in self._links:
            self._seen[address] = device
            waiter = self._waiting.pop(address, None)
            if waiter is not None:
                waiter.set()
        reading = decode_advertisement(adv.service_data)
        sensor = self.sensors.get(address)
        if sensor is None:
            if reading is not None and self._may_add(address):
                self._adding.add(address)
                self.ctx.create_task(
                    self._add(address, adv.local_name or device.name, reading, adv.rssi), f"add {address}"
                )
            return
        self._apply(sensor, reading, adv.rssi)

    def _apply(self, sensor: Sensor, reading: Reading | None, rssi: int | None) -> None:
        sensor.heard = time.monotonic()
        self.ctx.set_available(sensor.url, True)
        # A new device is available without ever having said so: its status state is set by its first report.
        values: dict[str, Any] = {STATUS_STATE: "available"}
        # The same packet id again is the same packet (sensors repeat each one several times): dropped.
        if reading is not None and (reading.packet_id is None or reading.packet_id != sensor.packet_id):
            sensor.packet_id = reading.packet_id
            values.update(to_states(reading.values))
        if rssi is not None and (sensor.rssi is None or abs(rssi - sensor.rssi) >= self.settings.rssi_step_db):
            sensor.rssi = rssi
            values[RSSI_STATE] = rssi
        values = {name: value for name, value in values.items() if name in sensor.states}
        if values:
            self.ctx.report_states(sensor.url, values)

    def _may_add(self, address: str) -> bool:
        if address in self._adding or address in self._ignored:
            return False
        if len(self.sensors) + len(self._adding) >= self.settings.max_devices:
            return False
        return (
            self.settings.auto_add or address in self._configured or address in self._added or self._window is not None
        )

    async def _add(self, address: str, name: str | None, reading: Reading, rssi: int | None) -> None:
        try:
            controllable = controllable_for(to_states(reading.values))
            sensor = await self._create(address, controllable, _label(name, address))
            self.log.info("BLE sensor %s added as %s (%s)", address, controllable, reading.format)
            self._apply(sensor, reading, rssi)
        finally:
            self._adding.discard(address)

    async def _create(self, address: str, controllable: str, label: str) -> Sensor:
        info = {"address": address, "controllable": controllable, "label": label}
        # On disk before it is declared: a crash in between leaves a device that is declared at the next start.
        await self.ctx.storage.put(_DEVICE_PREFIX + address, info)
        return await self._declare(info)

    async def _declare(self, info: Mapping[str, Any]) -> Sensor:
        address = str(info["address"])
        controllable = str(info["controllable"])
        url = await self.ctx.add_device(
            DeviceSpec(
                address=address,
                controllable_name=controllable,
                label=str(info["label"]),
                attributes={"ble:Address": address},
            )
        )
        definition = self.ctx.controllable(controllable)
        states = frozenset(definition.states) if definition is not None else frozenset()
        sensor = self.sensors[address] = Sensor(url, address, states, time.monotonic())
        return sensor

    # ------------------------------------------------------------------ active links

    async def _ble_device(self, address: str) -> BLEDevice:
        """The scanner's BLEDevice for this address, once it has been heard."""
        while address not in self._seen:
            await self._waiting.setdefault(address, asyncio.Event()).wait()
        return self._seen[address]

    def _on_link_value(self, spec: LinkSettings, value: float) -> None:
        sensor = self.sensors.get(spec.address)
        if sensor is None or spec.state not in sensor.states:
            return
        sensor.heard = time.monotonic()
        self.ctx.set_available(sensor.url, True)
        self.ctx.report_states(sensor.url, {spec.state: NUMERIC_STATES[spec.state](value)})

    # ------------------------------------------------------------------ commands and removal

    async def execute(self, call: CommandCall) -> None:
        if call.device_url != self.stack_url:
            raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name}: a BLE sensor takes no command")
        p = call.parameters
        if call.name == "startScan":
            self._open_window(int(p[0]))
        elif call.name == "stopScan":
            self._close_window()
        elif call.name == "addDevice":
            if len(p) > 1 and p[1]:
                # The key is never echoed: it is a secret even when we cannot use it.
                raise CommandFailed(FailureType.BAD_PARAM, "encrypted BLE advertisements (bind keys) are not supported")
            address = self._address_param(p[0])
            self._added.add(address)
            self._ignored.discard(address)
            await self._save_lists()
        elif call.name == "removeDevice":
            sensor = self.sensors.get(self._address_param(p[0]))
            if sensor is None:
                raise CommandFailed(FailureType.BAD_ADDRESS, f"{p[0]} is not a BLE device of this gateway")
            await self.delete_device(sensor.url)
            await self.ctx.remove_device(sensor.url)
        else:
            raise CommandFailed(FailureType.CMDUNKNOWN, f"{call.name} is not a BLE stack command")

    @staticmethod
    def _address_param(text: Any) -> str:
        try:
            return normal_mac(str(text))
        except ValueError as exc:
            raise CommandFailed(FailureType.BAD_PARAM, str(exc)) from None

    def _open_window(self, seconds: int) -> None:
        """For a while, every sensor heard is added (a pairing window, as a Zigbee network opens to joins)."""
        self._close_window()
        self._window = asyncio.get_running_loop().call_later(seconds, self._close_window)
        self._report_scanning()

    def _close_window(self) -> None:
        if self._window is not None:
            self._window.cancel()
            self._window = None
        self._report_scanning()

    def _report_scanning(self) -> None:
        # ble:ScanningState: new sensors are being looked for (auto_add, or a startScan window) on a working adapter.
        looking = self.link.up and (self.settings.auto_add or self._window is not None)
        self.ctx.report_states(self.stack_url, {SCANNING_STATE: looking})

    async def delete_device(self, url: DeviceURL) -> None:
        """Forget the sensor, and ignore its advertisements from now on (until addDevice names it again)."""
        if url == self.stack_url:
            raise CommandFailed(FailureType.BAD_PARAM, "the BLE stack device cannot be deleted")
        sensor = self.sensors.pop(url.address, None)
        if sensor is None:
            return
        self._ignored.add(sensor.address)
        self._added.discard(sensor.address)
        await self._save_lists()
        await self.ctx.storage.delete(_DEVICE_PREFIX + sensor.address)

    async def _save_lists(self) -> None:
        await self.ctx.storage.put(_ALLOW_KEY, sorted(self._added))
        await self.ctx.storage.put(_IGNORED_KEY, sorted(self._ignored))
