"""Bearer tokens with scopes, a temporary ban for addresses that keep guessing, and rate limits.

All of it is local: no check ever needs the internet.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from hearth.config import ApiSettings
from hearth.core.rate import TokenBucket
from hearth.model.errors import ApiError, ErrorCode
from hearth.store.tokens import Scope, TokenInfo, TokenStore

NOT_AUTHENTICATED = "Not authenticated"
MISSING_TOKEN = "Missing authorization token"
BANNED = "Too many attempts with an invalid token, temporarily banned"


@dataclass(slots=True)
class Caller:
    token: TokenInfo
    address: str

    @property
    def owner(self) -> str:
        return self.token.label or f"token {self.token.id[:8]}"


class BanList:
    """Addresses that sent ``limit`` bad tokens within ``window_s`` are refused for ``ban_s``."""

    def __init__(self, limit: int, window_s: float, ban_s: float) -> None:
        self.limit, self.window_s, self.ban_s = limit, window_s, ban_s
        self._failures: dict[str, deque[float]] = {}
        self._banned: dict[str, float] = {}

    def is_banned(self, address: str) -> bool:
        until = self._banned.get(address)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._banned[address]
            return False
        return True

    def failure(self, address: str) -> None:
        now = time.monotonic()
        failures = self._failures.setdefault(address, deque())
        failures.append(now)
        while failures and failures[0] < now - self.window_s:
            failures.popleft()
        if len(failures) >= self.limit:
            self._banned[address] = now + self.ban_s
            failures.clear()
        if len(self._failures) > 10_000:  # a flood of addresses must not grow memory without bound
            self._failures.clear()


class RateLimiter:
    """Per token and category (exec, bulk, polling), as the End-User API's quotas, but generous."""

    def __init__(self, settings: ApiSettings) -> None:
        self._limits = {
            "exec": (settings.rate_exec_per_s, settings.rate_exec_burst),
            "bulk": (settings.rate_bulk_per_s, settings.rate_bulk_burst),
            "polling": (settings.rate_polling_per_s, settings.rate_polling_burst),
        }
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def check(self, key: str, category: str) -> None:
        bucket = self._buckets.get((key, category))
        if bucket is None:
            bucket = self._buckets[(key, category)] = TokenBucket(*self._limits[category])
        if not bucket.take():
            raise ApiError(429, ErrorCode.TOO_MANY_REQUESTS, f"Too many requests ({category})")


class Authenticator:
    def __init__(self, tokens: TokenStore, settings: ApiSettings) -> None:
        self.tokens = tokens
        self.bans = BanList(settings.ban_after_failures, settings.ban_window_s, settings.ban_s)
        self.rates = RateLimiter(settings)

    @staticmethod
    def require(caller: Caller, needed: Scope) -> None:
        if not caller.token.scope.allows(needed):
            raise ApiError(
                403,
                ErrorCode.RESOURCE_ACCESS_DENIED,
                f"Access denied: this token's scope is {caller.token.scope.value}, {needed.value} is needed",
            )

    async def authenticate(self, authorization: str | None, address: str, needed: Scope) -> Caller:
        if self.bans.is_banned(address):
            raise ApiError(429, ErrorCode.RESOURCE_ACCESS_DENIED, BANNED)
        if not authorization:
            raise ApiError(401, ErrorCode.RESOURCE_ACCESS_DENIED, MISSING_TOKEN)
        scheme, _, token = authorization.partition(" ")
        info = await self.tokens.verify(token.strip()) if scheme.lower() == "bearer" and token else None
        if info is None:
            self.bans.failure(address)
            raise ApiError(401, ErrorCode.RESOURCE_ACCESS_DENIED, NOT_AUTHENTICATED)
        caller = Caller(info, address)
        self.require(caller, needed)
        return caller
