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

from hearth.model.errors import ApiError

ASSETS = "/docs/assets"
_TYPES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "favicon.png": "image/png"}


def _assets() -> dict[str, bytes]:
    folder = resources.files("fastapi_offline").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in _TYPES}


def install_docs(app: FastAPI, title: str) -> None:
    """Add ``/docs`` and its assets to ``app`` (made with ``docs_url=None``)."""
    assets = _assets()  # read once at start: a missing package fails the start, not a visitor's page

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=title,
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon.png")

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        body = assets.get(name)
        if body is None:
            raise ApiError.not_found(f"No such file : {name}")
        return Response(body, media_type=_TYPES[name], headers={"Cache-Control": "max-age=86400"})
