"""The CUL and RFXtrx433E emulators against minimal pyserial clients and the real pyRFXtrx (no Hearth code)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import RFXtrx
import serial
from RFXtrx import lowlevel

from tests.peers.rts import CulEmulator, RfxtrxEmulator, rts_frame

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


# ---------------------------------------------------------------------------------------------------------------
# A minimal CUL client: the blocking pyserial calls run in a thread, the emulator on the test's loop


class CulClient:
    def __init__(self, path: str) -> None:
        self.port = serial.Serial(path, 38400, timeout=1)

    def ask(self, line: str, timeout: float = 3.0) -> str:
        self.port.timeout = timeout
        self.port.write(line.encode() + b"\n")
        return self.port.readline().decode().rstrip("\r\n")

    def send(self, line: str) -> None:
        self.port.write(line.encode() + b"\n")

    def read_line(self, timeout: float = 3.0) -> str:
        self.port.timeout = timeout
        return self.port.readline().decode().rstrip("\r\n")

    def close(self) -> None:
        self.port.close()


def _exists(path: str) -> bool:
    return Path(path).exists()


async def _cul(emu: CulEmulator) -> CulClient:
    return await asyncio.to_thread(CulClient, emu.port_path)


async def test_cul_init_answers(tmp_path: Path) -> None:
    emu = await CulEmulator.start(tmp_path)
    client = await _cul(emu)
    try:
        assert await asyncio.to_thread(client.ask, "V") == "V 1.67 CUL433"
        assert (await asyncio.to_thread(client.ask, "?")).startswith("? (? is unknown) Use one of ")
        await asyncio.to_thread(client.send, "X21")  # culfw answers nothing to Xnn
        assert await asyncio.to_thread(client.ask, "X") == "21  900"
        assert await asyncio.to_thread(client.ask, "Yr2") == "Yr:2"
        assert await asyncio.to_thread(client.ask, "Yt1300") == "Yt:  1300"
        assert await asyncio.to_thread(client.ask, "Yt0") == "Yt:  1240"
        assert emu.state.repetitions == 2 and emu.lines[:3] == ["V", "?", "X21"]
    finally:
        client.close()
        await emu.stop()


async def test_cul_ys_recorded_decoded_and_timed(tmp_path: Path) -> None:
    emu = await CulEmulator.start(tmp_path, time_scale=0.25)
    client = await _cul(emu)
    address = 0xA29842
    try:
        assert await asyncio.to_thread(client.ask, "Yr2") == "Yr:2"
        # three commands written back to back, as a host that does not wait for the echo would
        lines = [
            f"YsA{k:X}{cmd:X}0{code:04X}{address:06X}"
            for k, cmd, code in ((0, rts_frame.UP, 0x0AE3), (1, rts_frame.MY, 0x0AE4), (2, rts_frame.DOWN, 0x0AE5))
        ]
        for line in lines:
            await asyncio.to_thread(client.send, line)
        echoes = [await asyncio.to_thread(client.read_line) for _ in lines]
        await emu.wait_frames(3)
        for line, echo, frame in zip(lines, echoes, emu.frames, strict=True):
            assert frame.line == line
            # culfw echoes "Ys" + the clear frame with its checksum, after the transmission
            assert echo == "Ys" + frame.clear.hex().upper()
            assert rts_frame.deobfuscate(frame.air) == frame.clear
        assert [(f.key, f.command, f.rolling_code, f.address) for f in emu.frames] == [
            (0xA0, rts_frame.UP, 0x0AE3, address),
            (0xA1, rts_frame.MY, 0x0AE4, address),
            (0xA2, rts_frame.DOWN, 0x0AE5, address),
        ]
        decoded = [rts_frame.decode(air) for air in emu.air_frames]
        assert [d.rolling_code for d in decoded] == [0x0AE3, 0x0AE4, 0x0AE5]
        # one transmitter: frames in order and never overlapping, each taking its (scaled) air time
        expected = rts_frame.transmission_time_s(2) * 0.25
        for before, after in zip(emu.frames, emu.frames[1:], strict=False):
            assert before.ended is not None and after.started is not None and before.ended <= after.started
        for f in emu.frames:
            assert f.started is not None and f.ended is not None
            assert f.ended - f.started >= expected * 0.95
            assert f.repetitions == 2
        motor = emu.motor(address)
        assert motor.commands == [rts_frame.UP, rts_frame.MY, rts_frame.DOWN]
        assert motor.last_code == 0x0AE5 and not motor.rejected
    finally:
        client.close()
        await emu.stop()


async def test_cul_default_repetitions_take_real_air_time(tmp_path: Path) -> None:
    emu = await CulEmulator.start(tmp_path)
    client = await _cul(emu)
    try:
        start = time.monotonic()
        echo = await asyncio.to_thread(client.ask, "Ysa1100001123456")
        took = time.monotonic() - start
        assert echo.startswith("YsA11")
        assert 0.85 < took < 2.0  # 6 repetitions: ~0.92 s
        assert emu.frames[0].repetitions == 6
    finally:
        client.close()
        await emu.stop()


async def test_cul_motor_rejects_old_rolling_code(tmp_path: Path) -> None:
    emu = await CulEmulator.start(tmp_path, time_scale=0.1)
    client = await _cul(emu)
    try:
        motor = emu.pair(0x123456, 100)
        for code in (50, 101, 101, 300, 102):
            await asyncio.to_thread(client.ask, f"YsA020{code:04X}123456")
        assert [f.accepted_by_motor for f in emu.frames] == [False, True, False, False, True]
        assert motor.last_code == 102
        assert [e.frame.rolling_code for e in motor.rejected] == [50, 101, 300]
    finally:
        client.close()
        await emu.stop()


async def test_cul_unplug_and_replug(tmp_path: Path) -> None:
    emu = await CulEmulator.start(tmp_path, time_scale=0.1)
    client = await _cul(emu)
    try:
        assert await asyncio.to_thread(client.ask, "Yr1") == "Yr:1"
        emu.unplug()
        assert not _exists(emu.port_path)

        def read_after_unplug() -> None:
            client.port.timeout = 1
            client.port.write(b"V\n")
            client.port.read(1)

        with pytest.raises(serial.SerialException):
            await asyncio.to_thread(read_after_unplug)
        with pytest.raises(serial.SerialException):
            serial.Serial(emu.port_path, 38400, timeout=1)
        client.close()

        await emu.replug()
        client = await _cul(emu)
        assert await asyncio.to_thread(client.ask, "V") == "V 1.67 CUL433"
        assert emu.state.repetitions == 6  # culfw restarted with its defaults
        assert (await asyncio.to_thread(client.ask, "YsA0200001ABCDEF")).startswith("YsA02")
    finally:
        client.close()
        await emu.stop()


# ---------------------------------------------------------------------------------------------------------------
# RFXtrx433E with the real pyRFXtrx


class RfxHost:
    """pyRFXtrx's Connect + PySerialTransport, with its events collected."""

    def __init__(self, path: str) -> None:
        self.events: list[object] = []
        self.lost = threading.Event()
        self.conn = RFXtrx.Connect(RFXtrx.PySerialTransport(path), self._event)

    def _event(self, event: object) -> None:
        self.events.append(event)
        if isinstance(event, RFXtrx.ConnectionLost):
            self.lost.set()

    def connect(self) -> None:
        self.conn.connect(timeout=5)

    def close(self) -> None:
        self.conn._run_event.clear()
        self.conn.transport.close()
        self.conn._thread.join(timeout=3)


async def _rfx(emu: RfxtrxEmulator) -> RfxHost:
    host = RfxHost(emu.port_path)
    await asyncio.to_thread(host.connect)
    return host


async def test_rfxtrx_pyrfxtrx_connects_and_sends_rfy(tmp_path: Path) -> None:
    emu = await RfxtrxEmulator.start(tmp_path, time_scale=0.2)
    host = await _rfx(emu)
    try:
        status = host.conn._status
        assert isinstance(status, RFXtrx.StatusEvent)
        assert status.device.type_string == "433.92MHz" and status.device.firmware_version == 0x2C
        assert emu.receiver_started
        # pyRFXtrx sends start receiver with seq 3; the stick echoes it
        assert emu.sent[-1] == bytes.fromhex("1401070307") + b"Copyright RFXCOM"
        device = RFXtrx.get_device(0x1A, 0x00, "0a0b0c:1")
        await asyncio.to_thread(device.send_open, host.conn.transport)  # returns once ACKed
        await asyncio.to_thread(device.send_stop, host.conn.transport)
        await asyncio.to_thread(device.send_close, host.conn.transport)
        packets = await emu.wait_packets(3)
        for record, cmnd, seq in zip(packets, (0x01, 0x00, 0x03), (0, 1, 2), strict=True):
            assert isinstance(record.packet, lowlevel.Rfy)
            assert record.packet.id_combined == 0x0A0B0C and record.packet.unitcode == 1
            assert record.packet.cmnd == cmnd and record.seq == seq
            assert record.raw == bytes(lowlevel.parse(bytearray(record.raw)).data)
            assert record.response == 0x00
        assert [p.packet.cmnd_string for p in packets] == ["Up", "Stop", "Down"]
        acks = [p for p in emu.sent if p[1] == 0x02]
        assert acks == [bytes([0x04, 0x02, 0x01, seq, 0x00]) for seq in (0, 1, 2)]
        frames = [rts_frame.decode(air) for air in emu.air_frames]
        assert [f.command for f in frames] == [rts_frame.UP, rts_frame.MY, rts_frame.DOWN]
        assert [f.rolling_code for f in frames] == [1, 2, 3]
        address = emu.air_address(0x0A0B0C, 1)
        assert emu.motor(address).commands == [rts_frame.UP, rts_frame.MY, rts_frame.DOWN]
        assert not emu.motor(address).rejected
        assert emu.rolling_code(0x0A0B0C, 1) == 4
        for before, after in zip(packets, packets[1:], strict=False):
            assert before.ended is not None and after.started is not None and before.ended <= after.started
    finally:
        await asyncio.to_thread(host.close)
        await emu.stop()


def _raw_exchange(path: str, packet: bytes, answer_len: int) -> bytes:
    with serial.Serial(path, 38400, timeout=2) as port:
        port.write(packet)
        return port.read(answer_len)


async def test_rfxtrx_raw_status_and_nak(tmp_path: Path) -> None:
    emu = await RfxtrxEmulator.start(tmp_path, ack_delay_s=0.01)
    try:
        status = await asyncio.to_thread(
            _raw_exchange, emu.port_path, bytes.fromhex("0D00000102000000000000000000"), 21
        )
        parsed = lowlevel.parse(bytearray(status))
        assert isinstance(parsed, lowlevel.Status) and parsed.type_string == "433.92MHz"
        assert status == bytes.fromhex("1401000102532C04000700010300055D0000000000")
        # an RFY packet by raw bytes: id 010203 unit 2, Program
        ack = await asyncio.to_thread(_raw_exchange, emu.port_path, bytes.fromhex("0C1A0005010203020700000000"), 5)
        assert ack == bytes.fromhex("0402010500")
        assert emu.packets[-1].packet.cmnd_string == "Program"
        assert rts_frame.decode(emu.air_frames[-1]).command == rts_frame.PROG
        # Lighting2 is not emulated: NAK
        nak = await asyncio.to_thread(_raw_exchange, emu.port_path, bytes.fromhex("0B11000700C8BF6A0A010F00"), 5)
        assert nak == bytes.fromhex("0402010702")
    finally:
        await emu.stop()


async def test_rfxtrx_unplug_and_replug(tmp_path: Path) -> None:
    emu = await RfxtrxEmulator.start(tmp_path, time_scale=0.1)
    host = await _rfx(emu)
    device = RFXtrx.get_device(0x1A, 0x00, "000001:0")
    try:
        await asyncio.to_thread(device.send_close, host.conn.transport)
        emu.unplug()
        assert await asyncio.to_thread(host.lost.wait, 5), "pyRFXtrx did not see the stick go"
        assert not _exists(emu.port_path)
        with pytest.raises(RFXtrx.RFXtrxTransportError):
            await asyncio.to_thread(RfxHost(emu.port_path).connect)
        await asyncio.to_thread(host.close)

        await emu.replug()
        host = await _rfx(emu)
        await asyncio.to_thread(device.send_open, host.conn.transport)
        await emu.wait_packets(2)
        codes = [rts_frame.decode(air).rolling_code for air in emu.air_frames]
        assert codes == [1, 2]  # the stick kept its rolling code over the replug
        assert emu.motor(emu.air_address(1, 0)).commands == [rts_frame.DOWN, rts_frame.UP]
    finally:
        await asyncio.to_thread(host.close)
        await emu.stop()
