"""The route index never changes which route answers: for every operation of the API, for each of its methods
and for the others (405), with a slash added (the redirect) and for paths nobody serves (404), the indexed app
and the same app without its index pick the same route."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import _IncludedRouter
from starlette.routing import Match

from hearth.api.app import build_app
from hearth.api.deps import BASE
from hearth.app import Gateway
from hearth.config import load_settings
from tests.bench.common import gateway_env

# A value for each kind of path parameter the API has.
SAMPLES = {"deviceurl": "virtual://1234-5678-9012/1001#2", "path": "a/b", "int": "7"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
async def apps(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    data = tmp_path / "data"
    gateway = Gateway(load_settings(None, gateway_env(data, devices=4)))
    await gateway.start()
    try:
        indexed, plain = build_app(gateway), build_app(gateway)
        for route in plain.router.routes:
            route.__dict__.pop("matches", None)
            if isinstance(route, _IncludedRouter):
                for inner in route.original_router.routes:
                    inner.__dict__.pop("matches", None)
        yield indexed, plain
    finally:
        await gateway.stop()


def _chosen(app: FastAPI, method: str, path: str) -> tuple[str, str] | None:
    """The route Starlette's loop would hand the request to: (match kind, route's path and methods)."""
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    partial = None
    for route in app.router.routes:
        match, _ = route.matches(dict(scope))
        if match is Match.NONE:
            continue
        target: Any = route
        if isinstance(route, _IncludedRouter):
            _, _, target, _ = route._match(dict(scope))
        described = f"{getattr(target, 'path', '?')} {sorted(getattr(target, 'methods', None) or [])}"
        if match is Match.FULL:
            return "FULL", described
        if partial is None:
            partial = ("PARTIAL", described)
    return partial


def _paths(app: FastAPI) -> list[str]:
    paths: list[str] = []
    for template in app.openapi()["paths"]:
        paths.append(re.sub(r"\{[^}]+\}", lambda m: SAMPLES["int"] if "oid" in m.group(0) else "x1", template))
    # Routes whose parameters have converters, as the router (not the schema) spells them.
    for route in app.router.routes:
        inner = route.original_router.routes if isinstance(route, _IncludedRouter) else [route]
        for r in inner:
            raw = getattr(r, "path", None)
            if isinstance(raw, str):
                prefix = route.include_context.prefix if isinstance(route, _IncludedRouter) else ""
                paths.append(
                    prefix + re.sub(r"\{[^}:]+(?::([a-z]+))?\}", lambda m: SAMPLES.get(m.group(1) or "", "x1"), raw)
                )
    return sorted(set(paths))


async def test_the_index_picks_the_route_the_router_would(apps: tuple[FastAPI, FastAPI]) -> None:
    indexed, plain = apps
    paths = _paths(plain)
    extra = [BASE + "/nothing/here", BASE + "/setup/nothing", "/nothing", BASE, BASE + "/", "/"]
    checked = found = 0
    for path in [*paths, *extra]:
        for variant in (path, path + "/"):
            for method in METHODS:
                expected = _chosen(plain, method, variant)
                assert _chosen(indexed, method, variant) == expected, (method, variant)
                checked += 1
                found += expected is not None
    # Every listed path is served by some route (the sample values fit their converters), so the check is real.
    assert len(paths) > 250
    assert found > len(paths)
    print(f"route index: {checked} (method, path) pairs over {len(paths)} paths, the same route each time")
