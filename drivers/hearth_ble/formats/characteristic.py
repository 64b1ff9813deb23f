"""A GATT characteristic's value read as one number, in the layout the configuration names."""

from __future__ import annotations

import math
import struct

# Layout name -> struct format; "le" little-endian, "be" big-endian (GATT's own characteristics are
# little-endian, e.g. Temperature 0x2A6E is int16 LE in 0.01 °C).
LAYOUTS: dict[str, str] = {
    "uint8": "<B",
    "int8": "<b",
    "uint16le": "<H",
    "int16le": "<h",
    "uint16be": ">H",
    "int16be": ">h",
    "uint32le": "<I",
    "int32le": "<i",
    "uint32be": ">I",
    "int32be": ">i",
    "float32le": "<f",
    "float32be": ">f",
}


def decode_characteristic(data: bytes, layout: str, factor: float) -> float | None:
    """The value scaled by ``factor``; None if the bytes do not have the layout's size or are not a number."""
    fmt = LAYOUTS.get(layout)
    if fmt is None or len(data) != struct.calcsize(fmt):
        return None
    (number,) = struct.unpack(fmt, data)
    value = float(number) * factor
    if not math.isfinite(value):
        return None
    return round(value, 6)
