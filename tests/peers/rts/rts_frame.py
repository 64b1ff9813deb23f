"""Somfy RTS frame codec: the 7 bytes a remote (or culfw, or an RFXtrx433E) puts on air.

Clear frame: byte0 = key (0xA0 | counter), byte1 = command << 4 | checksum, bytes 2-3 = rolling code (big endian),
bytes 4-6 = remote address with the LOW byte first (byte4 = address & 0xFF). The checksum is the XOR of all 14
nibbles (with the checksum nibble 0). On air each byte i >= 1 is XORed with the already obfuscated byte i-1.
"""

from __future__ import annotations

from dataclasses import dataclass

FRAME_SIZE = 7

MY, UP, MY_UP, DOWN, MY_DOWN, UP_DOWN, PROG, SUN_FLAG, FLAG = 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x8, 0x9, 0xA
COMMAND_NAMES = {
    MY: "My",
    UP: "Up",
    MY_UP: "My+Up",
    DOWN: "Down",
    MY_DOWN: "My+Down",
    UP_DOWN: "Up+Down",
    PROG: "Prog",
    SUN_FLAG: "Sun+Flag",
    FLAG: "Flag",
}

# Timing of one transmission as culfw's somfy_rts.c drives the radio (microseconds): a wake-up pulse once, then
# frames; the first frame has 2 hardware sync pulses, each repeated frame 7; a frame is software sync + 56
# Manchester symbols + the inter-frame gap.
WAKEUP_US = 9415 + 89565
HW_SYNC_US = 2 * 2550
SW_SYNC_US = 4860
INTER_FRAME_GAP_US = 30415
DEFAULT_SYMBOL_US = 1240


def checksum(clear: bytes) -> int:
    """XOR of all nibbles of the clear frame, ignoring whatever is in the checksum nibble."""
    value = 0
    for i, byte in enumerate(clear[:FRAME_SIZE]):
        if i == 1:
            byte &= 0xF0
        value ^= byte ^ (byte >> 4)
    return value & 0x0F


def obfuscate(clear: bytes) -> bytes:
    out = bytearray(clear)
    for i in range(1, len(out)):
        out[i] ^= out[i - 1]
    return bytes(out)


def deobfuscate(air: bytes) -> bytes:
    return bytes([air[0]] + [air[i] ^ air[i - 1] for i in range(1, len(air))])


def clear_frame(key: int, command: int, rolling_code: int, address: int) -> bytes:
    """The clear 7 bytes with the checksum filled in."""
    if not (0 <= key <= 0xFF and 0 <= command <= 0xF and 0 <= rolling_code <= 0xFFFF and 0 <= address <= 0xFFFFFF):
        raise ValueError("field out of range")
    frame = bytearray(
        [
            key,
            command << 4,
            rolling_code >> 8,
            rolling_code & 0xFF,
            address & 0xFF,
            (address >> 8) & 0xFF,
            address >> 16,
        ]
    )
    frame[1] |= checksum(frame)
    return bytes(frame)


def encode(key: int, command: int, rolling_code: int, address: int) -> bytes:
    """The 7 obfuscated bytes on air."""
    return obfuscate(clear_frame(key, command, rolling_code, address))


@dataclass(frozen=True)
class RtsFrame:
    key: int
    command: int
    checksum: int
    rolling_code: int
    address: int

    @property
    def command_name(self) -> str:
        return COMMAND_NAMES.get(self.command, f"0x{self.command:X}")


def decode_clear(clear: bytes) -> RtsFrame:
    if len(clear) != FRAME_SIZE:
        raise ValueError(f"an RTS frame has {FRAME_SIZE} bytes, not {len(clear)}")
    expected = checksum(clear)
    if clear[1] & 0x0F != expected:
        raise ValueError(f"bad checksum {clear[1] & 0x0F:X}, expected {expected:X}")
    return RtsFrame(
        key=clear[0],
        command=clear[1] >> 4,
        checksum=clear[1] & 0x0F,
        rolling_code=clear[2] << 8 | clear[3],
        address=clear[6] << 16 | clear[5] << 8 | clear[4],
    )


def decode(air: bytes) -> RtsFrame:
    """Fields of an obfuscated frame; ValueError when the checksum does not hold."""
    return decode_clear(deobfuscate(bytes(air)))


def frame_time_us(first: bool, symbol_us: int = DEFAULT_SYMBOL_US) -> int:
    hw_sync = (2 if first else 7) * HW_SYNC_US
    return hw_sync + SW_SYNC_US + symbol_us // 2 + 56 * symbol_us + INTER_FRAME_GAP_US


def transmission_time_s(repetitions: int, symbol_us: int = DEFAULT_SYMBOL_US) -> float:
    """Air time of one command sent ``repetitions`` times (culfw's default is 6: ~0.92 s)."""
    if repetitions <= 0:
        return 0.0
    total = WAKEUP_US + frame_time_us(True, symbol_us) + (repetitions - 1) * frame_time_us(False, symbol_us)
    return total / 1e6


# ---------------------------------------------------------------------------------------------------------------
# A motor: what a receiver does with the frames it hears


@dataclass(frozen=True)
class MotorEvent:
    frame: RtsFrame
    accepted: bool
    reason: str
    at: float


class RtsMotor:
    """One motor paired with one remote address: it accepts a frame only when its rolling code is above the last
    one it accepted, by at most ``window`` (counted modulo 2**16)."""

    def __init__(self, address: int, last_code: int | None = None, window: int = 100) -> None:
        self.address = address
        self.last_code = last_code
        self.window = window
        self.events: list[MotorEvent] = []

    def receive(self, frame: RtsFrame, at: float) -> bool:
        if frame.address != self.address:
            return False
        if self.last_code is None:
            ok, reason = True, "first frame (auto-paired)"
        else:
            ahead = (frame.rolling_code - self.last_code) % 0x10000
            if ahead == 0:
                ok, reason = False, "replayed rolling code"
            elif ahead > self.window:
                ok, reason = False, f"rolling code {frame.rolling_code} not within {self.window} above {self.last_code}"
            else:
                ok, reason = True, "ok"
        if ok:
            self.last_code = frame.rolling_code
        self.events.append(MotorEvent(frame, ok, reason, at))
        return ok

    @property
    def accepted(self) -> list[RtsFrame]:
        return [e.frame for e in self.events if e.accepted]

    @property
    def rejected(self) -> list[MotorEvent]:
        return [e for e in self.events if not e.accepted]

    @property
    def commands(self) -> list[int]:
        return [f.command for f in self.accepted]
