"""A small, independent ZCL and ZDO codec for the simulated devices.

Written from the Zigbee Cluster Library and Zigbee specifications, not from zigpy, so that what the
simulated devices put on the air is not merely zigpy's own encoder talking to its decoder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------------------------------------------------------
# ZCL data types (ZCL spec 2.6.2)

BOOL = 0x10
MAP8, MAP16, MAP24, MAP32 = 0x18, 0x19, 0x1A, 0x1B
UINT8, UINT16, UINT24, UINT32, UINT40, UINT48 = 0x20, 0x21, 0x22, 0x23, 0x24, 0x25
INT8, INT16, INT24, INT32 = 0x28, 0x29, 0x2A, 0x2B
ENUM8, ENUM16 = 0x30, 0x31
SEMI, SINGLE, DOUBLE = 0x38, 0x39, 0x3A
OCTSTR, CHARSTR, LONG_OCTSTR, LONG_CHARSTR = 0x41, 0x42, 0x43, 0x44
UTC = 0xE2
CLUSTER_ID, ATTR_ID = 0xE8, 0xE9
EUI64 = 0xF0
KEY128 = 0xF1

_UNSIGNED = {
    0x08: 1,
    0x09: 2,
    0x0A: 3,
    0x0B: 4,
    0x0C: 5,
    0x0D: 6,
    0x0E: 7,
    0x0F: 8,  # dataN
    BOOL: 1,
    MAP8: 1,
    MAP16: 2,
    MAP24: 3,
    MAP32: 4,
    0x1C: 5,
    0x1D: 6,
    0x1E: 7,
    0x1F: 8,
    UINT8: 1,
    UINT16: 2,
    UINT24: 3,
    UINT32: 4,
    UINT40: 5,
    UINT48: 6,
    0x26: 7,
    0x27: 8,
    ENUM8: 1,
    ENUM16: 2,
    0xE0: 4,
    0xE1: 4,
    UTC: 4,
    CLUSTER_ID: 2,
    ATTR_ID: 2,
    0xEA: 4,
}
_SIGNED = {INT8: 1, INT16: 2, INT24: 3, INT32: 4, 0x2C: 5, 0x2D: 6, 0x2E: 7, 0x2F: 8}


@dataclass(frozen=True)
class Typed:
    """An attribute value with an explicit ZCL data type, for attributes the built-in table does not know."""

    type_id: int
    value: Any


def encode_value(type_id: int, value: Any) -> bytes:
    if type_id in _UNSIGNED:
        return int(value).to_bytes(_UNSIGNED[type_id], "little", signed=False)
    if type_id in _SIGNED:
        return int(value).to_bytes(_SIGNED[type_id], "little", signed=True)
    if type_id == SINGLE:
        return struct.pack("<f", float(value))
    if type_id == DOUBLE:
        return struct.pack("<d", float(value))
    if type_id == SEMI:
        return struct.pack("<e", float(value))
    if type_id in (OCTSTR, CHARSTR):
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return bytes([len(raw)]) + raw
    if type_id in (LONG_OCTSTR, LONG_CHARSTR):
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return len(raw).to_bytes(2, "little") + raw
    if type_id == EUI64:
        return ieee_to_bytes(value)
    if type_id == KEY128:
        return bytes(value)
    raise ValueError(f"unsupported ZCL data type 0x{type_id:02x}")


def decode_value(type_id: int, data: bytes) -> tuple[Any, bytes]:
    if type_id in _UNSIGNED:
        n = _UNSIGNED[type_id]
        _need(data, n)
        value: Any = int.from_bytes(data[:n], "little")
        return (bool(value) if type_id == BOOL else value), data[n:]
    if type_id in _SIGNED:
        n = _SIGNED[type_id]
        _need(data, n)
        return int.from_bytes(data[:n], "little", signed=True), data[n:]
    if type_id == SINGLE:
        _need(data, 4)
        return struct.unpack("<f", data[:4])[0], data[4:]
    if type_id == DOUBLE:
        _need(data, 8)
        return struct.unpack("<d", data[:8])[0], data[8:]
    if type_id == SEMI:
        _need(data, 2)
        return struct.unpack("<e", data[:2])[0], data[2:]
    if type_id in (OCTSTR, CHARSTR):
        _need(data, 1)
        n = data[0] if data[0] != 0xFF else 0
        _need(data, 1 + n)
        raw = bytes(data[1 : 1 + n])
        return (raw.decode(errors="replace") if type_id == CHARSTR else raw), data[1 + n :]
    if type_id in (LONG_OCTSTR, LONG_CHARSTR):
        _need(data, 2)
        n = int.from_bytes(data[:2], "little")
        n = 0 if n == 0xFFFF else n
        _need(data, 2 + n)
        raw = bytes(data[2 : 2 + n])
        return (raw.decode(errors="replace") if type_id == LONG_CHARSTR else raw), data[2 + n :]
    if type_id == EUI64:
        _need(data, 8)
        return bytes_to_ieee(data[:8]), data[8:]
    if type_id == KEY128:
        _need(data, 16)
        return bytes(data[:16]), data[16:]
    raise ValueError(f"unsupported ZCL data type 0x{type_id:02x}")


def _need(data: bytes, n: int) -> None:
    if len(data) < n:
        raise ValueError("ZCL payload truncated")


def ieee_to_bytes(ieee: str | bytes) -> bytes:
    """'00:0d:6f:...' (most significant byte first, as printed) -> 8 bytes little endian, as on the air."""
    if isinstance(ieee, bytes | bytearray):
        return bytes(ieee)
    raw = bytes(int(part, 16) for part in str(ieee).split(":"))
    if len(raw) != 8:
        raise ValueError(f"bad IEEE address {ieee!r}")
    return raw[::-1]


def bytes_to_ieee(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in bytes(raw)[::-1])


def normalize_ieee(ieee: Any) -> str:
    """Any spelling of an IEEE address (str with : or without, zigpy EUI64) -> 'aa:bb:..' lower case."""
    text = str(ieee).strip().lower().replace("-", ":")
    if ":" not in text and len(text) == 16:
        text = ":".join(text[i : i + 2] for i in range(0, 16, 2))
    return bytes_to_ieee(ieee_to_bytes(text))


# ---------------------------------------------------------------------------------------------------------------
# Attribute data types of the clusters the simulated devices implement (ZCL spec, chapter per cluster)

ATTRIBUTE_TYPES: dict[tuple[int, int], int] = {
    # Basic
    (0x0000, 0x0000): UINT8,
    (0x0000, 0x0001): UINT8,
    (0x0000, 0x0002): UINT8,
    (0x0000, 0x0003): UINT8,
    (0x0000, 0x0004): CHARSTR,
    (0x0000, 0x0005): CHARSTR,
    (0x0000, 0x0006): CHARSTR,
    (0x0000, 0x0007): ENUM8,
    (0x0000, 0x4000): CHARSTR,
    # Power configuration
    (0x0001, 0x0020): UINT8,
    (0x0001, 0x0021): UINT8,
    (0x0001, 0x0031): ENUM8,
    (0x0001, 0x0033): UINT8,
    (0x0001, 0x003E): MAP32,
    # Identify
    (0x0003, 0x0000): UINT16,
    # Groups
    (0x0004, 0x0000): MAP8,
    # On/Off
    (0x0006, 0x0000): BOOL,
    (0x0006, 0x4003): ENUM8,
    # Level control
    (0x0008, 0x0000): UINT8,
    (0x0008, 0x0001): UINT16,
    (0x0008, 0x000F): MAP8,
    (0x0008, 0x0011): UINT8,
    # Door lock
    (0x0101, 0x0000): ENUM8,
    (0x0101, 0x0001): ENUM8,
    (0x0101, 0x0002): BOOL,
    # Window covering
    (0x0102, 0x0000): ENUM8,
    (0x0102, 0x0003): UINT16,
    (0x0102, 0x0004): UINT16,
    (0x0102, 0x0007): MAP8,
    (0x0102, 0x0008): UINT8,
    (0x0102, 0x0009): UINT8,
    (0x0102, 0x0017): MAP8,
    # Thermostat
    (0x0201, 0x0000): INT16,
    (0x0201, 0x0011): INT16,
    (0x0201, 0x0012): INT16,
    (0x0201, 0x001B): ENUM8,
    (0x0201, 0x001C): ENUM8,
    (0x0201, 0x0029): MAP16,
    # Color control
    (0x0300, 0x0000): UINT8,
    (0x0300, 0x0001): UINT8,
    (0x0300, 0x0003): UINT16,
    (0x0300, 0x0004): UINT16,
    (0x0300, 0x0007): UINT16,
    (0x0300, 0x0008): ENUM8,
    (0x0300, 0x400A): MAP16,
    # Measurement: illuminance, temperature, pressure, humidity, occupancy
    (0x0400, 0x0000): UINT16,
    (0x0402, 0x0000): INT16,
    (0x0402, 0x0001): INT16,
    (0x0402, 0x0002): INT16,
    (0x0403, 0x0000): INT16,
    (0x0405, 0x0000): UINT16,
    (0x0405, 0x0001): UINT16,
    (0x0405, 0x0002): UINT16,
    (0x0406, 0x0000): MAP8,
    (0x0406, 0x0001): ENUM8,
    # IAS zone
    (0x0500, 0x0000): ENUM8,
    (0x0500, 0x0001): ENUM16,
    (0x0500, 0x0002): MAP16,
    (0x0500, 0x0010): EUI64,
    (0x0500, 0x0011): UINT8,
    # Metering
    (0x0702, 0x0000): UINT48,
    (0x0702, 0x0300): ENUM8,
    (0x0702, 0x0301): UINT24,
    (0x0702, 0x0302): UINT24,
    (0x0702, 0x0303): MAP8,
    (0x0702, 0x0306): MAP8,
    (0x0702, 0x0400): INT24,
    # Electrical measurement
    (0x0B04, 0x0000): MAP32,
    (0x0B04, 0x0505): UINT16,
    (0x0B04, 0x0508): UINT16,
    (0x0B04, 0x050B): INT16,
    (0x0B04, 0x0600): UINT16,
    (0x0B04, 0x0601): UINT16,
    (0x0B04, 0x0602): UINT16,
    (0x0B04, 0x0603): UINT16,
    (0x0B04, 0x0604): UINT16,
    (0x0B04, 0x0605): UINT16,
}


def attribute_type(cluster: int, attr: int, value: Any) -> int:
    """The ZCL data type of an attribute: explicit, from the table, from zigpy's cluster definitions, or guessed."""
    if isinstance(value, Typed):
        return value.type_id
    if (cluster, attr) in ATTRIBUTE_TYPES:
        return ATTRIBUTE_TYPES[(cluster, attr)]
    try:  # zigpy's cluster definitions only as a data-type dictionary for attributes nobody typed
        import zigpy.zcl

        definition = zigpy.zcl.Cluster._registry[cluster].attributes[attr]
        zcl_type = getattr(definition, "zcl_type", None)
        if zcl_type is not None:
            return int(zcl_type)
    except (KeyError, AttributeError, ImportError):
        pass
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, str):
        return CHARSTR
    if isinstance(value, bytes):
        return OCTSTR
    if isinstance(value, float):
        return SINGLE
    if isinstance(value, int) and value < 0:
        return INT32
    return UINT32 if isinstance(value, int) and value > 0xFFFF else UINT16


def plain(value: Any) -> Any:
    return value.value if isinstance(value, Typed) else value


# ---------------------------------------------------------------------------------------------------------------
# ZCL frames (ZCL spec 2.4)

GLOBAL, CLUSTER_SPECIFIC = 0, 1
CLIENT_TO_SERVER, SERVER_TO_CLIENT = 0, 1

READ_ATTRIBUTES = 0x00
READ_ATTRIBUTES_RSP = 0x01
WRITE_ATTRIBUTES = 0x02
WRITE_ATTRIBUTES_UNDIVIDED = 0x03
WRITE_ATTRIBUTES_RSP = 0x04
WRITE_ATTRIBUTES_NO_RSP = 0x05
CONFIGURE_REPORTING = 0x06
CONFIGURE_REPORTING_RSP = 0x07
READ_REPORTING_CONFIG = 0x08
READ_REPORTING_CONFIG_RSP = 0x09
REPORT_ATTRIBUTES = 0x0A
DEFAULT_RSP = 0x0B
DISCOVER_ATTRIBUTES = 0x0C
DISCOVER_ATTRIBUTES_RSP = 0x0D

# ZCL status codes (ZCL spec 2.6.3)
SUCCESS = 0x00
FAILURE = 0x01
NOT_AUTHORIZED = 0x7E
MALFORMED_COMMAND = 0x80
UNSUP_CLUSTER_COMMAND = 0x81
UNSUP_GENERAL_COMMAND = 0x82
INVALID_FIELD = 0x85
UNSUPPORTED_ATTRIBUTE = 0x86
INVALID_VALUE = 0x87
READ_ONLY = 0x88
INVALID_DATA_TYPE = 0x8D
UNREPORTABLE_ATTRIBUTE = 0x8C
UNSUPPORTED_CLUSTER = 0xC3


@dataclass
class ZclFrame:
    frame_type: int
    command: int
    tsn: int
    payload: bytes = b""
    direction: int = CLIENT_TO_SERVER
    disable_default_response: bool = False
    manufacturer: int | None = None

    @classmethod
    def parse(cls, data: bytes) -> ZclFrame:
        if len(data) < 3:
            raise ValueError("ZCL frame too short")
        fc = data[0]
        offset = 1
        manufacturer = None
        if fc & 0x04:
            if len(data) < 5:
                raise ValueError("ZCL frame too short")
            manufacturer = int.from_bytes(data[1:3], "little")
            offset = 3
        return cls(
            frame_type=fc & 0x03,
            manufacturer=manufacturer,
            direction=(fc >> 3) & 1,
            disable_default_response=bool(fc & 0x10),
            tsn=data[offset],
            command=data[offset + 1],
            payload=bytes(data[offset + 2 :]),
        )

    def serialize(self) -> bytes:
        fc = self.frame_type | (self.direction << 3) | (0x10 if self.disable_default_response else 0)
        head = bytearray()
        if self.manufacturer is not None:
            fc |= 0x04
            head += self.manufacturer.to_bytes(2, "little")
        return bytes([fc]) + bytes(head) + bytes([self.tsn & 0xFF, self.command]) + self.payload


def u16(value: int) -> bytes:
    return int(value).to_bytes(2, "little")


def u8(value: int) -> bytes:
    return bytes([int(value) & 0xFF])


# ---------------------------------------------------------------------------------------------------------------
# ZDO (Zigbee spec 2.4.3 / 2.4.4)

NWK_ADDR_REQ = 0x0000
IEEE_ADDR_REQ = 0x0001
NODE_DESC_REQ = 0x0002
POWER_DESC_REQ = 0x0003
SIMPLE_DESC_REQ = 0x0004
ACTIVE_EP_REQ = 0x0005
MATCH_DESC_REQ = 0x0006
DEVICE_ANNCE = 0x0013
BIND_REQ = 0x0021
UNBIND_REQ = 0x0022
MGMT_LQI_REQ = 0x0031
MGMT_RTG_REQ = 0x0032
MGMT_BIND_REQ = 0x0033
MGMT_LEAVE_REQ = 0x0034
MGMT_PERMIT_JOINING_REQ = 0x0036
MGMT_NWK_UPDATE_REQ = 0x0038

ZDO_SUCCESS = 0x00
ZDO_DEVICE_NOT_FOUND = 0x81
ZDO_INVALID_EP = 0x82
ZDO_NOT_ACTIVE = 0x83
ZDO_NOT_SUPPORTED = 0x84

LOGICAL_COORDINATOR, LOGICAL_ROUTER, LOGICAL_END_DEVICE = 0, 1, 2


def node_descriptor(
    *,
    logical_type: int,
    mac_capabilities: int,
    manufacturer_code: int,
    server_mask: int,
    buffer_size: int = 82,
    transfer_size: int = 82,
) -> bytes:
    """13-byte Node Descriptor (Zigbee spec 2.3.2.3): logical type, 2.4 GHz band, MAC capabilities, ..."""
    byte1 = logical_type & 0x07
    byte2 = 0x40  # APS flags 0, frequency band bit 3 (2400 MHz) of the 5-bit field
    return (
        bytes([byte1, byte2, mac_capabilities])
        + u16(manufacturer_code)
        + bytes([buffer_size])
        + u16(transfer_size)
        + u16(server_mask)
        + u16(transfer_size)
        + bytes([0])
    )


def simple_descriptor(
    endpoint: int, profile: int, device_type: int, device_version: int, in_clusters: list[int], out_clusters: list[int]
) -> bytes:
    body = (
        bytes([endpoint])
        + u16(profile)
        + u16(device_type)
        + bytes([device_version & 0x0F])
        + bytes([len(in_clusters)])
        + b"".join(u16(c) for c in in_clusters)
        + bytes([len(out_clusters)])
        + b"".join(u16(c) for c in out_clusters)
    )
    return bytes([len(body)]) + body
