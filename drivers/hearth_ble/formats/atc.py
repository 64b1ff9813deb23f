"""The custom firmwares of Xiaomi LYWSD03MMC-style thermometers: service data of UUID 0x181A.

Two layouts, told apart by their length:
- ATC1441 (13 bytes, big-endian): MAC (6), temperature int16 in 0.1 °C, humidity uint8 in %, battery uint8
  in %, battery uint16 in mV, frame counter uint8.
- pvvx "custom" (15 bytes, little-endian): MAC (6, reversed), temperature int16 in 0.01 °C, humidity uint16
  in 0.01 %, battery uint16 in mV, battery uint8 in %, measurement counter uint8, flags uint8.
Any other length (pvvx's encrypted variants among them) is not read.
"""

from __future__ import annotations

import struct

from hearth_ble.formats.reading import Reading

ATC_SERVICE_UUID = "0000181a-0000-1000-8000-00805f9b34fb"

_ATC1441 = struct.Struct(">6shBBHB")
_PVVX = struct.Struct("<6shHHBBB")


def decode_atc(payload: bytes) -> Reading | None:
    if len(payload) == _ATC1441.size:
        _mac, temp, humidity, battery, millivolts, counter = _ATC1441.unpack(payload)
        return Reading(
            "atc1441",
            {
                "temperature": round(temp * 0.1, 1),
                "humidity": humidity,
                "battery": battery,
                "voltage": round(millivolts / 1000, 3),
            },
            counter,
        )
    if len(payload) == _PVVX.size:
        _mac, temp, humidity, millivolts, battery, counter, _flags = _PVVX.unpack(payload)
        return Reading(
            "pvvx",
            {
                "temperature": round(temp * 0.01, 2),
                "humidity": round(humidity * 0.01, 2),
                "battery": battery,
                "voltage": round(millivolts / 1000, 3),
            },
            counter,
        )
    return None
