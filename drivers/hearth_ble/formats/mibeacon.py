"""Xiaomi MiBeacon: service data of UUID 0xFE95, unencrypted frames only.

Sources (public): Xiaomi's MiBeacon format description (MiEcosystem miio_open, "ble/03-米家BLE广播协议.md") and
the reverse-engineered notes of custom-components/ble_monitor ("protocol.md"); object meanings as read by the
xiaomi-ble package. Every multi-byte field is little-endian.

Layout: frame control (uint16), product id (uint16), frame counter (uint8, the same for a repeated frame),
then, as the frame control says: the device's MAC (6 bytes, reversed), a capability byte (followed by one
I/O-capability byte when its bit 5 is set), objects. Each object is its id (uint16), its length (uint8) and
that many bytes of value. Frame control bits: 3 encrypted, 4 MAC included, 5 capability included, 6 object(s)
included, 7 mesh; bits 12-15 the version.

Not read: encrypted frames (AES-CCM with a per-device bind key), mesh frames and versions below 2 (their
layout is not the one above), frames without objects (a device announcing itself says nothing measured).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hearth_ble.formats.reading import Reading, Value

MIBEACON_SERVICE_UUID = "0000fe95-0000-1000-8000-00805f9b34fb"

_ENCRYPTED = 1 << 3
_MAC_INCLUDED = 1 << 4
_CAPABILITY_INCLUDED = 1 << 5
_OBJECT_INCLUDED = 1 << 6
_MESH = 1 << 7
_VERSION_SHIFT = 12
# Capability bit 5: an I/O-capability field follows. Xiaomi's table gives it two bytes, but the devices seen in
# the field (and every public parser: ble_monitor, xiaomi-ble) send one; we read what the devices send.
_CAPABILITY_IO = 1 << 5
_IO_CAPABILITY_SIZE = 1
# Frame control, product id, frame counter.
_HEADER_SIZE = 5
_MAC_SIZE = 6
# The MiHome app counts a "no motion for N seconds" report of at most 30 s as motion still going on (as
# xiaomi-ble does): the sensor sends it 3 s and 5 s after a detection, then at 60 s, 120 s, 300 s ...
_MOTION_STILL_S = 30

Decoder = Callable[[bytes], dict[str, Value]]


def _scaled(name: str, signed: bool = False, factor: float = 1) -> Decoder:
    """One little-endian integer, scaled; rounding drops the float noise of the scaling (229 * 0.1)."""

    def decode(raw: bytes) -> dict[str, Value]:
        number = int.from_bytes(raw, "little", signed=signed)
        return {name: number if factor == 1 else round(number * factor, 6)}

    return decode


def _temperature_humidity(raw: bytes) -> dict[str, Value]:
    # 0x100D: int16 temperature then uint16 humidity, both in tenths.
    temp = int.from_bytes(raw[:2], "little", signed=True)
    humidity = int.from_bytes(raw[2:], "little")
    return {"temperature": round(temp * 0.1, 6), "humidity": round(humidity * 0.1, 6)}


def _moving(_raw: bytes) -> dict[str, Value]:
    # 0x000F "someone is moving, with light": its 3-byte value means light or lux depending on the model, so
    # only the motion itself is read.
    return {"motion": True}


def _no_motion_for(raw: bytes) -> dict[str, Value]:
    # 0x1017: seconds since the last motion (uint32).
    return {"motion": int.from_bytes(raw, "little") <= _MOTION_STILL_S}


def _no_motion_timeout(_raw: bytes) -> dict[str, Value]:
    # 0x101B: the sensor's "no movement" timeout went by.
    return {"motion": False}


@dataclass(frozen=True, slots=True)
class ObjectType:
    size: int
    decode: Decoder


# Object id -> its value's size (a length byte that disagrees means a frame we do not understand) and meaning.
# Measurement names are BTHome's, so mapping.STATES applies unchanged; 0x1009 (conductivity, µS/cm) has no
# Hearth state and is decoded but not reported, as BTHome's conductivity is. Not read: 0x1012 (power on/off)
# and 0x100F (a door state of one safe model), which are not motion.
OBJECTS: dict[int, ObjectType] = {
    0x000F: ObjectType(3, _moving),
    0x1004: ObjectType(2, _scaled("temperature", signed=True, factor=0.1)),
    0x1006: ObjectType(2, _scaled("humidity", factor=0.1)),
    0x1007: ObjectType(3, _scaled("illuminance")),
    0x1008: ObjectType(1, _scaled("moisture")),
    0x1009: ObjectType(2, _scaled("conductivity")),
    0x100A: ObjectType(1, _scaled("battery")),
    0x100D: ObjectType(4, _temperature_humidity),
    0x1017: ObjectType(4, _no_motion_for),
    0x101B: ObjectType(1, _no_motion_timeout),
}


def _objects_start(payload: bytes, control: int) -> int | None:
    """Where the objects begin, past the optional MAC and capability fields; None if the frame ends first."""
    pos = _HEADER_SIZE
    if control & _MAC_INCLUDED:
        pos += _MAC_SIZE
    if control & _CAPABILITY_INCLUDED:
        if pos >= len(payload):
            return None
        pos += 1 + (_IO_CAPABILITY_SIZE if payload[pos] & _CAPABILITY_IO else 0)
    return pos if pos <= len(payload) else None


def _read_objects(payload: bytes, pos: int) -> dict[str, Value]:
    """Every object we know, in order; a name sent twice keeps its first value.

    An unknown id is stepped over: unlike BTHome's, every MiBeacon object says its own length. A known id whose
    length is not its size, or an object cut short, ends the reading: what came before is kept.
    """
    values: dict[str, Value] = {}
    while pos + 3 <= len(payload):
        object_id = int.from_bytes(payload[pos : pos + 2], "little")
        length = payload[pos + 2]
        pos += 3
        if pos + length > len(payload):
            break
        kind = OBJECTS.get(object_id)
        if kind is not None:
            if length != kind.size:
                break
            for name, value in kind.decode(payload[pos : pos + length]).items():
                values.setdefault(name, value)
        pos += length
    return values


def decode_mibeacon(payload: bytes) -> Reading | None:
    """An unencrypted MiBeacon service-data payload; None if encrypted, mesh, too old, cut short, or empty.

    The frame counter is the reading's packet id: a sensor repeats each frame several times with the same
    counter (Xiaomi asks for 5-8 repeats), and the driver drops the repeats as it does BTHome's.
    """
    if len(payload) < _HEADER_SIZE:
        return None
    control = int.from_bytes(payload[:2], "little")
    if control & (_ENCRYPTED | _MESH) or not control & _OBJECT_INCLUDED or control >> _VERSION_SHIFT < 2:
        return None
    start = _objects_start(payload, control)
    if start is None:
        return None
    values = _read_objects(payload, start)
    if not values:
        return None
    return Reading("mibeacon", values, payload[4])
