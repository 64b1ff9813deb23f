"""BTHome v2 (https://bthome.io/format/): service data of UUID 0xFCD2.

Layout: one device-information byte, then objects, each an object id followed by its value. The device
information byte holds the encryption flag (bit 0), the trigger-based flag (bit 2) and the version (bits 5-7,
2 for v2). Values are little-endian integers scaled by a fixed factor per object id; the size of each value
is fixed by its object id (except text and raw, which carry a length byte), so an unknown id leaves the rest
of the packet unreadable: decoding stops there and keeps what came before. Encrypted packets (AES-CCM with a
per-device key) are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hearth_ble.formats.reading import Reading, Value

BTHOME_SERVICE_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"

_ENCRYPTED = 0x01
_VERSION_SHIFT = 5
_PACKET_ID = 0x00
# Objects whose value is one length byte then that many bytes.
_LENGTH_PREFIXED = frozenset({0x53, 0x54})


class Kind(Enum):
    NUMBER = "number"
    BINARY = "binary"
    # Read only to step over it: button and dimmer events, device type and firmware.
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class ObjectType:
    name: str
    size: int
    signed: bool = False
    factor: float = 1
    kind: Kind = Kind.NUMBER


def _n(name: str, size: int, factor: float = 1, signed: bool = False) -> ObjectType:
    return ObjectType(name, size, signed, factor)


def _b(name: str) -> ObjectType:
    # A binary sensor: one byte, 0 off and 1 on.
    return ObjectType(name, 1, kind=Kind.BINARY)


def _skip(size: int) -> ObjectType:
    return ObjectType("", size, kind=Kind.SKIP)


# Object id -> how its value is written. Names of binary sensors say what "on" means where BTHome's name
# alone would collide with a numeric measurement (moisture %, power W, gas m³).
OBJECTS: dict[int, ObjectType] = {
    0x00: _n("packet_id", 1),
    0x01: _n("battery", 1),
    0x02: _n("temperature", 2, 0.01, signed=True),
    0x03: _n("humidity", 2, 0.01),
    0x04: _n("pressure", 3, 0.01),
    0x05: _n("illuminance", 3, 0.01),
    0x06: _n("mass_kg", 2, 0.01),
    0x07: _n("mass_lb", 2, 0.01),
    0x08: _n("dew_point", 2, 0.01, signed=True),
    0x09: _n("count", 1),
    0x0A: _n("energy", 3, 0.001),
    0x0B: _n("power", 3, 0.01),
    0x0C: _n("voltage", 2, 0.001),
    0x0D: _n("pm25", 2),
    0x0E: _n("pm10", 2),
    0x0F: _b("generic"),
    0x10: _b("power_on"),
    0x11: _b("opening"),
    0x12: _n("co2", 2),
    0x13: _n("tvoc", 2),
    0x14: _n("moisture", 2, 0.01),
    0x15: _b("battery_low"),
    0x16: _b("battery_charging"),
    0x17: _b("carbon_monoxide"),
    0x18: _b("cold"),
    0x19: _b("connectivity"),
    0x1A: _b("door"),
    0x1B: _b("garage_door"),
    0x1C: _b("gas_detected"),
    0x1D: _b("heat"),
    0x1E: _b("light"),
    0x1F: _b("lock"),
    0x20: _b("moisture_detected"),
    0x21: _b("motion"),
    0x22: _b("moving"),
    0x23: _b("occupancy"),
    0x24: _b("plug"),
    0x25: _b("presence"),
    0x26: _b("problem"),
    0x27: _b("running"),
    0x28: _b("safety"),
    0x29: _b("smoke"),
    0x2A: _b("sound"),
    0x2B: _b("tamper"),
    0x2C: _b("vibration"),
    0x2D: _b("window"),
    0x2E: _n("humidity", 1),
    0x2F: _n("moisture", 1),
    0x3A: _skip(1),  # button event
    0x3C: _skip(2),  # dimmer event
    0x3D: _n("count", 2),
    0x3E: _n("count", 4),
    0x3F: _n("rotation", 2, 0.1, signed=True),
    0x40: _n("distance_mm", 2),
    0x41: _n("distance_m", 2, 0.1),
    0x42: _n("duration", 3, 0.001),
    0x43: _n("current", 2, 0.001),
    0x44: _n("speed", 2, 0.01),
    0x45: _n("temperature", 2, 0.1, signed=True),
    0x46: _n("uv_index", 1, 0.1),
    0x47: _n("volume_l", 2, 0.1),
    0x48: _n("volume_ml", 2),
    0x49: _n("volume_flow_rate", 2, 0.001),
    0x4A: _n("voltage", 2, 0.1),
    0x4B: _n("gas", 3, 0.001),
    0x4C: _n("gas", 4, 0.001),
    0x4D: _n("energy", 4, 0.001),
    0x4E: _n("volume", 4, 0.001),
    0x4F: _n("water", 4, 0.001),
    0x50: _n("timestamp", 4),
    0x51: _n("acceleration", 2, 0.001),
    0x52: _n("gyroscope", 2, 0.001),
    0x55: _n("volume_storage", 4, 0.001),
    0x56: _n("conductivity", 2),
    0x57: _n("temperature", 1, signed=True),
    0x58: _n("temperature", 1, 0.35, signed=True),
    0x59: _n("count", 1, signed=True),
    0x5A: _n("count", 2, signed=True),
    0x5B: _n("count", 4, signed=True),
    0x5C: _n("power", 4, 0.01, signed=True),
    0x5D: _n("current", 2, 0.001, signed=True),
    0x5E: _n("direction", 2, 0.01),
    0x5F: _n("precipitation", 2, 0.1),
    0x60: _n("channel", 1),
    0x61: _n("rotational_speed", 2),
    0xF0: _skip(2),  # device type id
    0xF1: _skip(4),  # firmware version, 4 bytes
    0xF2: _skip(3),  # firmware version, 3 bytes
}


def _value(kind: ObjectType, raw: bytes) -> Value:
    number = int.from_bytes(raw, "little", signed=kind.signed)
    if kind.kind is Kind.BINARY:
        return number != 0
    if kind.factor == 1:
        return number
    # Six digits drop the float noise of the scaling (2506 * 0.01 = 25.060000000000002) and keep every digit
    # a factor of BTHome can give.
    return round(number * kind.factor, 6)


def decode_bthome(payload: bytes) -> Reading | None:
    """A BTHome v2 service-data payload; None if it is not v2, is encrypted, or holds no object at all."""
    if not payload:
        return None
    info = payload[0]
    if info >> _VERSION_SHIFT != 2 or info & _ENCRYPTED:
        return None
    values: dict[str, Value] = {}
    packet_id: int | None = None
    pos = 1
    while pos < len(payload):
        object_id = payload[pos]
        pos += 1
        if object_id in _LENGTH_PREFIXED:
            if pos >= len(payload):
                break
            pos += 1 + payload[pos]
            continue
        kind = OBJECTS.get(object_id)
        if kind is None or pos + kind.size > len(payload):
            break  # unknown id, or cut short: the rest cannot be read
        raw = payload[pos : pos + kind.size]
        pos += kind.size
        if object_id == _PACKET_ID:
            packet_id = raw[0] if packet_id is None else packet_id
        elif kind.kind is not Kind.SKIP:
            values.setdefault(kind.name, _value(kind, raw))
    if not values and packet_id is None:
        return None
    return Reading("bthome", values, packet_id)
