"""``/docs``: the API's description in Swagger UI, served from this box (it may have no internet).

FastAPI's own ``/docs`` page loads Swagger UI from a CDN, so it is blank offline. The assets come instead from
the ``fastapi-offline`` package (a dependency of Hearth, MIT, which ships Swagger UI 5's bundle and stylesheet):
only its files are used, served here under ``/docs/assets/``, and the page is FastAPI's own HTML pointing at them.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import Response

from hearth.model.errors import ApiError, ErrorCode

ASSETS = "/docs/assets"
MISSING = "Swagger UI's files (the fastapi-offline package) are not installed"
_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


def docs_assets() -> dict[str, bytes] | None:
    """Swagger UI's files by name, or None when the package that ships them is missing (a broken install)."""
    try:
        folder = resources.files("fastapi_offline").joinpath("static")
        return {name: folder.joinpath(name).read_bytes() for name in _TYPES}
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def install_docs(app: FastAPI, title: str) -> None:
    """Add ``/docs`` and its assets to ``app`` (made with ``docs_url=None``)."""
    # Read once at start. Without them the gateway still runs: /docs says what is missing (and so does doctor).
    assets = docs_assets() or {}

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        if not assets:
            raise ApiError(
                503,
                ErrorCode.SERVICE_UNAVAILABLE,
                f"{MISSING} : reinstall Hearth with its dependencies (pip install hearth); "
                "the API's description is at /openapi.json",
            )
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        body = assets.get(name)
        if body is None:
            raise ApiError.not_found(f"No such file : {name}")
        return Response(body, media_type=_TYPES[name], headers={"Cache-Control": "max-age=86400"})
