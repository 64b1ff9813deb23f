"""Validation at the API's edge, for every route at once: headers, paths and JSON bodies.

Two ASGI middlewares, so that a route added tomorrow gets the same rules without doing anything:

- ``HeaderGate`` (before authentication): a header that may appear once (Authorization, Content-Type,
  Content-Length, Host) appearing twice is refused with 400. RFC 9110 section 5.3: such a header is not a
  list, so two of them are a malformed request; serving it on either one would let a proxy and the gateway
  disagree on who is calling.
- ``BodyGate`` (after authentication, so that an unknown caller learns nothing about its body): under the
  End-User API's base path,
    * the path and the query hold no control character;
    * a body is read whole under a deadline (``api.body_timeout_s``; a client that announces more bytes than
      it sends gets 408 and the connection is closed, never a worker held) and a size limit
      (``api.max_body_bytes``, 413);
    * a body must be ``application/json`` (a ``charset`` parameter, if any, ``utf-8``) and UTF-8 without a
      byte order mark: 415 otherwise (a UTF-16 body used to be decoded and run);
    * the JSON must parse strictly: no NaN/Infinity, no duplicated key, every number finite and within
      +-(2**53-1) (RFC 8259's interoperable range; ``1e400`` overflows to infinity and is refused), no lone
      surrogate nor NUL in any text, no control character in a key nor in a label, a name, a title, a URL
      or an OID (keys ending so); -0.0 is made 0.0. 400 otherwise, naming the place.
  The route then reads the (possibly normalised) body as usual.

Which fields a body may hold is each route's model: a body model derives from ``hearth.model.strict.
StrictModel`` (unknown keys refused); a hand-written parser calls ``refuse_unknown``. A route whose body is not
JSON (a backup archive) opts out of the JSON rules by listing its path in its module's ``RAW_BODY_PATHS``
(app.py collects them); it keeps the header rules.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth.api.errors import json_response
from hearth.model.errors import ErrorCode
from hearth.model.strict import MAX_JSON_NUMBER, control_character, lone_surrogate

SINGLE_HEADERS = (b"authorization", b"content-type", b"content-length", b"host")
# Keys whose text is a label or an identifier: no control character at all (other text may hold LF or TAB,
# e.g. metadata that is itself pretty-printed JSON, but never NUL).
_NAME_SUFFIXES = ("label", "name", "names", "title", "url", "urls", "oid", "oids")
MAX_DEPTH = 64
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class Refused(Exception):
    def __init__(self, status: int, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def _refuse(
    send: Send, scope: Scope, receive: Receive, status: int, code: ErrorCode | str, message: str, close: bool = False
) -> None:
    headers = {"connection": "close"} if close else None
    await json_response({"errorCode": str(code), "error": message}, status, headers)(scope, receive, send)


class HeaderGate:
    """Refuses a request with two of a header that may appear once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen: set[bytes] = set()
            for name, _ in scope.get("headers") or ():
                if name in SINGLE_HEADERS:
                    if name in seen:
                        await _refuse(
                            send,
                            scope,
                            receive,
                            400,
                            ErrorCode.UNSPECIFIED_ERROR,
                            f"Header {name.decode('latin-1').title()} given more than once",
                        )
                        return
                    seen.add(name)
        await self.app(scope, receive, send)


# ---------------------------------------------------------------------- strict JSON


def _no_constant(name: str) -> Any:
    raise Refused(400, ErrorCode.INVALID_FIELD_VALUE, f"Malformed JSON body: {name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise Refused(400, ErrorCode.INVALID_FIELD_VALUE, f"Malformed JSON body: key {key!r} given twice")
    return out


def parse_json(text: str) -> Any:
    """JSON as RFC 8259 has it (no NaN, no Infinity), objects without duplicated keys; Refused otherwise."""
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_object)
    except RecursionError:
        raise Refused(400, ErrorCode.INVALID_FIELD_VALUE, "Malformed JSON body: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() of more than sys.get_int_max_str_digits() digits
        raise Refused(400, ErrorCode.INVALID_FIELD_VALUE, f"Malformed JSON body: {exc}") from None


class _Fault(Exception):
    """Raised deep in a body, given its place on the way up (so that valid bodies build no paths)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why
        self.path: list[str | int] = []


def _where(path: list[str | int]) -> str:
    out = ""
    for part in reversed(path):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "body"


def _check(value: Any, name: bool, depth: int) -> bool:
    """Raise _Fault for what the edge refuses; return whether a -0.0 is inside (to be made 0.0)."""
    kind = type(value)
    if kind is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Fault("text with a lone surrogate (not UTF-8)") from None
        if name:
            index = control_character(value)
            if index is not None:
                raise _Fault(
                    f"control character U+{ord(value[index]):04X} at position {index} "
                    "(not allowed in a label or a name)"
                )
        elif "\x00" in value:
            raise _Fault("NUL character in text")
        return False
    if kind is float:
        if not math.isfinite(value) or abs(value) > MAX_JSON_NUMBER:
            raise _Fault(f"{value!r} is not a finite number within +-(2**53-1)")
        return value == 0 and math.copysign(1.0, value) < 0
    if kind is int:
        if abs(value) > MAX_JSON_NUMBER:
            raise _Fault(f"{value} is out of the range +-(2**53-1)")
        return False
    if depth >= MAX_DEPTH and kind in (list, dict):
        raise _Fault(f"nested more than {MAX_DEPTH} levels")
    negative_zero = False
    if kind is list:
        for i, item in enumerate(value):
            try:
                negative_zero = _check(item, name, depth + 1) or negative_zero
            except _Fault as fault:
                fault.path.append(i)
                raise
    elif kind is dict:
        for key, item in value.items():
            if control_character(key) is not None or lone_surrogate(key):
                raise _Fault(f"a key with a control character or a lone surrogate: {key!r}")
            try:
                negative_zero = _check(item, key.lower().endswith(_NAME_SUFFIXES), depth + 1) or negative_zero
            except _Fault as fault:
                fault.path.append(key)
                raise
    return negative_zero


def _positive_zero(value: Any) -> Any:
    if type(value) is float and value == 0:
        return 0.0
    if type(value) is list:
        return [_positive_zero(v) for v in value]
    if type(value) is dict:
        return {k: _positive_zero(v) for k, v in value.items()}
    return value


def sanitize(value: Any) -> tuple[Any, bool]:
    """Check a parsed body (see the module's docstring); return it with -0.0 made 0.0, and whether it changed."""
    try:
        negative_zero = _check(value, False, 0)
    except _Fault as fault:
        raise Refused(
            400, ErrorCode.INVALID_FIELD_VALUE, f"Invalid request: {_where(fault.path)}: {fault.why}"
        ) from None
    return (_positive_zero(value), True) if negative_zero else (value, False)


# ---------------------------------------------------------------------- the body gate


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


def check_content_type(value: str | None) -> None:
    if value is None:
        raise Refused(415, ErrorCode.UNSPECIFIED_ERROR, "A body needs Content-Type: application/json")
    media, _, params = value.partition(";")
    if media.strip().lower() != "application/json":
        raise Refused(
            415,
            ErrorCode.UNSPECIFIED_ERROR,
            f"Unsupported Content-Type {media.strip()!r}: the body must be application/json",
        )
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise Refused(
                415, ErrorCode.UNSPECIFIED_ERROR, f"Unsupported charset {val.strip()!r}: the body must be UTF-8"
            )


def decode_utf8(body: bytes) -> str:
    """RFC 8259 section 8.1: JSON between systems is UTF-8, without a byte order mark.

    A NUL byte is never in JSON text (not even inside a string, where control characters must be escaped):
    it is the mark of UTF-16 or UTF-32, which are refused as an encoding (415) rather than as bad JSON.
    """
    if body.startswith(b"\xef\xbb\xbf") or b"\x00" in body:
        raise Refused(
            415, ErrorCode.UNSPECIFIED_ERROR, "The body must be UTF-8 JSON (no byte order mark, no UTF-16 or UTF-32)"
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(415, ErrorCode.UNSPECIFIED_ERROR, "The body is not UTF-8") from None


class BodyTimeout(Exception):
    pass


class ClientGone(Exception):
    pass


async def read_body(receive: Receive, timeout_s: float, max_bytes: int) -> bytes:
    """The whole body, within ``timeout_s`` from the first byte asked for and at most ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    raise Refused(413, ErrorCode.UNSPECIFIED_ERROR, f"The body is larger than {max_bytes} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise BodyTimeout from None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # http.disconnect, when it comes

    return replay


def raw_body_paths(prefix: str, modules: Iterable[Any]) -> list[re.Pattern[str]]:
    """The paths that route modules list in ``RAW_BODY_PATHS`` (``{param}`` matches one segment)."""
    patterns = []
    for module in modules:
        for path in getattr(module, "RAW_BODY_PATHS", ()):
            pattern = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(prefix + path))
            patterns.append(re.compile(f"^{pattern}$"))
    return patterns


class BodyGate:
    """Checks paths and JSON bodies of End-User API requests (see the module's docstring)."""

    def __init__(
        self, app: ASGIApp, prefix: str, timeout_s: float, max_bytes: int, raw_paths: Iterable[re.Pattern[str]] = ()
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.raw_paths = tuple(raw_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        try:
            self._check_path(scope)
            if (
                scope["method"] in _BODY_METHODS
                and self._has_body(scope)
                and not any(p.match(scope["path"]) for p in self.raw_paths)
            ):
                scope, receive = await self._check_body(scope, receive)
        except Refused as exc:
            # The body may be unread (refused on its headers): close, so that its bytes are not a next request.
            await _refuse(send, scope, receive, exc.status, exc.code, exc.message, close=True)
            return
        except BodyTimeout:
            await _refuse(
                send,
                scope,
                receive,
                408,
                ErrorCode.UNSPECIFIED_ERROR,
                f"The request body did not arrive within {self.timeout_s:g} s",
                close=True,
            )
            return
        except ClientGone:
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _check_path(scope: Scope) -> None:
        index = control_character(scope["path"])
        if index is not None:
            raise Refused(400, ErrorCode.INVALID_FIELD_VALUE, "Control character in the path")
        query: bytes = scope.get("query_string") or b""
        if query and control_character(unquote(query.decode("latin-1"))) is not None:
            raise Refused(400, ErrorCode.INVALID_FIELD_VALUE, "Control character in the query")

    @staticmethod
    def _has_body(scope: Scope) -> bool:
        length = _header(scope, b"content-length")
        if length is not None:
            return length.strip() != "0"
        return _header(scope, b"transfer-encoding") is not None

    async def _check_body(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        check_content_type(_header(scope, b"content-type"))
        length = _header(scope, b"content-length")
        if (
            length is not None
            and length.strip().isascii()
            and length.strip().isdigit()
            and int(length) > self.max_bytes
        ):
            raise Refused(413, ErrorCode.UNSPECIFIED_ERROR, f"The body is larger than {self.max_bytes} bytes")
        body = await read_body(receive, self.timeout_s, self.max_bytes)
        text = decode_utf8(body)
        if text.strip():
            value, changed = sanitize(parse_json(text))
            if changed:
                body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
                scope = dict(scope)
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-length"] + [
                    (b"content-length", str(len(body)).encode())
                ]
        return scope, _replay(body, receive)
