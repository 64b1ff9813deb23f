"""What every route needs: the gateway, and guards that authenticate and rate-limit the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from fastapi import Depends, Request
from starlette.convertors import Convertor, register_url_convertor

from hearth.api.auth import Authenticator, Caller
from hearth.api.listeners import ListenerRegistry
from hearth.config import ApiSettings
from hearth.store.tokens import Scope

if TYPE_CHECKING:
    from hearth.app import Gateway

BASE = "/enduser-mobile-web/1/enduserAPI"


class DeviceURLConvertor(Convertor[str]):
    """A deviceURL in a path (percent-decoded by the server): ``<protocol>://<gatewayId>/<address>[#n]``.

    Clients encode ``/`` and ``#``; some collapse ``//``, which is put back.
    """

    regex = r"[a-z][a-z0-9]*:/{1,2}[0-9]{4}-[0-9]{4}-[0-9]{4}/[^/]+"

    def convert(self, value: str) -> str:
        value = unquote(value)
        protocol, _, rest = value.partition(":")
        return f"{protocol}://{rest.lstrip('/')}"

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("deviceurl", DeviceURLConvertor())


@dataclass(slots=True)
class ApiContext:
    gateway: Gateway
    auth: Authenticator
    listeners: ListenerRegistry
    settings: ApiSettings


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Guard:
    """``Depends`` for each scope, optionally with a rate-limit category."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def _dep(self, scope: Scope, category: str | None) -> Callable[[Request], Awaitable[Caller]]:
        auth = self._ctx.auth

        async def guard(request: Request) -> Caller:
            caller = await auth.authenticate(request.headers.get("authorization"), _client_address(request), scope)
            if category is not None:
                auth.rates.check(caller.token.id, category)
            return caller

        return guard

    def view(self, category: str | None = None) -> Caller:
        return Depends(self._dep(Scope.VIEW, category))  # type: ignore[no-any-return]

    def control(self, category: str | None = None) -> Caller:
        return Depends(self._dep(Scope.CONTROL, category))  # type: ignore[no-any-return]

    def admin(self, category: str | None = None) -> Caller:
        return Depends(self._dep(Scope.ADMIN, category))  # type: ignore[no-any-return]
