"""Advertisement payloads as sensors write them, built from the formats' documentation (not from our decoder).

BTHome v2 (bthome.io/format): a device-information byte (version 2 in bits 5-7, encryption bit 0,
trigger-based bit 2), then object id + little-endian value records. ATC1441 and pvvx: the two layouts of the
custom thermometer firmwares on service data 0x181A. MiBeacon (Xiaomi's format description, MiEcosystem
miio_open "ble/03-米家BLE广播协议.md", and ble_monitor's protocol.md): service data 0xFE95, little-endian frame
control, product id and frame counter, the MAC reversed, a capability byte, then id/length/value objects.
"""

from __future__ import annotations

import struct

from tests.peers.ble.bluez import full_uuid

BTHOME_UUID = full_uuid(0xFCD2)
ATC_UUID = full_uuid(0x181A)
MIBEACON_UUID = full_uuid(0xFE95)
BTHOME_V2 = 0x40


def obj(object_id: int, raw: int, size: int, signed: bool = False) -> bytes:
    """One BTHome object: its id, then its raw (unscaled) value in ``size`` little-endian bytes."""
    return bytes([object_id]) + raw.to_bytes(size, "little", signed=signed)


def bthome(*objects: bytes, packet_id: int | None = None, info: int = BTHOME_V2) -> bytes:
    head = bytes([info]) + (obj(0x00, packet_id, 1) if packet_id is not None else b"")
    return head + b"".join(objects)


def climate(temp_c: float, humidity: float, battery: int, packet_id: int | None = None) -> bytes:
    """A thermometer's packet: battery (0x01), temperature (0x02, 0.01 °C), humidity (0x03, 0.01 %)."""
    return bthome(
        obj(0x01, battery, 1),
        obj(0x02, round(temp_c * 100), 2, signed=True),
        obj(0x03, round(humidity * 100), 2),
        packet_id=packet_id,
    )


def door(is_open: bool, battery: int, packet_id: int | None = None) -> bytes:
    """A door sensor's packet: battery (0x01), door (0x1A, 1 = open)."""
    return bthome(obj(0x01, battery, 1), obj(0x1A, int(is_open), 1), packet_id=packet_id)


def atc1441(mac: str, temp_c: float, humidity: int, battery: int, millivolts: int, counter: int) -> bytes:
    return struct.pack(
        ">6shBBHB", bytes.fromhex(mac.replace(":", "")), round(temp_c * 10), humidity, battery, millivolts, counter
    )


def pvvx(mac: str, temp_c: float, humidity: float, battery: int, millivolts: int, counter: int) -> bytes:
    return struct.pack(
        "<6shHHBBB",
        bytes.fromhex(mac.replace(":", ""))[::-1],
        round(temp_c * 100),
        round(humidity * 100),
        millivolts,
        battery,
        counter,
        0,
    )


# MiBeacon frame control bits, and the version (bits 12-15) sensors send today.
MI_ENCRYPTED = 1 << 3
MI_MAC = 1 << 4
MI_CAPABILITY = 1 << 5
MI_OBJECT = 1 << 6
MI_MESH = 1 << 7
MI_V5 = 5 << 12
LYWSDCGQ = 0x01AA  # product id of Xiaomi's round e-ink thermometer (ble_monitor's protocol.md example)
HHCCJCY01 = 0x0098  # product id of the "Flower Care" plant sensor


def mi_obj(object_id: int, raw: int, size: int, signed: bool = False) -> bytes:
    """One MiBeacon object: its id (uint16 LE), its length, then its raw value in ``size`` little-endian bytes."""
    return object_id.to_bytes(2, "little") + bytes([size]) + raw.to_bytes(size, "little", signed=signed)


def mibeacon(
    *objects: bytes,
    counter: int,
    mac: str | None = None,
    capability: bytes | None = None,
    product_id: int = LYWSDCGQ,
    control: int = MI_V5,
) -> bytes:
    """A MiBeacon frame; the MAC and capability bits of the frame control follow the fields given."""
    control |= (MI_MAC if mac is not None else 0) | (MI_CAPABILITY if capability is not None else 0)
    control |= MI_OBJECT if objects else 0
    frame = control.to_bytes(2, "little") + product_id.to_bytes(2, "little") + bytes([counter])
    if mac is not None:
        frame += bytes.fromhex(mac.replace(":", ""))[::-1]
    return frame + (capability or b"") + b"".join(objects)


def mi_climate(mac: str, temp_c: float, humidity: float, counter: int) -> bytes:
    """A thermometer's frame: temperature and humidity in one object (0x100D, int16 and uint16 in tenths)."""
    raw = round(temp_c * 10).to_bytes(2, "little", signed=True) + round(humidity * 10).to_bytes(2, "little")
    return mibeacon(mi_obj(0x100D, int.from_bytes(raw, "little"), 4), counter=counter, mac=mac)


def mi_battery(mac: str, battery: int, counter: int) -> bytes:
    """A thermometer's battery frame: 0x100A, uint8 %."""
    return mibeacon(mi_obj(0x100A, battery, 1), counter=counter, mac=mac)
