"""The gateway's identity: its id (``NNNN-NNNN-NNNN``) and setup OID, made at first start and kept."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from hearth.store.repositories import SettingsRepository


@dataclass(frozen=True, slots=True)
class Identity:
    gateway_id: str
    setup_oid: str
    first_start: bool


def new_gateway_id() -> str:
    digits = "".join(str(secrets.randbelow(10)) for _ in range(12))
    return f"{digits[0:4]}-{digits[4:8]}-{digits[8:12]}"


async def load_identity(settings: SettingsRepository, pinned_id: str = "") -> Identity:
    gateway_id = await settings.get("gateway_id")
    first_start = gateway_id is None
    if gateway_id is None:
        gateway_id = pinned_id or new_gateway_id()
        await settings.put("gateway_id", gateway_id)
    elif pinned_id and pinned_id != gateway_id:
        raise ValueError(f"gateway.id: the store belongs to gateway {gateway_id}, not {pinned_id}")
    setup_oid = await settings.get("setup_oid")
    if setup_oid is None:
        setup_oid = str(uuid.uuid4())
        await settings.put("setup_oid", setup_oid)
    return Identity(gateway_id, setup_oid, first_start)
