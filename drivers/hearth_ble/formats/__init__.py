"""Advertisement formats: pure decoders from a BLE advertisement's service data to named measurements.

Every decoder takes bytes from the air and returns a ``Reading`` or None. None means "not ours, or not
usable" (truncated, wrong length, encrypted, a version we do not read); a decoder never raises on any input.
Measurement names are BTHome's (``temperature``, ``humidity``, ``battery``, ``motion`` ...), whatever the
format, so the mapping to Hearth states (``hearth_ble.mapping``) is written once.
"""

from __future__ import annotations

from collections.abc import Mapping

from hearth_ble.formats.atc import ATC_SERVICE_UUID, decode_atc
from hearth_ble.formats.bthome import BTHOME_SERVICE_UUID, decode_bthome
from hearth_ble.formats.mibeacon import MIBEACON_SERVICE_UUID, decode_mibeacon
from hearth_ble.formats.reading import Reading, Value

__all__ = [
    "ATC_SERVICE_UUID",
    "BTHOME_SERVICE_UUID",
    "MIBEACON_SERVICE_UUID",
    "Reading",
    "Value",
    "decode_advertisement",
]


def decode_advertisement(service_data: Mapping[str, bytes]) -> Reading | None:
    """The first format this advertisement's service data is in, decoded; None if none fits."""
    payload = service_data.get(BTHOME_SERVICE_UUID)
    if payload is not None:
        return decode_bthome(bytes(payload))
    payload = service_data.get(ATC_SERVICE_UUID)
    if payload is not None:
        return decode_atc(bytes(payload))
    payload = service_data.get(MIBEACON_SERVICE_UUID)
    if payload is not None:
        return decode_mibeacon(bytes(payload))
    return None
