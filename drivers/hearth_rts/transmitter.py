"""The two transmitter families: a CUL with culfw (ASCII ``Ys`` lines) and an RFXtrx433E (binary RFY packets).

Both open the serial port, check what answers is the right stick (handshake and version), send one command at
a time and say when it has gone on air. A read or write error means the stick is gone: ``lost`` is set and the
driver reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

import serial_asyncio_fast

from hearth_rts.remotes import Frame

# RTS command nibbles (on air): My/Stop 0x1, Up 0x2, Down 0x4, Prog 0x8.
MY, UP, DOWN, PROG = 0x1, 0x2, 0x4, 0x8
# RFY commands of the RFXtrx (its SDK's table): the stick turns them into RTS frames with its own codes.
_RFY = {MY: 0x00, UP: 0x01, DOWN: 0x03, PROG: 0x07}
# culfw 1.59 is the first with the Y (Somfy RTS) command family.
CULFW_MIN = (1, 59)


class TransmitterError(Exception):
    """The stick is not there, not the right one, or did not take a command."""


class Transmitter:
    name = "transmitter"

    def __init__(
        self, port: str, baudrate: int, repeats: int, frame_s: float, gap_s: float, answer_timeout_s: float
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.repeats = repeats
        self.frame_s = frame_s
        self.gap_s = gap_s
        self.answer_timeout_s = answer_timeout_s
        self.version = ""
        self.lost = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def air_time_s(self) -> float:
        """How long one command occupies the air: the frame and its repeats, then the gap."""
        return self.frame_s * (1 + self.repeats) + self.gap_s

    async def open(self) -> None:
        self.lost.clear()
        try:
            self._reader, self._writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self.baudrate
            )
        except (OSError, ValueError) as exc:
            raise TransmitterError(f"cannot open {self.port}: {exc}") from None
        try:
            async with asyncio.timeout(self.answer_timeout_s * 3):
                await self._handshake()
        except TimeoutError:
            await self.close()
            raise TransmitterError(f"no {self.name} answers on {self.port}") from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def send(self, command: int, frame: Frame) -> None:
        """Put one command on air; returns when it has gone (the stick's word, or its air time)."""
        raise NotImplementedError

    async def _handshake(self) -> None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        if self._writer is None or self.lost.is_set():
            raise TransmitterError(f"the {self.name} on {self.port} is gone")
        try:
            self._writer.write(data)
        except (OSError, RuntimeError) as exc:
            self._gone(exc)

    def _gone(self, exc: BaseException | None) -> None:
        self.lost.set()
        raise TransmitterError(f"the {self.name} on {self.port} is gone ({exc or 'closed'})")

    async def watch(self) -> None:
        """Returns when the stick goes away (the port's end of file or an error)."""
        await self.lost.wait()


class CulTransmitter(Transmitter):
    """culfw's Y command family (a-culfw, clib/somfy_rts.c): ``Ys`` + key + command + rolling code + address.

    culfw adds the checksum, obfuscates, sends the frame ``Yr`` times, and only then answers ``Ys`` with the
    frame it sent: that answer is our "gone on air". We keep the key and the rolling code.
    """

    name = "CUL"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None

    @property
    def air_time_s(self) -> float:
        # culfw: a ~100 ms wake-up pulse, then each repetition (~140 ms), then the gap we keep.
        return 0.1 + self.frame_s * max(1, self.repeats) + self.gap_s

    async def _handshake(self) -> None:
        self._pump = asyncio.ensure_future(self._read_lines())
        self._write(b"V\n")
        line = await self._expect(lambda text: re.match(r"V\s*\d+\.\d+", text) is not None)
        match = re.match(r"V\s*(\d+)\.(\d+)", line)
        assert match is not None
        version = (int(match.group(1)), int(match.group(2)))
        if version < CULFW_MIN:
            raise TransmitterError(
                f"culfw {version[0]}.{version[1]} on {self.port} has no Somfy RTS (Y) commands; 1.59 or newer is needed"
            )
        self.version = line
        # Repetitions live in culfw's RAM: set them at every open (a replugged stick is back to its default).
        self._write(f"Yr{self.repeats}\n".encode())
        await self._expect(lambda text: text.startswith("Yr"))

    async def _read_lines(self) -> None:
        assert self._reader is not None
        try:
            while raw := await self._reader.readline():
                text = raw.decode("ascii", errors="replace").strip()
                if text:
                    self._lines.put_nowait(text)
        except (OSError, asyncio.IncompleteReadError):
            pass
        self.lost.set()

    async def _expect(self, wanted: Any, within_s: float | None = None) -> str:
        """The next line ``wanted`` accepts (culfw also prints what it receives on air: skipped)."""
        async with asyncio.timeout(within_s or self.answer_timeout_s):
            while True:
                line_task = asyncio.ensure_future(self._lines.get())
                lost = asyncio.ensure_future(self.lost.wait())
                try:
                    await asyncio.wait({line_task, lost}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    lost.cancel()
                if not line_task.done():
                    line_task.cancel()
                    raise TransmitterError(f"the {self.name} on {self.port} went away")
                line = line_task.result()
                if wanted(line):
                    return line

    async def send(self, command: int, frame: Frame) -> None:
        line = f"Ys{frame.key:02X}{command << 4:02X}{frame.code:04X}{frame.address:06X}\n"
        self._write(line.encode("ascii"))
        try:
            await self._expect(lambda text: text.startswith("Ys"), self.air_time_s * 2 + self.answer_timeout_s)
        except TimeoutError:
            raise TransmitterError(f"the {self.name} on {self.port} did not confirm the frame") from None
        await asyncio.sleep(self.gap_s)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        await super().close()


class RfxtrxTransmitter(Transmitter):
    """RFXtrx433E: RFY packets (type 0x1A); the stick keeps each remote's rolling code and answers each packet
    with an acknowledgement once it has sent it."""

    name = "RFXtrx"
    RESET = bytes([0x0D, 0x00, 0x00, 0x00, 0x00]) + bytes(9)
    GET_STATUS = bytes([0x0D, 0x00, 0x00, 0x01, 0x02]) + bytes(9)
    START_RECEIVER = bytes([0x0D, 0x00, 0x00, 0x03, 0x07]) + bytes(9)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seq = 0
        self._acks: dict[int, asyncio.Future[int]] = {}
        self._status: asyncio.Future[bytes] | None = None
        self._pump: asyncio.Task[None] | None = None

    async def _handshake(self) -> None:
        self._write(self.RESET)
        await asyncio.sleep(0.3)  # the stick ignores what comes in the first moments after a reset
        self._pump = asyncio.ensure_future(self._read_packets())
        status = await self._ask(self.GET_STATUS)
        if len(status) < 8 or status[1] != 0x01:
            raise TransmitterError(f"the stick on {self.port} answered {status.hex()} to get-status: not an RFXtrx")
        self.version = f"RFXtrx type 0x{status[5]:02x} firmware {status[6]}"
        answer = await self._ask(self.START_RECEIVER)
        if b"Copyright RFXCOM" not in answer:
            raise TransmitterError(f"the stick on {self.port} did not start (answer {answer.hex()})")

    async def _ask(self, packet: bytes) -> bytes:
        self._status = asyncio.get_running_loop().create_future()
        self._write(packet)
        async with asyncio.timeout(self.answer_timeout_s):
            return await self._status

    async def _read_packets(self) -> None:
        assert self._reader is not None
        try:
            while True:
                size = await self._reader.readexactly(1)
                if size[0] == 0:
                    continue
                body = await self._reader.readexactly(size[0])
                packet = size + body
                kind = body[0]
                if kind == 0x01 and self._status is not None and not self._status.done():
                    self._status.set_result(packet)  # interface message: status, start-receiver answers
                elif kind == 0x02 and len(body) >= 4:
                    ack = self._acks.pop(body[2], None)  # transmitter message: 0 ACK, else a refusal
                    if ack is not None and not ack.done():
                        ack.set_result(body[3])
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.lost.set()
            for ack in self._acks.values():
                if not ack.done():
                    ack.set_exception(TransmitterError(f"the RFXtrx on {self.port} is gone ({exc})"))

    async def send(self, command: int, frame: Frame) -> None:
        self._seq = (self._seq + 1) & 0xFF
        seq = self._seq
        address = frame.address
        packet = bytes(
            [
                0x0C,
                0x1A,
                0x00,
                seq,
                (address >> 16) & 0x0F,
                (address >> 8) & 0xFF,
                address & 0xFF,
                0x01,
                _RFY[command],
                0,
                0,
                0,
                0,
            ]
        )
        ack = self._acks[seq] = asyncio.get_running_loop().create_future()
        self._write(packet)
        try:
            async with asyncio.timeout(self.answer_timeout_s + self.air_time_s):
                status = await ack
        except TimeoutError:
            self._acks.pop(seq, None)
            raise TransmitterError(f"the RFXtrx on {self.port} did not acknowledge the command") from None
        if status not in (0x00, 0x01):  # ACK, ACK delayed; 02/03 are refusals (invalid address)
            raise TransmitterError(f"the RFXtrx refused the command (status {status})")
        await asyncio.sleep(self.gap_s)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        await super().close()


def make_transmitter(kind: str, **kwargs: Any) -> Transmitter:
    return (CulTransmitter if kind == "cul" else RfxtrxTransmitter)(**kwargs)
