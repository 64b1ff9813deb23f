"""The End-User API's protocol types: a prefix (``rts``) or its number (``2``), both accepted in paths."""

from __future__ import annotations

# In the API's order: the number of a protocol is its place here, from 1.
PREFIXES = (
    "io rts rtd rtds ramses enocean zwave camera ovp modbus modbuslink hue verisure internal jsw opendoors "
    "myfox somfythermostat zigbee upnpcontrol eliot wiser profalux868 ogp ogcp homekit august hlrrwifi "
    "rtn"
).split()


def protocol_prefix(text: str) -> str | None:
    """``"rts"`` or ``"2"`` -> ``"rts"``; None for anything else."""
    if text in PREFIXES:
        return text
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses (found by schemathesis).
    if text.isascii() and text.isdigit() and 1 <= int(text) <= len(PREFIXES):
        return PREFIXES[int(text) - 1]
    return None
