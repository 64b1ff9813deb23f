"""The FastAPI application: the End-User API under its base path, ``/health``, and the web page."""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hearth import PROTOCOL_VERSION, __version__
from hearth.api.auth import Authenticator
from hearth.api.deps import BASE, ApiContext, AuthenticationGate, Guard
from hearth.api.docs import install_docs
from hearth.api.edge import BodyGate, HeaderGate, raw_body_paths
from hearth.api.errors import install_error_handlers, json_response
from hearth.api.listeners import ListenerRegistry
from hearth.api.route_index import index_routes
from hearth.api.routes import (
    action_groups_execution,
    alerts,
    backup,
    calendar,
    conditions,
    device,
    device_lifecycle,
    device_pairing,
    events,
    execution,
    gateways,
    history,
    location,
    ops,
    protocol,
    protocol_group,
    reference,
    rts,
    setup,
    setup_automation,
    setup_options,
    setup_settings,
    state_history,
    synchronization,
    tokens,
    triggers,
    zigbee,
    zone,
    zwave,
)
from hearth.model.errors import ApiError, ErrorCode

if TYPE_CHECKING:
    from hearth.app import Gateway


class DoubleSlashFix:
    """pyoverkiz asks for ``.../enduserAPI//exec/current/setup/{id}``: route it like one slash.

    Only the slash right after the base path is folded; deviceURLs further on keep their ``//``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.bad = BASE + "//"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            if path.startswith(self.bad):
                scope = dict(scope)
                scope["path"] = BASE + "/" + path[len(self.bad) :].lstrip("/")
                raw: bytes = scope.get("raw_path") or b""
                if raw.startswith(self.bad.encode()):
                    scope["raw_path"] = BASE.encode() + b"/" + raw[len(self.bad) :].lstrip(b"/")
        await self.app(scope, receive, send)


# The web page (static/): plain files, no build step. Served from memory by name, so no path reaches outside it.
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# The page loads nothing from elsewhere (the box may be offline) and runs no inline script.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _static_files() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("hearth.api").joinpath("static")
    return {
        entry.name: (entry.read_bytes(), _CONTENT_TYPES[suffix])
        for entry in folder.iterdir()
        if entry.is_file() and (suffix := PurePosixPath(entry.name).suffix) in _CONTENT_TYPES
    }


def build_app(gateway: Gateway) -> FastAPI:
    settings = gateway.settings.api
    listeners = ListenerRegistry(
        gateway.bus, gateway.identity.setup_oid, settings.listener_idle_s, settings.listener_buffer
    )
    ctx = ApiContext(gateway, Authenticator(gateway.tokens, settings), listeners, settings)
    guard = Guard(ctx)
    app = FastAPI(
        title="Hearth End-User API",
        version=__version__,
        description=f"The End-User API of a Hearth gateway (protocol {PROTOCOL_VERSION}).",
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app, "Hearth End-User API")
    install_error_handlers(app)
    # device before setup: setup's rename (PUT /setup/devices/{url}/{label}) would take device's fixed paths.
    # action_groups_execution after execution: its /exec/{oid}/geolocated would take /exec/apply/geolocated.
    app.include_router(action_groups_execution.early_routes(ctx, guard), prefix=BASE)  # before /exec/{oid}
    modules = (
        device,
        setup,
        setup_options,
        device_lifecycle,
        synchronization,
        execution,
        action_groups_execution,
        events,
        tokens,
        conditions,
        location,
        triggers,
        calendar,
        alerts,
        zigbee,
        zwave,
        ops,
        backup,
        gateways,
        setup_settings,
        setup_automation,
        reference,
        history,
        protocol,
        protocol_group,
        device_pairing,
        zone,
        rts,
        state_history,
    )
    for module in modules:
        app.include_router(module.routes(ctx, guard), prefix=BASE)
    app.include_router(device.category_routes(ctx, guard), prefix=BASE)  # after setup's fixed paths
    app.include_router(ops.root_routes(ctx, guard))  # /metrics, /health/ready
    app.state.context = ctx
    started = time.monotonic()

    @app.post(
        "/hooks/smartsolar",
        summary="SMARTSolar webhooks (authenticated by their signature, no token)",
        include_in_schema=False,
    )
    async def smartsolar_hook(request: Request) -> Response:
        connector = gateway.extensions.webhook_receiver("smartsolar")
        if connector is None:
            raise ApiError.not_found("No SMARTSolar connector on this gateway")
        body = await request.body()
        if len(body) > 65536 or not connector.verify(body, request.headers.get("x-bboxx-signature")):
            raise ApiError(401, ErrorCode.RESOURCE_ACCESS_DENIED, "Bad or missing X-BBOXX-Signature")
        try:
            message = json.loads(body)
        except ValueError:
            raise ApiError.bad_request("The body is not JSON") from None
        if not isinstance(message, dict):
            raise ApiError.bad_request("The body must be a JSON object")
        return json_response(await connector.webhook(message))

    @app.get("/health", summary="Liveness (no authentication)")
    @app.get("/health/live", summary="Liveness (no authentication), as /health")
    async def health() -> Response:
        return json_response(
            {
                "status": "ok",
                "gatewayId": gateway.identity.gateway_id,
                "version": __version__,
                "uptimeSeconds": round(time.monotonic() - started, 1),
                "devices": len(gateway.registry),
                "executions": len(gateway.executor.current),
                "writerBacklog": gateway.writer.backlog,
            }
        )

    static = _static_files()

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        body, media_type = static["index.html"]
        return Response(body, media_type=media_type, headers=_PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static_file(name: str) -> Response:
        found = static.get(name)
        if found is None:
            raise ApiError.not_found(f"No such file : {name}")
        return Response(found[0], media_type=found[1], headers=_PAGE_HEADERS)

    # Middlewares run in the reverse order of their adding. BodyGate runs after the token is checked, so that an
    # unknown caller learns nothing of its body; HeaderGate before, so that a doubled Authorization is not read.
    app.add_middleware(
        BodyGate,
        prefix=BASE + "/",
        timeout_s=settings.body_timeout_s,
        max_bytes=settings.max_body_bytes,
        raw_paths=raw_body_paths(BASE, modules),
    )
    app.add_middleware(AuthenticationGate, auth=ctx.auth)
    app.add_middleware(HeaderGate)
    app.add_middleware(DoubleSlashFix)  # added last: runs first, before the path is matched
    index_routes(app, BASE)
    return app
