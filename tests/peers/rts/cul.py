"""A CUL / nanoCUL running culfw, as far as Somfy RTS goes: ASCII lines over a socat pty pair.

What it answers (culfw, a-culfw ``culfw/clib/somfy_rts.c`` and ``fncollection.c``):
  ``V``           -> ``V 1.67 CUL433``  (``"V " VERSION " " BOARD_ID_STR``)
  ``?`` / unknown -> ``? (<c> is unknown) Use one of ...``
  ``X``           -> ``21  900``  (tx-report mode and credit; ``X21``/``X00`` set the mode and answer nothing)
  ``T01``         -> FHT id (4 hex), ``t`` -> uptime (8 hex)
  ``Yr<dec>``     -> ``Yr:<n>``  (repetitions, default 6)
  ``Yt<dec>``     -> ``Yt:<n>`` right-aligned in 6 (symbol width in us, default 1240; ``Yt0`` resets)
  ``Ys<key:2><cmd:2><rc:4><addr:6>`` -> after the transmission: ``Ys`` + the 7 CLEAR bytes (with checksum) in hex
All answers end with CR LF. Lines are handled one at a time: while the radio sends, nothing else is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers.pty import PtyLink
from tests.peers.rts import rts_frame
from tests.peers.rts.rts_frame import RtsFrame, RtsMotor

LOGGER = logging.getLogger(__name__)

DEFAULT_VERSION = "V 1.67 CUL433"
DEFAULT_REPETITIONS = 6
COMMAND_LIST = "B C F G M K R T V W X Y e f l t u x"
_YS = re.compile(r"^Ys([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{4})([0-9A-Fa-f]{6})$")


@dataclass
class CulFrame:
    """One ``Ys`` line as the CUL understood it, and when it was on air."""

    line: str
    key: int
    command: int  # the 4-bit RTS command (the high nibble of the line's command byte)
    rolling_code: int
    address: int
    received: float  # time.monotonic() when the line arrived
    repetitions: int
    symbol_us: int
    air: bytes = b""  # the obfuscated 7 bytes culfw sends (``repetitions`` times)
    clear: bytes = b""
    started: float | None = None  # transmitter keyed up
    ended: float | None = None  # last frame's gap over; the ``Ys`` echo follows
    accepted_by_motor: bool | None = None

    @property
    def decoded(self) -> RtsFrame:
        return rts_frame.decode(self.air)


@dataclass
class CulState:
    repetitions: int = DEFAULT_REPETITIONS
    symbol_us: int = rts_frame.DEFAULT_SYMBOL_US
    tx_report: str = "00"
    fht_id: str = "0000"


@dataclass
class _Counters:
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class CulEmulator:
    """``await CulEmulator.start(tmp_path)``; the code under test opens ``emu.port_path`` (any baud; 38400 real).

    ``time_scale`` multiplies every simulated air time (0.1 makes a 6-repetition command take ~0.09 s);
    ``air_time_s``, when given, replaces the computed time of a whole ``Ys`` transmission.
    """

    def __init__(
        self,
        directory: Path,
        name: str = "ttyCUL",
        *,
        version: str = DEFAULT_VERSION,
        time_scale: float = 1.0,
        air_time_s: float | None = None,
        motor_window: int = 100,
        auto_pair: bool = True,
        echo_ys: bool = True,
    ) -> None:
        self.version = version
        self.time_scale = time_scale
        self.air_time_s = air_time_s
        self.motor_window = motor_window
        self.auto_pair = auto_pair
        self.echo_ys = echo_ys
        self.state = CulState()
        self.frames: list[CulFrame] = []
        self.lines: list[str] = []  # every line received, in order
        self.replies: list[str] = []  # every line answered, in order
        self.errors: list[str] = []
        self.motors: dict[int, RtsMotor] = {}
        self._link = PtyLink(directory, name, self._on_data)
        self._buffer = bytearray()
        self._queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle -------------------------------------------------------------------------------------------

    @classmethod
    async def start(cls, directory: Path, name: str = "ttyCUL", **kwargs: object) -> CulEmulator:
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
        """The stick is pulled: socat dies, the host's port disappears, a transmission in progress is cut."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._link.close()
        self._buffer.clear()
        self._queue = asyncio.Queue()
        self._idle.set()

    async def replug(self) -> None:
        """Back under the same path; culfw restarts with its defaults (repetitions 6, symbol 1240 us)."""
        if self.plugged:
            self.unplug()
        self.state = CulState()
        await self._plug()

    async def stop(self) -> None:
        worker = self._worker
        self.unplug()
        if worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every line received so far has been handled (transmissions included)."""
        deadline = time.monotonic() + timeout
        while True:
            await asyncio.sleep(0.02)
            if self._queue.empty() and self._idle.is_set() and not self._buffer:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("CUL emulator still busy")

    async def wait_frames(self, count: int, timeout: float = 10.0) -> list[CulFrame]:
        """Until ``count`` Ys frames have finished their air time."""
        deadline = time.monotonic() + timeout
        while sum(1 for f in self.frames if f.ended is not None) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.frames)} frames, wanted {count}")
            await asyncio.sleep(0.01)
        return self.frames

    # -- what a test looks at --------------------------------------------------------------------------------

    @property
    def air_frames(self) -> list[bytes]:
        """The obfuscated 7-byte frames put on air, one per transmitted ``Ys`` (each sent ``repetitions`` times)."""
        return [f.air for f in self.frames if f.started is not None]

    def motor(self, address: int) -> RtsMotor:
        """The simulated motor listening to ``address`` (created unpaired; it pairs on its first frame when
        ``auto_pair``). ``motor.last_code``, ``motor.commands``, ``motor.accepted``, ``motor.rejected``."""
        if address not in self.motors:
            self.motors[address] = RtsMotor(address, None, self.motor_window)
        return self.motors[address]

    def pair(self, address: int, rolling_code: int) -> RtsMotor:
        """A motor that last accepted ``rolling_code`` from ``address``."""
        self.motors[address] = RtsMotor(address, rolling_code, self.motor_window)
        return self.motors[address]

    def transmission_time_s(self) -> float:
        if self.air_time_s is not None:
            return self.air_time_s * self.time_scale
        return rts_frame.transmission_time_s(self.state.repetitions, self.state.symbol_us) * self.time_scale

    # -- serial side -----------------------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        self._buffer += data
        while True:
            cut = min((i for i in (self._buffer.find(b"\n"), self._buffer.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            raw = bytes(self._buffer[:cut])
            del self._buffer[: cut + 1]
            line = raw.decode("ascii", "replace").strip()
            if line:
                self.lines.append(line)
                self._queue.put_nowait((line, time.monotonic()))

    def _reply(self, text: str) -> None:
        self.replies.append(text)
        self._link.write(text.encode("ascii") + b"\r\n")

    async def _run(self) -> None:
        while True:
            line, received = await self._queue.get()
            self._idle.clear()
            try:
                await self._handle(line, received)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the emulator must not die on a bad line
                LOGGER.exception("CUL emulator failed on %r", line)
                self.errors.append(f"{line!r}: {exc}")
            finally:
                if self._queue.empty():
                    self._idle.set()

    async def _handle(self, line: str, received: float) -> None:
        head = line[0]
        if head == "V":
            self._reply(self.version)
        elif head == "Y" and len(line) >= 2:
            await self._somfy(line, received)
        elif head == "X":
            if len(line) == 1:
                self._reply(f"{self.state.tx_report}  900")
            else:
                self.state.tx_report = line[1:3]
        elif line.startswith("T01"):
            if len(line) == 3:
                self._reply(self.state.fht_id)
            else:
                self.state.fht_id = line[3:7].upper()
        elif head == "t":
            self._reply(f"{int(time.monotonic() * 125) & 0xFFFFFFFF:08X}")
        elif head in "CWRelx":
            pass  # register / eeprom / led / patable commands: accepted silently here
        else:
            self._reply(f"? ({head} is unknown) Use one of {COMMAND_LIST}")

    async def _somfy(self, line: str, received: float) -> None:
        sub = line[1]
        if sub == "r":
            self.state.repetitions = _dec(line[2:]) & 0xFF
            self._reply(f"Yr:{self.state.repetitions}")
        elif sub == "t":
            arg = line[2:]
            self.state.symbol_us = rts_frame.DEFAULT_SYMBOL_US if arg.startswith("0") else _dec(arg) & 0xFFFF
            self._reply(f"Yt:{self.state.symbol_us:>6}")
        elif sub == "x":
            pass
        elif sub == "s":
            await self._send(line, received)
        else:
            self._reply(f"? ({line[0]} is unknown) Use one of {COMMAND_LIST}")

    async def _send(self, line: str, received: float) -> None:
        match = _YS.match(line)
        if match is None:
            self.errors.append(f"malformed Ys line {line!r}")
            return
        key, ctrl, code, address = (int(g, 16) for g in match.groups())
        clear = rts_frame.clear_frame(key, ctrl >> 4, code, address)
        frame = CulFrame(
            line=line,
            key=key,
            command=ctrl >> 4,
            rolling_code=code,
            address=address,
            received=received,
            repetitions=self.state.repetitions,
            symbol_us=self.state.symbol_us,
            air=rts_frame.obfuscate(clear),
            clear=clear,
        )
        self.frames.append(frame)
        frame.started = time.monotonic()
        await asyncio.sleep(self.transmission_time_s())
        frame.ended = time.monotonic()
        if frame.repetitions > 0:
            motor = self.motors.get(address)
            if motor is None and self.auto_pair:
                motor = self.motor(address)
            if motor is not None:
                frame.accepted_by_motor = motor.receive(frame.decoded, frame.ended)
        if self.echo_ys:
            self._reply("Ys" + clear.hex().upper())


def _dec(text: str) -> int:
    digits = re.match(r"\d*", text)
    return int(digits.group(0)) if digits and digits.group(0) else 0
