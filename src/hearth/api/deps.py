"""What every route needs: the gateway, and guards that authenticate and rate-limit the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from fastapi import Depends, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as ASGIScope

from hearth.api.auth import Authenticator, Caller
from hearth.api.errors import error_response
from hearth.api.listeners import ListenerRegistry
from hearth.config import ApiSettings
from hearth.model.errors import ApiError
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


class AuthenticationGate:
    """Checks the bearer token of every End-User API request before anything reads its body.

    An unauthenticated caller learns nothing, not even whether its body would have been valid. The routes'
    guards then check the scope each route needs. ``apiVersion`` and the WebSocket (which authenticates
    with its first message) pass through.
    """

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth
        self.prefix = BASE + "/"
        self.open = {BASE + "/apiVersion"}

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix) or scope["path"] in self.open:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization")
        client = scope.get("client")
        try:
            caller = await self.auth.authenticate(
                authorization.decode("latin-1") if authorization else None,
                client[0] if client else "unknown",
                Scope.VIEW,
            )
        except ApiError as exc:
            await error_response(exc.status, exc.code, exc.message)(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


class Guard:
    """``Depends`` for each scope, optionally with a rate-limit category."""

    def __init__(self, ctx: ApiContext) -> None:
        self._ctx = ctx

    def _dep(self, scope: Scope, category: str | None) -> Callable[[Request], Awaitable[Caller]]:
        auth = self._ctx.auth

        async def guard(request: Request) -> Caller:
            # AuthenticationGate has already checked the token (before the body was read); reuse it.
            caller: Caller | None = request.scope.get("state", {}).get("caller")
            if caller is None:
                caller = await auth.authenticate(request.headers.get("authorization"), _client_address(request), scope)
            else:
                auth.require(caller, scope)
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
