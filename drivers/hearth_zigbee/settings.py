"""``[drivers.zigbee]``: the radio, the network it forms, and how patient it is with devices."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hearth.sdk.settings import parse_driver_settings

_EPID = re.compile(r"^([0-9a-fA-F]{2}:){7}[0-9a-fA-F]{2}$")


class ZigbeeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # znp: TI Z-Stack (CC2652, CC1352); ezsp: Silicon Labs EmberZNet; deconz: ConBee / RaspBee.
    radio: str = Field("znp", pattern="^(znp|ezsp|deconz)$")
    # A serial device (/dev/ttyUSB0), or a URL zigpy understands (socket://host:port).
    port: str = Field("/dev/ttyUSB0", min_length=1)
    baudrate: int = Field(115200, gt=0)
    flow_control: str | None = Field(None, pattern="^(hardware|software)$")
    # Used when the network is formed (first start, createNetwork); a formed network keeps its own.
    channel: int = Field(15, ge=11, le=26)
    pan_id: int | None = Field(None, ge=1, le=0xFFFE)
    extended_pan_id: str | None = None
    # A device that has said nothing for this long is unavailable. Mains-powered routers answer link
    # status every 15 s; sleepy battery devices only check in with their reports (often every few hours).
    mains_unavailable_s: float = Field(2 * 3600, gt=0)
    battery_unavailable_s: float = Field(25 * 3600, gt=0)
    availability_check_s: float = Field(60, gt=0)
    # Longest a ZCL command may wait for the device's answer before the execution fails.
    command_timeout_s: float = Field(15, gt=0)
    # Reconnecting to a lost radio: first wait, then doubled up to the maximum.
    reconnect_min_s: float = Field(1, gt=0)
    reconnect_max_s: float = Field(60, gt=0)
    # Default permit-join window of openNetwork without a duration.
    permit_join_s: int = Field(120, ge=1, le=254)

    @field_validator("extended_pan_id")
    @classmethod
    def _epid(cls, value: str | None) -> str | None:
        if value is not None and not _EPID.match(value):
            raise ValueError("must be eight hex bytes separated by colons (dd:dd:dd:dd:dd:dd:dd:dd)")
        return value


def parse_settings(config: Mapping[str, object]) -> ZigbeeSettings:
    return parse_driver_settings(ZigbeeSettings, config)
