"""Advertisement payloads as sensors write them, built from the formats' documentation (not from our decoder).

BTHome v2 (bthome.io/format): a device-information byte (version 2 in bits 5-7, encryption bit 0,
trigger-based bit 2), then object id + little-endian value records. ATC1441 and pvvx: the two layouts of the
custom thermometer firmwares on service data 0x181A.
"""

from __future__ import annotations

import struct

from tests.peers.ble.bluez import full_uuid

BTHOME_UUID = full_uuid(0xFCD2)
ATC_UUID = full_uuid(0x181A)
BTHOME_V2 = 0x40


def obj(object_id: int, raw: int, size: int, signed: bool = False) -> bytes:
    """One BTHome object: its id, then its raw (unscaled) value in ``size`` little-endian bytes."""
    return bytes([object_id]) + raw.to_bytes(size, "little", signed=signed)


def bthome(*objects: bytes, packet_id: int | None = None, info: int = BTHOME_V2) -> bytes:
    head = bytes([info]) + (obj(0x00, packet_id, 1) if packet_id is not None else b"")
    return head + b"".join(objects)


def climate(temp_c: float, humidity: float, battery: int, packet_id: int | None = None) -> bytes:
    """A thermometer's packet: battery (0x01), temperature (0x02, 0.01 °C), humidity (0x03, 0.01 %)."""
    return bthome(obj(0x01, battery, 1), obj(0x02, round(temp_c * 100), 2, signed=True),
                  obj(0x03, round(humidity * 100), 2), packet_id=packet_id)


def door(is_open: bool, battery: int, packet_id: int | None = None) -> bytes:
    """A door sensor's packet: battery (0x01), door (0x1A, 1 = open)."""
    return bthome(obj(0x01, battery, 1), obj(0x1A, int(is_open), 1), packet_id=packet_id)


def atc1441(mac: str, temp_c: float, humidity: int, battery: int, millivolts: int, counter: int) -> bytes:
    return struct.pack(">6shBBHB", bytes.fromhex(mac.replace(":", "")), round(temp_c * 10), humidity, battery,
                       millivolts, counter)


def pvvx(mac: str, temp_c: float, humidity: float, battery: int, millivolts: int, counter: int) -> bytes:
    return struct.pack("<6shHHBBB", bytes.fromhex(mac.replace(":", ""))[::-1], round(temp_c * 100),
                       round(humidity * 100), millivolts, battery, counter, 0)
