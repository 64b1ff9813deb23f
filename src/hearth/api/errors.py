"""Every refusal in the End-User API's format, ``{"errorCode", "error"}``, and never a stack trace."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from hearth.model.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON without FastAPI's encoder pass: our payloads are plain dicts and lists already."""
    return Response(
        json.dumps(content, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(status: int, code: ErrorCode | str, message: str) -> Response:
    return json_response({"errorCode": str(code), "error": message}, status)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    # An unknown field first: it is the likeliest mistake (a field put at the wrong place) and says most.
    errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
    for err in errors[:3]:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        if err.get("type") == "json_invalid":
            return "Malformed JSON body"
        if err.get("type") == "extra_forbidden":  # a StrictModel body with a key the seed does not define there
            parts.append(f"unknown field {where}: not defined here")
            continue
        parts.append(f"{where}: {err.get('msg')}")
    return "Invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        return error_response(400, ErrorCode.INVALID_FIELD_VALUE, _describe_validation(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(404, ErrorCode.UNKNOWN_OBJECT, "Unknown object")
        if exc.status_code == 405:
            return error_response(405, ErrorCode.UNSPECIFIED_ERROR, "Method not allowed")
        return error_response(exc.status_code, ErrorCode.UNSPECIFIED_ERROR, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, ErrorCode.UNSPECIFIED_ERROR, "Internal error")
