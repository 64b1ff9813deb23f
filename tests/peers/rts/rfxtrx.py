"""An RFXtrx433E (RFXCOM) as far as Somfy RTS (RFY) goes: binary length-prefixed packets over a socat pty pair.

Interface control (type 0x00, cmnd at byte 4): 0x00 reset -> no answer (and input is dropped for ``reset_quiet_s``),
0x02 get status / 0x03 set mode / 0x06 save -> a 0x14-long status (type 0x01 subtype 0x00, seq echoed),
0x07 start receiver -> ``14 01 07 <seq> 07 "Copyright RFXCOM"``, anything else -> ``0D 01 FF <seq> ...``.
RFY (type 0x1A): recorded, ACKed ``04 02 01 <seq> 00`` after the air time; the stick keeps the rolling code per
(id, unit) and the frame it would send is recorded too. Any other packet type gets ``04 02 01 <seq> 02`` (NAK).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from RFXtrx import lowlevel

from tests.peers.pty import PtyLink
from tests.peers.rts import rts_frame
from tests.peers.rts.rts_frame import RtsMotor

LOGGER = logging.getLogger(__name__)

RFY = 0x1A
RFY_SUBTYPES = {0x00: "RFY", 0x01: "RFY ext", 0x02: "reserved", 0x03: "ASA"}
# RFY command byte -> (RTS command nibble, long press). Unknown mappings are this emulator's choice.
RFY_TO_RTS = {
    0x00: (rts_frame.MY, False),  # stop
    0x01: (rts_frame.UP, False),
    0x02: (rts_frame.MY_UP, False),  # up + stop
    0x03: (rts_frame.DOWN, False),
    0x04: (rts_frame.MY_DOWN, False),  # down + stop
    0x05: (rts_frame.UP_DOWN, False),
    0x07: (rts_frame.PROG, False),  # program
    0x08: (rts_frame.PROG, True),  # program > 2 s
    0x09: (rts_frame.PROG, True),  # program > 7 s
    0x0A: (rts_frame.MY, True),  # stop > 2 s
    0x0B: (rts_frame.MY, True),  # stop > 5 s
    0x0C: (rts_frame.UP_DOWN, True),  # up + down > 5 s
    0x0F: (rts_frame.UP, False),  # up < 0.5 s (venetian)
    0x10: (rts_frame.DOWN, False),  # down < 0.5 s
    0x11: (rts_frame.UP, True),  # up > 2 s
    0x12: (rts_frame.DOWN, True),  # down > 2 s
    0x13: (rts_frame.SUN_FLAG, False),  # enable sun + wind detector
    0x14: (rts_frame.FLAG, False),  # disable sun detector
}
COPYRIGHT = b"Copyright RFXCOM"
ACK, ACK_DELAYED, NAK, NAK_INVALID_ADDRESS = 0x00, 0x01, 0x02, 0x03

# A published Pro1 firmware 1044 RFXtrx433 status (openHAB RFXComInterfaceMessageTest):
# 14 01 00 01 02 53 2C 04 00 07 00 01 03 00 05 5D 00 00 00 00 00
DEFAULT_STATUS_BODY = bytes.fromhex("532C04000700010300055D0000000000")


@dataclass
class RfyRecord:
    raw: bytes  # the packet as received, length byte included
    packet: Any  # lowlevel.parse(raw): an RFXtrx.lowlevel.Rfy
    received: float
    seq: int
    subtype: int
    id_combined: int
    unitcode: int
    cmnd: int
    air: bytes | None = None  # the obfuscated RTS frame the stick sent (None for commands it does not send)
    rolling_code: int | None = None
    address: int | None = None
    started: float | None = None
    ended: float | None = None
    response: int | None = None


class RfxtrxEmulator:
    """``await RfxtrxEmulator.start(tmp_path)``; the code under test opens ``emu.port_path`` at 38400 baud."""

    def __init__(
        self,
        directory: Path,
        name: str = "ttyRFX",
        *,
        ack_delay_s: float | None = None,
        repetitions: int = 4,
        time_scale: float = 1.0,
        status_body: bytes = DEFAULT_STATUS_BODY,
        reset_quiet_s: float = 0.05,
        motor_window: int = 100,
        auto_pair: bool = True,
        first_rolling_code: int = 1,
    ) -> None:
        self.ack_delay_s = ack_delay_s
        self.repetitions = repetitions
        self.time_scale = time_scale
        self.status_body = bytearray(status_body)
        self.reset_quiet_s = reset_quiet_s
        self.motor_window = motor_window
        self.auto_pair = auto_pair
        self.first_rolling_code = first_rolling_code
        self.packets: list[RfyRecord] = []  # RFY packets
        self.received: list[bytes] = []  # every packet received, raw
        self.sent: list[bytes] = []  # every packet sent, raw
        self.errors: list[str] = []
        self.receiver_started = False
        self.remotes: dict[tuple[int, int], tuple[int, int]] = {}  # (id, unit) -> (key counter, next rolling code)
        self.motors: dict[int, RtsMotor] = {}
        self._link = PtyLink(directory, name, self._on_data)
        self._buffer = bytearray()
        self._quiet_until = 0.0
        self._queue: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    @classmethod
    async def start(cls, directory: Path, name: str = "ttyRFX", **kwargs: object) -> RfxtrxEmulator:
        emu = cls(directory, name, **kwargs)  # type: ignore[arg-type]
        await emu._plug()
        return emu

    @property
    def port_path(self) -> str:
        return self._link.port_path

    @property
    def plugged(self) -> bool:
        return self._link.connected

    async def _plug(self) -> None:
        await self._link.open()
        self._worker = asyncio.get_running_loop().create_task(self._run())

    def unplug(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._link.close()
        self._buffer.clear()
        self._queue = asyncio.Queue()
        self.receiver_started = False

    async def replug(self) -> None:
        """Same path again; rolling codes survive (the real stick keeps them in its flash)."""
        if self.plugged:
            self.unplug()
        await self._plug()

    async def stop(self) -> None:
        worker = self._worker
        self.unplug()
        if worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def wait_packets(self, count: int, timeout: float = 10.0) -> list[RfyRecord]:
        """Until ``count`` RFY packets have been answered."""
        deadline = time.monotonic() + timeout
        while sum(1 for p in self.packets if p.response is not None) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.packets)} RFY packets, wanted {count}")
            await asyncio.sleep(0.01)
        return self.packets

    # -- what a test looks at --------------------------------------------------------------------------------

    @property
    def air_frames(self) -> list[bytes]:
        return [p.air for p in self.packets if p.air is not None and p.started is not None]

    def air_address(self, id_combined: int, unitcode: int) -> int:
        """The 24-bit RTS address the emulated stick uses for an RFY (id, unit): this emulator's choice (how the
        real firmware derives it is not published)."""
        return ((id_combined & 0xFFFFF) << 4 | (unitcode & 0x0F)) & 0xFFFFFF

    def motor(self, address: int) -> RtsMotor:
        if address not in self.motors:
            self.motors[address] = RtsMotor(address, None, self.motor_window)
        return self.motors[address]

    def set_rolling_code(self, id_combined: int, unitcode: int, rolling_code: int, key_counter: int = 0) -> None:
        self.remotes[(id_combined, unitcode)] = (key_counter & 0x0F, rolling_code & 0xFFFF)

    def rolling_code(self, id_combined: int, unitcode: int) -> int | None:
        """The next rolling code the stick will use for this remote (None before its first command)."""
        entry = self.remotes.get((id_combined, unitcode))
        return None if entry is None else entry[1]

    def transmission_time_s(self, long_press: bool = False) -> float:
        if self.ack_delay_s is not None:
            return self.ack_delay_s * self.time_scale
        reps = self.repetitions * (4 if long_press else 1)
        return rts_frame.transmission_time_s(reps) * self.time_scale

    # -- serial side -----------------------------------------------------------------------------------------

    def _send(self, packet: bytes) -> None:
        self.sent.append(packet)
        self._link.write(packet)

    def _on_data(self, data: bytes) -> None:
        now = time.monotonic()
        if now < self._quiet_until:
            return  # right after a reset the stick ignores its input
        self._buffer += data
        while self._buffer:
            if self._buffer[0] == 0:
                del self._buffer[0]
                continue
            size = self._buffer[0] + 1
            if len(self._buffer) < size:
                break
            packet = bytes(self._buffer[:size])
            del self._buffer[:size]
            self.received.append(packet)
            if len(packet) >= 5 and packet[1] == 0x00 and packet[4] == 0x00:
                self._reset()
                return
            self._queue.put_nowait((packet, now))

    def _reset(self) -> None:
        self.receiver_started = False
        self._buffer.clear()
        self._quiet_until = time.monotonic() + self.reset_quiet_s

    async def _run(self) -> None:
        while True:
            packet, received = await self._queue.get()
            try:
                await self._handle(packet, received)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                LOGGER.exception("RFXtrx emulator failed on %s", packet.hex())
                self.errors.append(f"{packet.hex()}: {exc}")

    def _status(self, seq: int, cmnd: int) -> bytes:
        return bytes([0x14, 0x01, 0x00, seq, cmnd]) + bytes(self.status_body)

    async def _handle(self, packet: bytes, received: float) -> None:
        ptype = packet[1] if len(packet) > 1 else -1
        seq = packet[3] if len(packet) > 3 else 0
        if ptype == 0x00 and len(packet) >= 14:
            cmnd = packet[4]
            if cmnd in (0x02, 0x06):
                self._send(self._status(seq, cmnd))
            elif cmnd == 0x03:
                self.status_body[0] = packet[5] or self.status_body[0]
                self.status_body[2:6] = packet[7:11]
                self._send(self._status(seq, cmnd))
            elif cmnd == 0x07:
                self.receiver_started = True
                self._send(bytes([0x14, 0x01, 0x07, seq, 0x07]) + COPYRIGHT)
            else:
                self._send(bytes([0x0D, 0x01, 0xFF, seq, cmnd]) + bytes(self.status_body[:9]))
        elif ptype == RFY and len(packet) >= 9:
            await self._rfy(packet, received)
        else:
            self.errors.append(f"unsupported packet {packet.hex()}")
            self._send(bytes([0x04, 0x02, 0x01, seq, NAK]))

    async def _rfy(self, packet: bytes, received: float) -> None:
        parsed = lowlevel.parse(bytearray(packet))
        record = RfyRecord(
            raw=packet,
            packet=parsed,
            received=received,
            seq=packet[3],
            subtype=packet[2],
            id_combined=packet[4] << 16 | packet[5] << 8 | packet[6],
            unitcode=packet[7],
            cmnd=packet[8],
        )
        self.packets.append(record)
        mapping = RFY_TO_RTS.get(record.cmnd)
        if record.subtype not in RFY_SUBTYPES or record.id_combined == 0 and record.cmnd != 0x06:
            record.response = NAK_INVALID_ADDRESS if record.id_combined == 0 else NAK
            self._send(bytes([0x04, 0x02, 0x01, record.seq, record.response]))
            return
        record.started = time.monotonic()
        if mapping is not None:
            command, long_press = mapping
            key_counter, code = self.remotes.get((record.id_combined, record.unitcode), (0, self.first_rolling_code))
            address = self.air_address(record.id_combined, record.unitcode)
            record.rolling_code, record.address = code, address
            record.air = rts_frame.encode(0xA0 | key_counter, command, code, address)
            self.remotes[(record.id_combined, record.unitcode)] = ((key_counter + 1) & 0x0F, (code + 1) & 0xFFFF)
            await asyncio.sleep(self.transmission_time_s(long_press))
            motor = self.motors.get(address)
            if motor is None and self.auto_pair:
                motor = self.motor(address)
            if motor is not None:
                motor.receive(rts_frame.decode(record.air), time.monotonic())
        record.ended = time.monotonic()
        record.response = ACK
        self._send(bytes([0x04, 0x02, 0x01, record.seq, ACK]))
