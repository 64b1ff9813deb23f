"""``[drivers.ble]``: the adapter, which sensors become devices, when they count as gone, and active links."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hearth.sdk.settings import parse_driver_settings
from hearth_ble.formats.characteristic import LAYOUTS
from hearth_ble.mapping import NUMERIC_STATES

_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_SHORT_UUID = re.compile(r"^(0x)?[0-9A-Fa-f]{4}$")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def normal_mac(text: str) -> str:
    """``a4:c1:38:...`` -> ``A4:C1:38:...`` (BlueZ's spelling, and our device address); ValueError otherwise."""
    if not _MAC.match(text):
        raise ValueError(f"{text!r} is not a Bluetooth address (AA:BB:CC:DD:EE:FF)")
    return text.upper()


def normal_uuid(text: str) -> str:
    """A GATT UUID in its 128-bit lower-case form; a 16-bit one (``2a6e``) is widened on the SIG base."""
    if _SHORT_UUID.match(text):
        return f"0000{text.lower().removeprefix('0x')}-0000-1000-8000-00805f9b34fb"
    if _UUID.match(text):
        return text.lower()
    raise ValueError(f"{text!r} is not a UUID (2a6e or 00002a6e-0000-1000-8000-00805f9b34fb)")


class LinkSettings(BaseModel):
    """One device the gateway connects to, and one characteristic of it read into one state."""

    model_config = ConfigDict(extra="forbid")
    address: str
    characteristic: str
    state: str
    # How the characteristic's bytes hold the number (formats/characteristic.py), and its scale.
    layout: str = "int16le"
    factor: float = 0.01
    read: bool = True
    notify: bool = True
    label: str = Field("", max_length=64)

    @field_validator("address")
    @classmethod
    def _mac(cls, value: str) -> str:
        return normal_mac(value)

    @field_validator("characteristic")
    @classmethod
    def _uuid(cls, value: str) -> str:
        return normal_uuid(value)

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if value not in NUMERIC_STATES:
            raise ValueError(f"must be one of {', '.join(sorted(NUMERIC_STATES))}")
        return value

    @field_validator("layout")
    @classmethod
    def _known_layout(cls, value: str) -> str:
        if value not in LAYOUTS:
            raise ValueError(f"must be one of {', '.join(LAYOUTS)}")
        return value

    @model_validator(mode="after")
    def _does_something(self) -> LinkSettings:
        if not (self.read or self.notify):
            raise ValueError("read, notify: at least one must be true")
        return self


class BleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    adapter: str = Field("hci0", pattern=r"^hci[0-9]{1,3}$")
    # active: BlueZ discovery (scan requests, works everywhere). passive: an advertisement monitor on the
    # service data we read, nothing sent on air (BlueZ >= 5.56 run with --experimental, Linux >= 5.10).
    scanning_mode: str = Field("active", pattern="^(active|passive)$")
    # Which advertisers become devices: every sensor heard (auto_add), or only the addresses listed.
    auto_add: bool = False
    allow: list[str] = Field(default_factory=list)
    # A flood of forged addresses must not fill the gateway: past this many BLE devices, new ones are ignored.
    max_devices: int = Field(200, ge=1, le=10000)
    # A sensor not heard for this long is unavailable, until its next advertisement.
    unavailable_after_s: float = Field(600, gt=0)
    # Signal strength is reported when it moved by at least this much (it changes with every packet).
    rssi_step_db: int = Field(5, ge=1, le=100)
    # A lost adapter or link is retried after this, doubling up to the max.
    reconnect_min_s: float = Field(1, gt=0)
    reconnect_max_s: float = Field(60, gt=0)
    connect_timeout_s: float = Field(20, gt=0)
    link: list[LinkSettings] = Field(default_factory=list)

    @field_validator("allow")
    @classmethod
    def _macs(cls, value: list[str]) -> list[str]:
        return [normal_mac(v) for v in value]

    @model_validator(mode="after")
    def _backoff(self) -> BleSettings:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s: must not be below reconnect_min_s")
        return self


def parse_settings(config: Mapping[str, object]) -> BleSettings:
    return parse_driver_settings(BleSettings, config)
