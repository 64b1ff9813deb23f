"""Local API tokens: made here, shown once, kept only as a SHA-256 hash.

A token carries 256 random bits, so a fast hash is enough: there is nothing to brute-force that a slow
password hash would protect. Lookups are by hash, so verifying a token is one indexed read.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from hearth.store.database import Database

TOKEN_PREFIX = "hth_"


class Scope(StrEnum):
    VIEW = "view"
    CONTROL = "control"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        order = (Scope.VIEW, Scope.CONTROL, Scope.ADMIN)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    label: str
    scope: Scope
    creation_time: int
    last_use_time: int | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    # A verified token is trusted from memory this long: a revocation made by another process (the
    # `hearth token revoke` command) takes effect within it; one made through the API at once.
    CACHE_S = 5.0

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, tuple[TokenInfo, float]] = {}

    async def reserve(self) -> str:
        """A fresh token value, not yet valid (see ``activate``)."""
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    async def create(self, scope: Scope, label: str = "") -> tuple[str, TokenInfo]:
        token = await self.reserve()
        return token, await self.activate(token, scope, label)

    async def activate(self, token: str, scope: Scope, label: str = "") -> TokenInfo:
        info = TokenInfo(str(uuid.uuid4()), label[:128], Scope(scope), int(time.time() * 1000), None)
        await self._db.execute(
            "INSERT INTO tokens (id, label, scope, hash, creation_time) VALUES (?, ?, ?, ?, ?)",
            (info.id, info.label, info.scope.value, hash_token(token), info.creation_time),
        )
        return info

    async def verify(self, token: str) -> TokenInfo | None:
        digest = hash_token(token)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        row = await self._db.fetchone(
            "SELECT id, label, scope, creation_time, last_use_time FROM tokens WHERE hash = ?", (digest,)
        )
        if row is None:
            return None
        info = TokenInfo(row[0], row[1], Scope(row[2]), row[3], row[4])
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[digest] = (info, time.monotonic() + self.CACHE_S)
        return info

    async def list(self) -> list[TokenInfo]:
        rows = await self._db.fetchall(
            "SELECT id, label, scope, creation_time, last_use_time FROM tokens ORDER BY creation_time"
        )
        return [TokenInfo(r[0], r[1], Scope(r[2]), r[3], r[4]) for r in rows]

    async def delete(self, token_id: str) -> bool:
        removed = await self._db.execute("DELETE FROM tokens WHERE id = ?", (token_id,))
        self._cache.clear()
        return removed > 0

    async def count(self) -> int:
        row = await self._db.fetchone("SELECT COUNT(*) FROM tokens")
        return int(row[0]) if row else 0
