"""Our virtual RTS remotes: addresses allocated by the gateway, and their keys and rolling codes.

A motor accepts a frame only if its rolling code is above the last one it saw from that remote (within a
window), so a code must never be sent twice: ``RollingCodeStore.next`` writes the incremented code durably
(the driver's crash-safe storage, a row in SQLite, fsynced) and only then hands it out. A crash between the
write and the send burns one code, which the motor's window absorbs; a code is never reused.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

# RFY ids are 20 bits (RFXtrx), RTS addresses 24: our remotes live in 20 bits so both transmitters use them.
ADDRESS_BITS = 20
CHANNELS = 4096  # remotes per gateway, each a channel of the End-User API (GET /config/{gw}/rts/channel)
KEY_BASE = "remotes.base"
KEY_NEXT_CHANNEL = "remotes.nextChannel"


@dataclass(frozen=True, slots=True)
class Frame:
    """What one send needs: the remote, its encryption key (0xA0 | counter) and the rolling code."""

    address: int
    key: int
    code: int


def _remote_key(address: int) -> str:
    return f"remote.{address:06x}"


class RollingCodeStore:
    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self._lock = asyncio.Lock()

    async def base(self) -> int:
        """This gateway's first remote address, chosen at random once, so neighbours' gateways differ."""
        base = await self.storage.get(KEY_BASE)
        if not isinstance(base, int):
            base = (secrets.randbelow((1 << ADDRESS_BITS) // CHANNELS - 1) + 1) * CHANNELS
            await self.storage.put(KEY_BASE, base)
        return base

    async def free_channel(self) -> int:
        """The next channel never used on this gateway (a motor may still listen to a deleted device's)."""
        value = await self.storage.get(KEY_NEXT_CHANNEL)
        channel = value if isinstance(value, int) else 1
        if channel >= CHANNELS:
            raise ValueError(f"all {CHANNELS - 1} RTS channels of this gateway are used")
        return channel

    async def claim(self, channel: int) -> int:
        """Make the remote of ``channel`` (a new key and code 0) and return its address."""
        async with self._lock:
            if not 1 <= channel < CHANNELS:
                raise ValueError(f"RTS channel {channel} is out of range (1 to {CHANNELS - 1})")
            address = await self.base() + channel
            if await self.storage.get(_remote_key(address)) is not None:
                raise ValueError(f"RTS channel {channel} is already used by a device")
            await self.storage.put(_remote_key(address), {"key": 0xA0 | secrets.randbelow(16), "code": 0})
            following = max(channel + 1, await self.free_channel())
            await self.storage.put(KEY_NEXT_CHANNEL, following)
            return address

    async def next(self, address: int) -> Frame:
        """The key and code of the next frame of this remote, durably recorded before they are returned."""
        async with self._lock:
            remote = await self.storage.get(_remote_key(address))
            if not isinstance(remote, dict):
                raise KeyError(f"no RTS remote at address {address:06x}")
            key = 0xA0 | ((int(remote["key"]) + 1) & 0x0F)
            code = (int(remote["code"]) + 1) & 0xFFFF
            await self.storage.put(_remote_key(address), {"key": key, "code": code})
            return Frame(address, key, code)

    async def raise_code(self, address: int, code: int) -> None:
        """Set a remote's rolling code to a higher one (never lower: the motor would ignore us)."""
        async with self._lock:
            remote = await self.storage.get(_remote_key(address))
            if not isinstance(remote, dict):
                raise KeyError(f"no RTS remote at address {address:06x}")
            if not int(remote["code"]) < code <= 0xFFFF:
                raise ValueError(f"the rolling code can only go up (now {remote['code']}, asked {code})")
            await self.storage.put(_remote_key(address), {"key": remote["key"], "code": code})

    async def code(self, address: int) -> int | None:
        remote = await self.storage.get(_remote_key(address))
        return int(remote["code"]) if isinstance(remote, dict) else None
