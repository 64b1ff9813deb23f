"""The RTS frame codec against published frames and decodes."""

from __future__ import annotations

import pytest

from tests.peers.rts import rts_frame
from tests.peers.rts.rts_frame import RtsMotor, checksum, clear_frame, decode, deobfuscate, encode

# (source, air bytes, key, command, rolling code, address)
PUBLISHED_AIR = [
    # https://github.com/smezger/somfy-signalduino README, "Logfile sample": FHEM/SIGNALduino sending protocol 43
    # (Somfy RTS) "P43#A2848587928A99#R6" for address 131815, button Up.
    ("smezger/somfy-signalduino A2848587928A99", "A2848587928A99", 0xA2, rts_frame.UP, 0x0102, 0x131815),
    # Same README, first log line: "P43#A38B8B786D7566#R6", same address, Up.
    ("smezger/somfy-signalduino A38B8B786D7566", "A38B8B786D7566", 0xA3, rts_frame.UP, 0x00F3, 0x131815),
]

# (source, key, command, rolling code, address, published checksum nibble)
PUBLISHED_CHECKSUMS = [
    # https://github.com/merbanan/rtl_433_tests/blob/master/tests/somfy/situo_5_rts_pure_ii/01/README.md and
    # g015_433.414M_250k.json: rtl_433's decode of a Situo 5 RTS Pure II capture: seed 0xA8, Down (4),
    # counter 9, address ABC437, checksum 0x2 ...
    ("rtl_433_tests situo_5 Down", 0xA8, rts_frame.DOWN, 9, 0xABC437, 0x2),
    # ... then seed 0xA9, Up + Down (6), counter 10, same address, checksum 0x2.
    ("rtl_433_tests situo_5 Up+Down", 0xA9, rts_frame.UP_DOWN, 10, 0xABC437, 0x2),
    # https://github.com/smezger/somfy-signalduino README, "New example": FHEM SOMFY log
    # "SOMFY_SENDsm message: sA8200108131815 ... data checksum: 6" (key A8, Up, rolling code 0108, address 131815).
    ("smezger/somfy-signalduino sA8200108131815", 0xA8, rts_frame.UP, 0x0108, 0x131815, 0x6),
]


@pytest.mark.parametrize(
    ("source", "air", "key", "command", "code", "address"), PUBLISHED_AIR, ids=[v[0] for v in PUBLISHED_AIR]
)
def test_published_air_frames_both_ways(source: str, air: str, key: int, command: int, code: int, address: int) -> None:
    frame = decode(bytes.fromhex(air))
    assert (frame.key, frame.command, frame.rolling_code, frame.address) == (key, command, code, address)
    assert encode(key, command, code, address) == bytes.fromhex(air)


@pytest.mark.parametrize(
    ("source", "key", "command", "code", "address", "cks"), PUBLISHED_CHECKSUMS, ids=[v[0] for v in PUBLISHED_CHECKSUMS]
)
def test_published_checksums(source: str, key: int, command: int, code: int, address: int, cks: int) -> None:
    clear = clear_frame(key, command, code, address)
    assert clear[1] & 0x0F == cks
    assert decode(encode(key, command, code, address)).checksum == cks


def test_culfw_line_layout() -> None:
    # FHEM 10_SOMFY.pm / culfw somfy_rts.c comment: "Ys ad 20 0ae3 a2 98 42": key ad, Up, rolling code 0ae3,
    # address a29842 whose LOW byte (42) goes first on air (culfw puts in+14 into airdata[4]).
    clear = clear_frame(0xAD, rts_frame.UP, 0x0AE3, 0xA29842)
    assert clear[0] == 0xAD and clear[1] >> 4 == 0x2 and clear[2:4] == bytes([0x0A, 0xE3])
    assert clear[4:] == bytes([0x42, 0x98, 0xA2])
    assert deobfuscate(encode(0xAD, rts_frame.UP, 0x0AE3, 0xA29842)) == clear


def test_bad_checksum_and_length_are_refused() -> None:
    air = bytearray(bytes.fromhex("A2848587928A99"))
    air[6] ^= 0x01  # the last byte: a flip elsewhere changes two clear bytes and can cancel out
    with pytest.raises(ValueError, match="checksum"):
        decode(bytes(air))
    with pytest.raises(ValueError):
        decode(b"\xa2\x84")
    assert checksum(bytes(7)) == 0


def test_transmission_time() -> None:
    assert 0.10 < rts_frame.transmission_time_s(1) < 0.25
    assert 0.85 < rts_frame.transmission_time_s(6) < 1.0


def test_motor_rolling_code_window() -> None:
    motor = RtsMotor(0x123456, last_code=10, window=100)
    f = lambda code: decode(encode(0xA0, rts_frame.UP, code, 0x123456))  # noqa: E731
    assert motor.receive(f(11), 0) and motor.last_code == 11
    assert not motor.receive(f(11), 0)  # replay
    assert not motor.receive(f(5), 0)  # old
    assert not motor.receive(f(200), 0)  # too far ahead
    assert motor.receive(f(111), 0)  # exactly the window
    wrap = RtsMotor(1, last_code=0xFFFF)
    assert wrap.receive(decode(encode(0xA0, rts_frame.DOWN, 0x0001, 1)), 0)
    assert motor.commands == [rts_frame.UP, rts_frame.UP]
    assert len(motor.rejected) == 3
