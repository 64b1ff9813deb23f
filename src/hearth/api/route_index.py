"""Quick "cannot match" answers for the app's routes, so that a request is not tried against routes it cannot fit.

Why: Starlette finds a request's route by trying the app's routes in order, and FastAPI (0.165) tries an
included router by matching the request against each of its routes, with bookkeeping of several dict writes
per route. The End-User API is about 30 included routers and 280 routes, so ``POST /exec/apply`` was tried
against some 60 routes before its own (170 us of a 1.1 ms request here), and a path no route has against all
of them, twice (once more with a slash added, for the redirect). So:
- each top-level route (an included router) knows the first path segments (after the API's base) its routes
  start with, and refuses any other at once; one with a parameter in that segment (none today) is always tried;
- each route inside such a router knows its path's literal part: a path without parameters matches only itself,
  one with parameters only paths starting with the text before its first parameter, as Starlette's anchored
  pattern says; anything else is refused before FastAPI's bookkeeping.
The order of the routes is not changed, so which route wins is not changed either; tests/unit/test_route_index.py
checks that for every path of the API.
"""

from __future__ import annotations

from collections.abc import Callable

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


def _full_paths(route: BaseRoute) -> list[tuple[BaseRoute, str]] | None:
    """(route, full path) of what a top-level route serves, or None when that cannot be listed (always tried)."""
    if isinstance(route, _IncludedRouter):
        prefix = route.include_context.prefix
        paths: list[tuple[BaseRoute, str]] = []
        for inner in route.original_router.routes:
            if isinstance(inner, _IncludedRouter) or not hasattr(inner, "path"):
                return None
            paths.append((inner, prefix + inner.path))
        return paths
    path = getattr(route, "path", None)
    return [(route, path)] if isinstance(path, str) else None


def index_routes(app: FastAPI, base: str) -> None:
    """Give the routes of ``app`` their quick refusals."""
    inner_places: dict[int, list[tuple[APIRoute, str]]] = {}
    for route in app.router.routes:
        served = _full_paths(route)
        if served is None:
            continue
        if isinstance(route, _IncludedRouter):
            for inner, path in served:
                if isinstance(inner, APIRoute):
                    inner_places.setdefault(id(inner), []).append((inner, path))
        segments = frozenset(first_segment(path, base) for _, path in served)
        if segments and not any("{" in s for s in segments):
            # An instance attribute shadows the class's method: Starlette's router calls ``route.matches(scope)``.
            route.matches = _by_segment(route.matches, segments, base)  # type: ignore[method-assign,assignment]
    for places in inner_places.values():
        if len(places) != 1:
            continue  # one route object under two prefixes: its literal part is not one string
        inner, path = places[0]
        # FastAPI matches an included route through ``route.matches(scope)`` on the route object itself.
        inner.matches = _by_literal(inner.matches, path)  # type: ignore[method-assign,assignment]


def _by_segment(matches: Matcher, segments: frozenset[str], base: str) -> Matcher:
    def quick(scope: Scope) -> tuple[Match, Scope]:
        if first_segment(get_route_path(scope), base) not in segments:
            return Match.NONE, {}
        return matches(scope)

    return quick


def _by_literal(matches: Matcher, route_path: str) -> Matcher:
    literal, has_parameters = route_path.partition("{")[0], "{" in route_path

    def quick(scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if path.startswith(literal) if has_parameters else path == literal:
            return matches(scope)
        return Match.NONE, {}

    return quick
