"""The alert-rule evaluator against a plain reference written here, from the semantics the docs state.

Properties (hypothesis): every operator on any pair of values agrees with the reference; a rule is the AND
of its conditions; CHANGE fires exactly when a value differs from the one seen before. Plus the WKT reader
and the geometry (point in polygon, haversine) and the AGG buckets at their edges.
"""

from __future__ import annotations

import calendar
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.alerts.aggregates import AggregateBook, bucket_start, next_bucket_start
from hearth.alerts.attributes import AttributeName, Kind
from hearth.alerts.evaluator import evaluate
from hearth.alerts.geo import InvalidWKT, Polygon, as_position, haversine_km, parse_wkt
from hearth.alerts.operators import MISSING, AlertOperator, apply
from hearth.alerts.targets import Observation
from hearth.alerts.validation import parse_rule
from hearth.model.errors import ApiError

# ----------------------------------------------------------------------------- the reference

NUMBER_CHARS = set("0123456789+-.eE")


def ref_unknown(v: Any) -> bool:
    return v is MISSING or v is None


def ref_is_num(v: Any) -> bool:
    return type(v) in (int, float)


def ref_number(v: Any) -> float | None:
    if ref_is_num(v):
        try:
            f = float(v)
        except OverflowError:
            return None
        return f if math.isfinite(f) else None
    if type(v) is str:
        s = v.strip()
        if not s or not set(s) <= NUMBER_CHARS:
            return None
        try:
            f = float(s)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def ref_text(v: Any) -> str | None:
    if type(v) is str:
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if type(v) is int:
        return str(v)
    if type(v) is float and math.isfinite(v):
        return str(int(v)) if v == int(v) and abs(v) < 1e16 else repr(v)
    return None


def ref_equal(a: Any, b: Any) -> bool | None:
    """True/False, or None when the two cannot be compared."""
    if ref_is_num(b):
        x, y = ref_number(a), ref_number(b)
        return None if x is None or y is None else x == y
    ta, tb = ref_text(a), ref_text(b)
    return None if ta is None or tb is None else ta == tb


def reference(op: str, a: Any, b: Any = MISSING) -> bool:
    if op == "EXISTS":
        return not ref_unknown(a)
    if op == "NOT_EXISTS":
        return ref_unknown(a)
    if ref_unknown(a) or ref_unknown(b):
        return False
    if op in ("EQUALS", "NOT_EQUALS"):
        equal = ref_equal(a, b)
        if equal is None:
            return False
        return equal if op == "EQUALS" else not equal
    if op in ("GREATER_THAN", "LESS_THAN"):
        x, y = ref_number(a), ref_number(b)
        if x is None or y is None:
            return False
        return x > y if op == "GREATER_THAN" else x < y
    if op in ("IN", "NOT_IN"):
        ta = ref_text(a)
        if type(b) is list:
            options = [ref_text(e) for e in b if ref_text(e) is not None]
        else:
            options = [ref_text(b)] if ref_text(b) is not None else None
        if ta is None or options is None:
            return False
        return (ta in options) if op == "IN" else (ta not in options)
    tb = ref_text(b)
    if op in ("CONTAINS", "NOT_CONTAINS"):
        if tb is None:
            return False
        if type(a) is list:
            found = tb in [ref_text(e) for e in a]
        elif ref_text(a) is not None:
            found = tb in ref_text(a)  # type: ignore[operator]
        else:
            return False
        return found if op == "CONTAINS" else not found
    ta = ref_text(a)
    if ta is None or tb is None:
        return False
    return ta.startswith(tb) if op == "STARTS_WITH" else ta.endswith(tb)


# ----------------------------------------------------------------------------- values

words = st.sampled_from(
    [
        "",
        "a",
        "ab",
        "b",
        "on",
        "off",
        "open",
        "true",
        "25",
        "25.0",
        " 25",
        "2.5",
        "1e3",
        "-0",
        "inf",
        "nan",
        "1_0",
        "x25",
    ]
)
numbers = st.one_of(
    st.integers(-50, 50),
    st.sampled_from([25, 25.0, 2.5, -0.0, 1e20, 10**400, 0.1 + 0.2]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
)
scalars = st.one_of(st.just(MISSING), st.none(), st.booleans(), numbers, words, st.text(max_size=4))
values = st.one_of(
    scalars,
    st.lists(st.one_of(st.none(), st.booleans(), numbers, words), max_size=4),
    st.dictionaries(words, numbers, max_size=2),
)
OPERATORS = [
    "EQUALS",
    "NOT_EQUALS",
    "GREATER_THAN",
    "LESS_THAN",
    "EXISTS",
    "NOT_EXISTS",
    "IN",
    "NOT_IN",
    "CONTAINS",
    "NOT_CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
]


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(OPERATORS), values, values)
def test_every_operator_agrees_with_the_reference(op: str, a: Any, b: Any) -> None:
    assert apply(AlertOperator(op), a, b) is reference(op, a, b), (op, a, b)


@settings(max_examples=500, deadline=None)
@given(values)
def test_exists_and_not_exists_partition_every_value(a: Any) -> None:
    assert apply(AlertOperator.EXISTS, a) != apply(AlertOperator.NOT_EXISTS, a)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from([("EQUALS", "NOT_EQUALS"), ("IN", "NOT_IN"), ("CONTAINS", "NOT_CONTAINS")]), values, values)
def test_a_negative_operator_is_never_true_with_its_positive(pair: tuple[str, str], a: Any, b: Any) -> None:
    assert not (apply(AlertOperator(pair[0]), a, b) and apply(AlertOperator(pair[1]), a, b))


# ----------------------------------------------------------------------------- rules: AND, CHANGE

URL = "virtual://0000-0000-0000/1"


class Table:
    """A resolver over a dict: attribute name -> value."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def url_of(self, target_id: str) -> str:
        return target_id

    def observe(self, url: str, name: AttributeName, function: str | None) -> Observation:
        return Observation(self.data.get(name.text, MISSING), 0)


def second_operand(op: str, b: Any) -> dict[str, Any]:
    finite = ref_is_num(b) and ref_number(b) is not None
    if op in ("IN", "NOT_IN"):
        return {"valuesStr": [str(x) for x in b] if isinstance(b, list) else [str(b)]}
    if op in ("GREATER_THAN", "LESS_THAN"):
        return {"valueNum": b if finite else 1}
    if op in ("EQUALS", "NOT_EQUALS") and finite:
        return {"valueNum": b}
    return {"valueStr": b if isinstance(b, str) else str(b)}


def constant(operand: dict[str, Any]) -> Any:
    return next(iter(operand.values()))


conditions = st.lists(
    st.tuples(st.sampled_from(OPERATORS), st.sampled_from(["DATA.a", "DATA.b", "DATA.c"]), scalars),
    min_size=1,
    max_size=10,
)


@settings(max_examples=500, deadline=None)
@given(conditions, st.fixed_dictionaries({"DATA.a": values, "DATA.b": values}))
def test_a_rule_holds_when_all_its_conditions_hold(spec: list[tuple[str, str, Any]], data: dict[str, Any]) -> None:
    body_conditions = []
    expected = True
    for op, name, b in spec:
        operands: list[dict[str, Any]] = [{"attributeId": {"name": name}}]
        if op not in ("EXISTS", "NOT_EXISTS"):
            operands.append(second_operand(op, b))
        body_conditions.append({"operator": op, "operands": operands})
        arg = constant(operands[1]) if len(operands) > 1 else MISSING
        expected = expected and reference(op, data.get(name, MISSING), arg)
    rule = parse_rule({"targetType": "SYSTEM", "conditions": body_conditions}, "r")
    outcome = evaluate(rule, URL, Table(data), {})
    assert outcome.matched is expected
    names = {a["id"]["name"] for a in outcome.attributes()}
    assert names == {name for _, name, _ in spec}


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(MISSING),
            st.none(),
            st.booleans(),
            st.integers(0, 3),
            st.sampled_from([1.0, 2.0, "1", "a", [1], [1.0]]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_change_fires_exactly_when_the_value_differs_from_the_last_one_seen(sequence: list[Any]) -> None:
    rule = parse_rule(
        {
            "targetType": "SYSTEM",
            "conditions": [{"operator": "CHANGE", "operands": [{"attributeId": {"name": "DATA.x"}}]}],
        },
        "r",
    )
    memory: dict[tuple[int, str], Any] = {}
    last: Any = MISSING
    for value in sequence:
        fired = evaluate(rule, URL, Table({"DATA.x": value}), memory).matched
        if value is MISSING or last is MISSING:
            expected = False
        elif type(value) in (int, float) and type(last) in (int, float):
            expected = float(value) != float(last)
        else:
            expected = type(value) is not type(last) or value != last
        assert fired is expected, (last, value)
        if value is not MISSING:
            last = value


def test_change_memory_is_per_target() -> None:
    rule = parse_rule(
        {
            "targetType": "SYSTEM",
            "conditions": [{"operator": "CHANGE", "operands": [{"attributeId": {"name": "DATA.x"}}]}],
        },
        "r",
    )
    memory: dict[tuple[int, str], Any] = {}
    assert not evaluate(rule, "u1", Table({"DATA.x": 1}), memory).matched
    assert not evaluate(rule, "u2", Table({"DATA.x": 2}), memory).matched  # first sight of u2
    assert evaluate(rule, "u1", Table({"DATA.x": 2}), memory).matched


# ----------------------------------------------------------------------------- WKT and geometry


def test_wkt_reader() -> None:
    assert parse_wkt("POINT (2.35 48.85)") == (2.35, 48.85)
    assert parse_wkt("point(-1e0 +2.)") == (-1.0, 2.0)
    poly = parse_wkt("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4))")
    assert isinstance(poly, Polygon) and len(poly.rings) == 2
    for bad in (
        "",
        "POINT",
        "POINT (1)",
        "POINT (1 2 3)",
        "POINT (1 2",
        "LINESTRING (0 0, 1 1)",
        "POLYGON ((0 0, 1 0, 0 0))",
        "POLYGON ((0 0, 1 0, 1 1, 0 1))",
        "POINT (181 0)",
        "POINT (0 91)",
        "POINT (1 2) x",
        "POLYGON (0 0, 1 0, 1 1, 0 0)",
        "POINT (a b)",
        "POINT (1,2)",
    ):
        with pytest.raises(InvalidWKT):
            parse_wkt(bad)


def test_polygon_with_a_hole() -> None:
    poly = parse_wkt("POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (4 4, 6 4, 6 6, 4 6, 4 4))")
    assert isinstance(poly, Polygon)
    assert poly.contains((1, 1)) and poly.contains((0, 5)) and poly.contains((10, 10))  # edges are inside
    assert not poly.contains((5, 5)) and poly.contains((4, 5))  # the hole; its edge is the polygon's edge
    assert not poly.contains((11, 5)) and not poly.contains((-0.001, 5))


@settings(max_examples=500, deadline=None)
@given(
    st.floats(-170, 170),
    st.floats(-80, 80),
    st.floats(0.001, 5),
    st.floats(0.001, 5),
    st.floats(-180, 180),
    st.floats(-90, 90),
)
def test_point_in_rectangle_matches_the_bounding_box(
    x0: float, y0: float, w: float, h: float, px: float, py: float
) -> None:
    x1, y1 = x0 + w, y0 + h
    poly = parse_wkt(f"POLYGON (({x0!r} {y0!r}, {x1!r} {y0!r}, {x1!r} {y1!r}, {x0!r} {y1!r}, {x0!r} {y0!r}))")
    assert isinstance(poly, Polygon)
    inside = x0 <= px <= x1 and y0 <= py <= y1
    assert poly.contains((px, py)) is inside
    assert apply(AlertOperator.GEO_WITHIN, f"{px!r} {py!r}", poly) is inside
    assert apply(AlertOperator.GEO_NOT_WITHIN, [px, py], poly) is (not inside)


points = st.tuples(st.floats(-180, 180), st.floats(-90, 90))


@settings(max_examples=500, deadline=None)
@given(points, points, points)
def test_haversine_is_a_distance(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> None:
    assert haversine_km(a, a) == pytest.approx(0, abs=1e-9)
    assert haversine_km(a, b) == pytest.approx(haversine_km(b, a), abs=1e-6)
    assert 0 <= haversine_km(a, b) <= math.pi * 6371.0088 + 1e-6
    # Near antipodal points asin(sqrt(h)) loses precision (h close to 1): a tenth of a metre on 20,000 km
    # (hypothesis found (0, 0), (0, 7e-7), (180, 0) off by 1.1e-4 km). A metre is far below any geofence.
    assert haversine_km(a, c) <= haversine_km(a, b) + haversine_km(b, c) + 1e-3


def test_known_distances_and_the_distance_operators() -> None:
    paris, london = (2.3522, 48.8566), (-0.1276, 51.5072)
    assert haversine_km(paris, london) == pytest.approx(343.5, abs=1.0)
    assert haversine_km((0, 0), (1, 0)) == pytest.approx(111.195, abs=0.01)
    point = parse_wkt("POINT (-0.1276 51.5072)")
    assert apply(AlertOperator.GEO_DISTANCE_TOO_FAR, "2.3522 48.8566", point, 300)
    assert not apply(AlertOperator.GEO_DISTANCE_TOO_FAR, "2.3522 48.8566", point, 400)
    assert apply(AlertOperator.GEO_DISTANCE_TOO_CLOSE, {"lon": 2.3522, "lat": 48.8566}, point, 400)
    assert apply(AlertOperator.GEO_DISTANCE_TOO_CLOSE, "POINT(2.3522 48.8566)", "-0.1276,51.5072", 400)  # attribute B
    assert not apply(AlertOperator.GEO_DISTANCE_TOO_CLOSE, "nowhere", point, 400)
    assert not apply(AlertOperator.GEO_NOT_WITHIN, MISSING, parse_wkt("POLYGON ((0 0, 1 0, 1 1, 0 0))"))


def test_positions_in_every_documented_form() -> None:
    for value in (
        "POINT(2 48)",
        "2 48",
        "2,48",
        " 2 , 48 ",
        [2, 48],
        (2.0, 48.0),
        {"lon": 2, "lat": 48},
        {"longitude": "2", "latitude": "48"},
    ):
        assert as_position(value) == (2.0, 48.0), value
    for value in ("", "2", "2 48 3", [2], [True, 48], {"lon": 2}, "200 0", None, 5, "POLYGON((0 0,1 0,1 1,0 0))"):
        assert as_position(value) is None, value


def test_geo_rules_are_validated() -> None:
    body = {
        "targetType": "SYSTEM",
        "conditions": [
            {
                "operator": "GEO_DISTANCE_TOO_FAR",
                "operands": [
                    {"attributeId": {"name": "DATA._LON_LAT"}},
                    {"valueStr": "POLYGON((0 0,1 0,1 1,0 0))"},
                    {"valueNum": 3},
                ],
            }
        ],
    }
    with pytest.raises(ApiError) as caught:
        parse_rule(body, "r")
    assert caught.value.code == "alert.rule.geo.invalid.wkt" and "POINT" in caught.value.message
    body["conditions"][0]["operands"][1] = {"attributeId": {"name": "DATA.other"}}
    with pytest.raises(ApiError) as caught:
        parse_rule(body, "r")
    assert caught.value.code == "alert.rule.geo.bad.attribute.id"
    body["conditions"][0]["operands"][1] = {"attributeId": {"name": "DATA._LON_LAT", "targetId": "x"}}
    rule = parse_rule(body, "r")
    assert rule.conditions[0].operands[1].attribute is not None


# ----------------------------------------------------------------------------- AGG buckets at their edges


def ts(*parts: int) -> float:
    return float(calendar.timegm((*parts, 0)[:6]))


def test_buckets_are_utc_hours_days_and_months() -> None:
    now = ts(2024, 2, 29, 23, 59, 59)
    assert bucket_start("H", now) == ts(2024, 2, 29, 23, 0, 0) * 1000
    assert bucket_start("D", now) == ts(2024, 2, 29, 0, 0, 0) * 1000
    assert bucket_start("M", now) == ts(2024, 2, 1, 0, 0, 0) * 1000
    assert (
        next_bucket_start("H", now)
        == next_bucket_start("D", now)
        == next_bucket_start("M", now)
        == ts(2024, 3, 1, 0, 0, 0) * 1000
    )
    assert next_bucket_start("M", ts(2024, 12, 31, 12, 0, 0)) == ts(2025, 1, 1, 0, 0, 0) * 1000


def test_aggregate_book_rolls_over() -> None:
    book = AggregateBook()
    key = ("u", "core:TemperatureState", "H")
    start = ts(2024, 5, 1, 10, 59, 0)
    for value in (20.0, 30.0, 25.0):
        book.add(key, value, start)
    agg = book.current(key, start + 30)
    assert (agg.min, agg.max, agg.sum, agg.cnt, agg.mean) == (20.0, 30.0, 75.0, 3, 25.0)
    assert agg.component("MEAN") == 25.0 and agg.component("CNT") == 3
    assert book.next_roll(start) == ts(2024, 5, 1, 11, 0, 0)
    later = start + 60
    empty = book.current(key, later)  # read lazily: the hour has ended even before the roll
    assert empty.cnt == 0 and empty.component("MEAN") is MISSING and empty.component("SUM") == 0
    assert book.roll(later) == [key]
    assert book.roll(later) == []  # nothing new
    assert book.current(key, later).start == ts(2024, 5, 1, 11, 0, 0) * 1000


def test_attribute_names() -> None:
    from hearth.alerts.attributes import parse_attribute

    assert parse_attribute("DATA.core:TemperatureState", "x") == AttributeName(
        "DATA.core:TemperatureState", Kind.DATA, "core:TemperatureState"
    )
    agg = parse_attribute("AGG.modbus:Energy/Total/D", "x")
    assert (agg.kind, agg.key, agg.scale) == (Kind.AGG, "modbus:Energy/Total", "D")
    assert parse_attribute("AGG.SMS_SENT/H", "x").kind is Kind.CLOUD_ONLY
    assert parse_attribute("system.heartbeat.state", "x").kind is Kind.CLOUD_ONLY
    assert parse_attribute("system.commStatus", "x").kind is Kind.SYSTEM
    for bad, code in (
        ("DATA.", "alert.rule.invalid.operand.type"),
        ("AGG.x/Y", "alert.rule.invalid.operand.type"),
        ("AGG.VOICE_OUT_SESSION/H", "alert.rule.bad.voice.agg.usage"),
        ("temperature", "alert.rule.invalid.operand.type"),
    ):
        with pytest.raises(ApiError) as caught:
            parse_attribute(bad, "x")
        assert caught.value.code == code
