"""Validation at the API's edge, against a real gateway: hostile requests are refused and change nothing.

What the End-User API (seed 003) defines is the judge: its request shapes say which fields exist where, so a
field it does not define is refused with a 400 that names it. Requests that httpx would tidy up (two
Authorization headers, a body shorter than its Content-Length) are written on a raw TLS socket.
"""

from __future__ import annotations

import json
import math
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.process import BASE_PATH, UNLIMITED_RATES, HearthProcess

BODY_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthProcess]:
    proc = HearthProcess(
        tmp_path_factory.mktemp("hearth-edge"),
        env={
            "HEARTH_API__BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "HEARTH_API__MAX_BODY_BYTES": "65536",
            **UNLIMITED_RATES,
        },
    ).start()
    yield proc
    proc.kill()


@pytest.fixture(scope="module")
def api(gateway: HearthProcess) -> Iterator[httpx.Client]:
    assert gateway.first_token
    with httpx.Client(
        base_url=gateway.base_url, verify=False, timeout=15, headers={"Authorization": f"Bearer {gateway.first_token}"}
    ) as client:
        yield client


def fingerprint(api: httpx.Client) -> str:
    """Everything a refused request must leave as it was: the setup's objects and the executions."""
    parts = {}
    for path in (
        "/setup/places",
        "/setup/zones",
        "/actionGroups",
        "/conditionGroups",
        "/triggers",
        "/setup/location",
        "/exec/schedule",
        "/exec/current",
        "/history/executions",
    ):
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)
        parts[path] = response.json()
    parts["devices"] = [
        {k: d.get(k) for k in ("deviceURL", "label", "placeOID", "metadata", "enabled")}
        for d in api.get("/setup/devices").json()
    ]
    return json.dumps(parts, sort_keys=True)


def assert_api_error(response: httpx.Response | RawResponse, status: int, *mentions: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = json.loads(response.text)
    assert set(body) == {"errorCode", "error"}, body
    assert isinstance(body["errorCode"], str) and body["errorCode"]
    for mention in mentions:
        assert mention in body["error"], body
    return body  # type: ignore[no-any-return]


def post_raw_json(
    api: httpx.Client, path: str, text: str | bytes, content_type: str | None = "application/json"
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    content = text.encode() if isinstance(text, str) else text
    return api.post(path, content=content, headers=headers)


def light(gateway: HearthProcess, **command: Any) -> dict[str, Any]:
    return {"deviceURL": gateway.device_url("3"), "commands": [{"name": "on", **command}]}


# ---------------------------------------------------------------------- fields the seed does not define


UNKNOWN_FIELDS = [
    # The case: delay on the action, not on its commands ("close the shutters in an hour").
    ("POST", "/exec/apply", lambda g: {"label": "x", "actions": [{**light(g), "delay": 3600}]}, "actions.0.delay"),
    (
        "POST",
        "/exec/apply",
        lambda g: {"label": "x", "actions": [light(g, priority=1)]},
        "actions.0.commands.0.priority",
    ),
    ("POST", "/exec/apply/highPriority", lambda g: {"actions": [light(g)], "delay": 60}, "delay"),
    ("POST", "/actionGroups", lambda g: {"label": "x", "actions": [light(g)], "enabled": True}, "enabled"),
    (
        "POST",
        "/setup/zones",
        lambda g: {"label": "z", "items": [{"deviceURL": g.device_url("3"), "x": 1}]},
        "items.0.x",
    ),
    ("POST", "/setup/zones", lambda g: {"label": "z", "colour": "red"}, "colour"),
    (
        "POST",
        "/conditionGroups",
        lambda g: {
            "label": "c",
            "conditions": [
                {
                    "device": {
                        "deviceURL": g.device_url("3"),
                        "stateName": "core:OnOffState",
                        "operator": "EQUALS",
                        "value": "on",
                        "delay": 5,
                    }
                }
            ],
        },
        "conditions[0].device.delay",
    ),
    (
        "POST",
        "/conditionGroups",
        lambda g: {
            "label": "c",
            "enabled": False,
            "conditions": [
                {
                    "device": {
                        "deviceURL": g.device_url("3"),
                        "stateName": "core:OnOffState",
                        "operator": "EQUALS",
                        "value": "on",
                    }
                }
            ],
        },
        "enabled",
    ),
    ("PUT", "/setup/location", lambda g: {"city": "Lyon", "altitude": 170}, "altitude"),
]


@pytest.mark.parametrize(
    ("method", "path", "make", "field"), UNKNOWN_FIELDS, ids=[f"{m} {p} {f}" for m, p, _, f in UNKNOWN_FIELDS]
)
def test_a_field_the_seed_does_not_define_is_refused_naming_it(
    gateway: HearthProcess, api: httpx.Client, method: str, path: str, make: Any, field: str
) -> None:
    before = fingerprint(api)
    response = api.request(method, path, json=make(gateway))
    assert_api_error(response, 400, field)
    assert fingerprint(api) == before


def test_a_place_with_a_field_the_seed_does_not_define_is_refused(api: httpx.Client) -> None:
    root = api.get("/setup/places").json()["oid"]
    before = fingerprint(api)
    assert_api_error(api.post(f"/setup/places/{root}/subPlaces", json={"label": "Attic", "floor": 3}), 400, "floor")
    assert_api_error(api.put(f"/setup/places/{root}", json={"label": "Home", "subPlaces": []}), 400, "subPlaces")
    assert fingerprint(api) == before


def test_the_same_request_without_the_stray_field_is_served(gateway: HearthProcess, api: httpx.Client) -> None:
    """The control of the cases above: what they refuse is the field, not the rest of the body."""
    response = api.post("/exec/apply", json={"label": "x", "actions": [light(gateway, delay=3600)]})
    assert response.status_code == 200, response.text
    exec_id = response.json()["execId"]
    assert api.delete(f"/exec/current/setup/{exec_id}").status_code == 204


# ---------------------------------------------------------------------- numbers


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e308", "1e400", "-1e400", "9007199254740992"])
@pytest.mark.parametrize("where", ["delay", "lockLevel", "parameter"])
def test_numbers_must_be_finite_and_in_range(
    gateway: HearthProcess, api: httpx.Client, number: str, where: str
) -> None:
    device = json.dumps(gateway.device_url("2"))
    command = {
        "delay": f'"name": "open", "delay": {number}',
        "lockLevel": f'"name": "open", "lockLevel": {number}',
        "parameter": f'"name": "setClosure", "parameters": [{number}]',
    }[where]
    before = fingerprint(api)
    response = post_raw_json(
        api, "/exec/apply", f'{{"actions": [{{"deviceURL": {device}, "commands": [{{{command}}}]}}]}}'
    )
    assert_api_error(response, 400)
    assert fingerprint(api) == before


def test_delay_beyond_seven_days_is_refused(gateway: HearthProcess, api: httpx.Client) -> None:
    before = fingerprint(api)
    assert_api_error(api.post("/exec/apply", json={"actions": [light(gateway, delay=7 * 86_400 + 1)]}), 400, "delay")
    assert_api_error(api.post("/exec/apply", json={"actions": [light(gateway, delay=-1)]}), 400, "delay")
    assert fingerprint(api) == before


def test_numbers_out_of_range_elsewhere_are_refused(gateway: HearthProcess, api: httpx.Client) -> None:
    before = fingerprint(api)
    assert_api_error(post_raw_json(api, "/setup/zones", '{"label": "z", "type": 1e400}'), 400)
    assert_api_error(api.post("/setup/zones", json={"label": "z", "type": 2**31}), 400, "type")
    assert_api_error(
        api.post("/actionGroups", json={"actions": [light(gateway)], "notificationTypeMask": 16}),
        400,
        "notificationTypeMask",
    )
    assert_api_error(
        api.put(
            "/setup/location",
            content=b'{"latitude": NaN, "longitude": 2}',
            headers={"Content-Type": "application/json"},
        ),
        400,
    )
    assert fingerprint(api) == before


def test_negative_zero_is_normalised(gateway: HearthProcess, api: httpx.Client) -> None:
    device = json.dumps(gateway.device_url("2"))
    body = (
        f'{{"label": "minus zero", "actions": [{{"deviceURL": {device}, "commands": [{{"name": "setClosure", '
        f'"parameters": [-0.0], "delay": -0.0}}]}}]}}'
    )
    created = post_raw_json(api, "/actionGroups", body)
    assert created.status_code == 201, created.text
    oid = created.json()["actionGroupOID"]
    stored = api.get(f"/actionGroups/{oid}")
    command = stored.json()["actions"][0]["commands"][0]
    assert command["parameters"] == [0] and math.copysign(1.0, command["parameters"][0]) == 1.0, stored.text
    assert "delay" not in command
    assert api.delete(f"/actionGroups/{oid}").status_code == 204


# ---------------------------------------------------------------------- encodings and JSON


def apply_text(gateway: HearthProcess) -> str:
    return json.dumps({"label": "enc", "actions": [light(gateway)]})


@pytest.mark.parametrize(
    ("encode", "content_type"),
    [
        (lambda t: t.encode("utf-16"), "application/json"),  # with its byte order mark
        (lambda t: t.encode("utf-16-le"), "application/json"),
        (lambda t: t.encode("utf-32"), "application/json"),
        (lambda t: b"\xef\xbb\xbf" + t.encode(), "application/json"),  # a UTF-8 byte order mark
        (lambda t: t.replace("enc", "\u00e9t\u00e9").encode("latin-1"), "application/json"),
        (lambda t: t.encode(), "text/plain"),
        (lambda t: t.encode(), "application/x-www-form-urlencoded"),
        (lambda t: t.encode(), "application/json; charset=iso-8859-1"),
        (lambda t: t.encode(), None),
    ],
    ids=[
        "utf-16",
        "utf-16-le",
        "utf-32",
        "utf-8-bom",
        "latin-1",
        "text-plain",
        "form",
        "charset-latin1",
        "no-content-type",
    ],
)
def test_bodies_not_utf8_json_are_refused_with_415(
    gateway: HearthProcess, api: httpx.Client, encode: Any, content_type: str | None
) -> None:
    before = fingerprint(api)
    response = post_raw_json(api, "/exec/apply", encode(apply_text(gateway)), content_type)
    assert_api_error(response, 415)
    assert fingerprint(api) == before


def test_utf8_json_with_a_charset_is_served(gateway: HearthProcess, api: httpx.Client) -> None:
    """The control of the 415 cases: the same body in UTF-8 runs."""
    response = post_raw_json(api, "/exec/apply", apply_text(gateway), "application/json; charset=UTF-8")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "text",
    [
        "{",
        '{"label": "x",}',
        "[1, 2",
        '{"label": "a", "label": "b", "actions": ACTIONS}',
        "[" * 20_000 + "]" * 20_000,
        '{"label": "\\ud800", "actions": ACTIONS}',
        '{"label": "x", "actions": ACTIONS, "metadata": "\\u0000"}',
    ],
    ids=["truncated", "trailing-comma", "unclosed-array", "duplicated-key", "deep", "lone-surrogate", "nul"],
)
def test_bad_json_is_refused_with_400(gateway: HearthProcess, api: httpx.Client, text: str) -> None:
    before = fingerprint(api)
    # ACTIONS: a valid action, so that the fault under test is the body's only one.
    text = text.replace("ACTIONS", json.dumps([light(gateway)]))
    assert_api_error(post_raw_json(api, "/actionGroups", text), 400)
    assert fingerprint(api) == before


def test_a_body_larger_than_the_limit_is_refused_with_413(gateway: HearthProcess, api: httpx.Client) -> None:
    body = json.dumps({"label": "big", "metadata": "x" * 70_000, "actions": [light(gateway)]})
    assert_api_error(post_raw_json(api, "/actionGroups", body), 413)


# ---------------------------------------------------------------------- control characters


CONTROLS = ["\x00", "\r", "\n", "\r\nX-Injected: 1", "\x1b[2J", "\x7f", "\x85", "\u2028"]


@pytest.mark.parametrize("control", CONTROLS, ids=[repr(c) for c in CONTROLS])
def test_control_characters_are_refused_in_labels_and_names(
    gateway: HearthProcess, api: httpx.Client, control: str
) -> None:
    root = api.get("/setup/places").json()["oid"]
    before = fingerprint(api)
    assert_api_error(api.post(f"/setup/places/{root}/subPlaces", json={"label": f"At{control}tic"}), 400, "label")
    assert_api_error(
        api.post("/actionGroups", json={"label": f"a{control}b", "actions": [light(gateway)]}), 400, "label"
    )
    assert_api_error(api.post("/setup/zones", json={"label": f"z{control}"}), 400, "label")
    assert_api_error(
        api.post(
            "/exec/apply",
            json={"actions": [{"deviceURL": gateway.device_url("3"), "commands": [{"name": f"on{control}"}]}]},
        ),
        400,
    )
    url = quote(gateway.device_url("3"), safe="")
    response = api.put(f"/setup/devices/{url}/{quote('Lamp' + control, safe='')}")
    assert 400 <= response.status_code < 500
    assert_api_error(response, response.status_code)
    assert fingerprint(api) == before


def test_line_feeds_stay_allowed_in_metadata(gateway: HearthProcess, api: httpx.Client) -> None:
    """Metadata is free text (often pretty-printed JSON): only NUL is refused there."""
    created = api.post(
        "/actionGroups", json={"label": "meta", "metadata": '{\n  "a": 1\n}', "actions": [light(gateway)]}
    )
    assert created.status_code == 201, created.text
    assert api.delete(f"/actionGroups/{created.json()['actionGroupOID']}").status_code == 204
    assert_api_error(
        api.post("/actionGroups", json={"label": "meta", "metadata": "a\x00b", "actions": [light(gateway)]}),
        400,
        "metadata",
    )


# ---------------------------------------------------------------------- raw requests


class RawResponse:
    def __init__(self, status_code: int, headers: dict[str, str], text: str, closed: bool, at: float) -> None:
        self.status_code, self.headers, self.text, self.closed = status_code, headers, text, closed
        self.at = at  # time.monotonic() when the whole response was in


def tls_socket(gateway: HearthProcess, timeout: float = 10) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout))


def read_response(sock: ssl.SSLSocket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    at = time.monotonic()
    closed = False
    try:
        sock.settimeout(2)
        closed = sock.recv(1) == b""
    except (TimeoutError, ssl.SSLError, OSError):
        closed = False
    return RawResponse(status, headers, rest[:length].decode("utf-8", "replace"), closed, at)


def raw_request(
    gateway: HearthProcess, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""
) -> RawResponse:
    lines = [f"{method} {BASE_PATH}{path} HTTP/1.1", f"Host: 127.0.0.1:{gateway.port}"]
    lines += [f"{k}: {v}" for k, v in headers]
    with tls_socket(gateway) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return read_response(sock)


@pytest.mark.parametrize("order", ["bad-then-good", "good-then-bad", "good-twice"])
def test_a_duplicated_authorization_header_is_refused(gateway: HearthProcess, api: httpx.Client, order: str) -> None:
    good, bad = f"Bearer {gateway.first_token}", "Bearer hth_not-a-token"
    pair = {"bad-then-good": (bad, good), "good-then-bad": (good, bad), "good-twice": (good, good)}[order]
    root = api.get("/setup/places").json()["oid"]
    body = json.dumps({"label": "Twice"}).encode()
    before = fingerprint(api)
    response = raw_request(
        gateway,
        "POST",
        f"/setup/places/{root}/subPlaces",
        [
            ("Authorization", pair[0]),
            ("Authorization", pair[1]),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ],
        body,
    )
    assert_api_error(response, 400, "Authorization")
    assert fingerprint(api) == before


def test_a_single_authorization_header_on_a_raw_socket_is_served(gateway: HearthProcess) -> None:
    """The control of the duplicated-header case: the same raw request with one header is served."""
    response = raw_request(gateway, "GET", "/setup/gateways", [("Authorization", f"Bearer {gateway.first_token}")])
    assert response.status_code == 200, response.text


def test_a_body_shorter_than_its_content_length_gets_408_without_holding_others(
    gateway: HearthProcess, api: httpx.Client
) -> None:
    body = apply_text(gateway).encode()
    head = (
        f"POST {BASE_PATH}/exec/apply HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {gateway.first_token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) + 100}\r\n\r\n"
    ).encode()
    results: list[tuple[float, RawResponse]] = []
    before = fingerprint(api)

    def stalled_client() -> None:
        with tls_socket(gateway) as sock:
            started = time.monotonic()
            sock.sendall(head + body)  # 100 bytes short, and the connection kept open
            response = read_response(sock)
            results.append((response.at - started, response))

    thread = threading.Thread(target=stalled_client)
    thread.start()
    time.sleep(0.2)
    # Meanwhile other requests are served at once: the wait holds nothing but its own connection.
    for _ in range(5):
        started = time.monotonic()
        assert api.get("/setup/gateways").status_code == 200
        assert time.monotonic() - started < BODY_TIMEOUT_S / 2
    thread.join(15)
    assert results, "no response to the stalled request"
    elapsed, response = results[0]
    assert_api_error(response, 408)
    assert BODY_TIMEOUT_S * 0.8 <= elapsed < BODY_TIMEOUT_S + 2, elapsed
    assert response.headers.get("connection") == "close" and response.closed
    assert fingerprint(api) == before


def test_an_unauthenticated_short_body_is_answered_at_once(gateway: HearthProcess) -> None:
    """The token is checked before the body is read: a caller without one waits for nothing."""
    head = (
        f"POST {BASE_PATH}/exec/apply HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Authorization: Bearer hth_not-a-token\r\nContent-Length: 500\r\n\r\n{"
    ).encode()
    with tls_socket(gateway) as sock:
        started = time.monotonic()
        sock.sendall(head)
        response = read_response(sock)
        elapsed = response.at - started
    assert_api_error(response, 401)
    assert elapsed < BODY_TIMEOUT_S, elapsed
