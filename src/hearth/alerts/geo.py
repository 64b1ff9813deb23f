"""Geofencing for alert rules: a small WKT reader (POINT, POLYGON), point-in-polygon and haversine.

Coordinates are ``lon lat`` in degrees, WKT's order and the order of ``DATA._LON_LAT``. Polygons are tested
in the plane of longitude and latitude (fine for the size of a town; no ring crossing the antimeridian), a
point on an edge counts as inside, and holes (further rings) are outside. Distances are great-circle
kilometres on a sphere of the Earth's mean radius.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EARTH_RADIUS_KM = 6371.0088
Point = tuple[float, float]  # (lon, lat)

_TOKEN = re.compile(r"\s*(?:([A-Za-z]+)|([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)|([(),]))")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


class InvalidWKT(ValueError):
    """The text is not a WKT POINT or POLYGON we read; the message says where it goes wrong."""


@dataclass(frozen=True, slots=True)
class Polygon:
    rings: tuple[tuple[Point, ...], ...]  # the outer ring, then the holes; each closed

    def contains(self, point: Point) -> bool:
        if not _in_ring(point, self.rings[0]):
            return False
        return not any(_in_ring(point, hole) and not _on_ring(point, hole) for hole in self.rings[1:])


Shape = Point | Polygon


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidWKT(f"unexpected character {text[pos:].strip()[:1]!r} at position {pos}")
        out.append(match.group(match.lastindex or 0).upper())
        pos = match.end()
    return out


def _check(point: Point) -> Point:
    lon, lat = point
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidWKT(f"coordinates ({lon} {lat}) are out of range: lon in [-180, 180], lat in [-90, 90]")
    return point


class _Reader:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def take(self, expected: str | None = None) -> str:
        if self.pos >= len(self.tokens):
            raise InvalidWKT(f"unexpected end of text{f', expected {expected!r}' if expected else ''}")
        token = self.tokens[self.pos]
        if expected is not None and token != expected:
            raise InvalidWKT(f"expected {expected!r}, found {token!r}")
        self.pos += 1
        return token

    def number(self) -> float:
        token = self.take()
        if not _NUMBER.match(token):
            raise InvalidWKT(f"expected a number, found {token!r}")
        return float(token)

    def point(self) -> Point:
        return _check((self.number(), self.number()))

    def ring(self) -> tuple[Point, ...]:
        self.take("(")
        points = [self.point()]
        while self.take() == ",":
            points.append(self.point())
        self.pos -= 1
        self.take(")")
        if len(points) < 4:
            raise InvalidWKT(f"a polygon ring needs at least 4 points, found {len(points)}")
        if points[0] != points[-1]:
            raise InvalidWKT("a polygon ring must be closed (its last point equal to its first)")
        return tuple(points)


def parse_wkt(text: Any) -> Shape:
    """Read ``POINT (lon lat)`` or ``POLYGON ((lon lat, ...), (hole...))``; raises InvalidWKT."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidWKT("a WKT text is required")
    reader = _Reader(_tokens(text))
    kind = reader.take()
    shape: Shape
    if kind == "POINT":
        reader.take("(")
        shape = reader.point()
        reader.take(")")
    elif kind == "POLYGON":
        reader.take("(")
        rings = [reader.ring()]
        while reader.take() == ",":
            rings.append(reader.ring())
        reader.pos -= 1
        reader.take(")")
        shape = Polygon(tuple(rings))
    else:
        raise InvalidWKT(f"{kind!r} is not a shape we read: POINT or POLYGON")
    if reader.pos != len(reader.tokens):
        raise InvalidWKT(f"unexpected {reader.tokens[reader.pos]!r} after the shape")
    return shape


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    (px, py), (ax, ay), (bx, by) = p, a, b
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    if abs(cross) > 1e-12 * max(1.0, abs(bx - ax) + abs(by - ay)):
        return False
    return min(ax, bx) <= px <= max(ax, bx) and min(ay, by) <= py <= max(ay, by)


def _on_ring(p: Point, ring: Sequence[Point]) -> bool:
    return any(_on_segment(p, ring[i], ring[i + 1]) for i in range(len(ring) - 1))


def _in_ring(p: Point, ring: Sequence[Point]) -> bool:
    """Crossing number, with the boundary inside."""
    if _on_ring(p, ring):
        return True
    x, y = p
    inside = False
    for i in range(len(ring) - 1):
        (x1, y1), (x2, y2) = ring[i], ring[i + 1]
        if (y1 > y) != (y2 > y):
            cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross_x:
                inside = not inside
    return inside


def haversine_km(a: Point, b: Point) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _coordinate(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value.strip())
    return None


def as_position(value: Any) -> Point | None:
    """The position a ``_LON_LAT`` state holds, in any of the documented forms; None if it holds none."""
    lon: Any
    lat: Any
    if isinstance(value, str):
        text = value.strip()
        if text[:5].upper() == "POINT":
            try:
                shape = parse_wkt(text)
            except InvalidWKT:
                return None
            return shape if isinstance(shape, tuple) else None
        parts = text.replace(",", " ").split()
        if len(parts) != 2:
            return None
        lon, lat = parts
    elif isinstance(value, list | tuple) and len(value) == 2:
        lon, lat = value
    elif isinstance(value, dict):
        lon = value.get("lon", value.get("longitude"))
        lat = value.get("lat", value.get("latitude"))
    else:
        return None
    x, y = _coordinate(lon), _coordinate(lat)
    if x is None or y is None:
        return None
    try:
        return _check((x, y))
    except InvalidWKT:
        return None
