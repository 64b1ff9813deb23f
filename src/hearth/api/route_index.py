"""A quick "cannot match" for the app's top-level routes, by the first segment of the path after the API's base.

Why: Starlette finds a request's route by trying the app's routes in order, and FastAPI (0.165) tries an
included router by matching the request against each of its routes, with bookkeeping of several dict writes
per route. The End-User API is about 30 included routers and 280 routes, so ``POST /exec/apply`` was tried
against some 60 routes before its own (170 us of a 1.1 ms request here), and a path no route has against all
of them, twice (once more with a slash added, for the redirect). But a route whose path starts
``/setup/...`` can never match ``/exec/apply``: each top-level route is given the set of first segments its
paths can start with, and answers "no match" at once for any other. A route with a parameter in that segment
(none today) is always tried. The order of the routes is not changed, so which route wins is not changed
either; tests/unit/test_route_index.py checks that for every operation of the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import FastAPI
from fastapi.routing import APIRoute, _IncludedRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

Matcher = Callable[[Scope], tuple[Match, Scope]]


def first_segment(path: str, base: str) -> str:
    """``/base/exec/apply`` -> ``exec``; a path outside ``base`` -> its own first segment."""
    if path.startswith(base + "/"):
        path = path[len(base) :]
    return path[1:].split("/", 1)[0]


def _paths(route: BaseRoute) -> Iterable[str] | None:
    """The full paths a top-level route can match, or None when they cannot be listed (then it is always tried)."""
    if isinstance(route, _IncludedRouter):
        prefix = route.include_context.prefix
        paths: list[str] = []
        for inner in route.original_router.routes:
            if isinstance(inner, _IncludedRouter) or not hasattr(inner, "path"):
                return None
            paths.append(prefix + inner.path)
        return paths
    path = getattr(route, "path", None)
    return [path] if isinstance(path, str) else None


def index_routes(app: FastAPI, base: str) -> int:
    """Give the routes of ``app`` their quick refusals; returns how many routes got one."""
    indexed = 0
    included: dict[int, list[tuple[APIRoute, str]]] = {}
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            for inner in route.original_router.routes:
                if isinstance(inner, APIRoute):
                    included.setdefault(id(inner), []).append((inner, route.include_context.prefix + inner.path))
        paths = _paths(route)
        if paths is None:
            continue
        segments = frozenset(first_segment(p, base) for p in paths)
        if not segments or any("{" in s for s in segments):
            continue
        # An instance attribute shadows the class's method: Starlette's router calls ``route.matches(scope)``.
        route.matches = _by_segment(route.matches, segments, base)  # type: ignore[method-assign,assignment]
        indexed += 1
    for places in included.values():
        if len(places) != 1:
            continue  # one route object under two prefixes: its literal part is not one string
        inner, path = places[0]
        literal, has_parameters = path.partition("{")[0], "{" in path
        # FastAPI matches an included route through ``route.matches(scope)`` on the route object itself.
        inner.matches = _by_literal(inner.matches, literal, has_parameters)  # type: ignore[method-assign,assignment]
        indexed += 1
    return indexed


def _by_segment(matches: Matcher, segments: frozenset[str], base: str) -> Matcher:
    def quick(scope: Scope) -> tuple[Match, Scope]:
        if first_segment(get_route_path(scope), base) not in segments:
            return Match.NONE, {}
        return matches(scope)

    return quick


def _by_literal(matches: Matcher, literal: str, has_parameters: bool) -> Matcher:
    def quick(scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if (path.startswith(literal) if has_parameters else path == literal) or scope["type"] != "http":
            return matches(scope)
        return Match.NONE, {}

    return quick
