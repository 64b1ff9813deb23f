"""Zigbee install codes: what the End-User API's commissioning codes mean for a Zigbee radio.

A code admits one device, named by its IEEE address, with the link key derived from its install code (Zigbee
3.0, AES-MMO hash of the code and its CRC). Two spellings are understood:

- the QR code printed on the device, in any of the formats zigpy knows (``Z:<ieee>$I:<code>``, Hue, Aqara, ...);
- the install code alone in hexadecimal (8, 10, 14 or 18 bytes with its CRC), the IEEE address in
  ``commissioningId``.
"""

from __future__ import annotations

import re

import zigpy.types as zt
import zigpy.util

_HEX = re.compile(r"^[0-9a-fA-F]+$")


def parse(code: str, commissioning_id: str | None) -> tuple[zt.EUI64, zt.KeyData]:
    """The device's IEEE address and its link key; ValueError saying what is wrong otherwise."""
    compact = re.sub(r"[\s-]", "", code)
    if _HEX.match(compact):
        if not commissioning_id:
            raise ValueError("an install code alone needs the device's IEEE address in commissioningId")
        ieee = _eui64(commissioning_id)
        if len(compact) % 2:
            raise ValueError(f"install code {code!r} has an odd number of hex digits")
        return ieee, zigpy.util.convert_install_code(bytes.fromhex(compact))
    try:
        return zigpy.util.parse_install_code_qr(code.strip())
    except ValueError:
        raise ValueError(f"{code!r} is neither an install code nor a known QR code format") from None


def _eui64(text: str) -> zt.EUI64:
    digits = text.strip().replace(":", "").replace("-", "")
    if len(digits) != 16 or not _HEX.match(digits):
        raise ValueError(f"commissioningId {text!r} is not an IEEE address (16 hex digits)")
    return zt.EUI64.convert(":".join(digits[i : i + 2] for i in range(0, 16, 2)))
