"""deviceURL: ``<protocol>://<gatewayId>/<deviceAddress>[#<subsystemId>]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

GATEWAY_ID_PATTERN = re.compile(r"^\d{4}-\d{4}-\d{4}$")
_PROTOCOL = re.compile(r"^[a-z][a-z0-9]{1,31}$")
# An address is what the radio calls the device: digits, hex, colons, dots, slashes for sub-paths.
_ADDRESS = re.compile(r"^[A-Za-z0-9:._\-/]{1,128}$")
_SUBSYSTEM = re.compile(r"^[0-9]{1,5}$")


class InvalidDeviceURL(ValueError):
    """The text is not a deviceURL; the message names the part that is wrong and why."""


@dataclass(frozen=True, slots=True)
class DeviceURL:
    protocol: str
    gateway_id: str
    address: str
    subsystem: int | None = None

    @classmethod
    def parse(cls, text: str) -> DeviceURL:
        if not isinstance(text, str):
            raise InvalidDeviceURL("deviceURL: must be a string")
        scheme, sep, rest = text.partition("://")
        if not sep:
            raise InvalidDeviceURL(f"deviceURL {text!r}: missing '://' after the protocol")
        if not _PROTOCOL.match(scheme):
            raise InvalidDeviceURL(f"deviceURL {text!r}: protocol {scheme!r} must be lowercase letters and digits")
        gateway_id, slash, tail = rest.partition("/")
        if not slash:
            raise InvalidDeviceURL(f"deviceURL {text!r}: missing '/' between gateway id and device address")
        if not GATEWAY_ID_PATTERN.match(gateway_id):
            raise InvalidDeviceURL(f"deviceURL {text!r}: gateway id {gateway_id!r} is not NNNN-NNNN-NNNN")
        address, hash_, subsystem = tail.partition("#")
        if not _ADDRESS.match(address):
            raise InvalidDeviceURL(f"deviceURL {text!r}: device address {address!r} is empty or has invalid characters")
        sub: int | None = None
        if hash_:
            if not _SUBSYSTEM.match(subsystem):
                raise InvalidDeviceURL(f"deviceURL {text!r}: subsystem id {subsystem!r} must be a number")
            sub = int(subsystem)
        return cls(scheme, gateway_id, address, sub)

    def __str__(self) -> str:
        base = f"{self.protocol}://{self.gateway_id}/{self.address}"
        return base if self.subsystem is None else f"{base}#{self.subsystem}"

    @property
    def base(self) -> DeviceURL:
        """The device without its subsystem (the physical node)."""
        return DeviceURL(self.protocol, self.gateway_id, self.address)

    def with_subsystem(self, subsystem: int | None) -> DeviceURL:
        return DeviceURL(self.protocol, self.gateway_id, self.address, subsystem)
