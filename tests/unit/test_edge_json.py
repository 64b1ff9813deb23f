"""The edge's JSON rules (api/edge.py) as properties over generated documents and texts.

Integration tests show them on a live gateway; here Hypothesis explores the parser and the walker alone:
whatever the input, the result is a value that only holds finite numbers within +-(2**53-1) and clean text,
or a refusal (``Refused``) with a 4xx status, never another exception.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.api.edge import Refused, check_content_type, decode_utf8, parse_json, sanitize
from hearth.model.strict import MAX_JSON_NUMBER, control_character

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


def _clean(value: Any, name: bool = False) -> None:
    """What sanitize promises of what it accepts."""
    if isinstance(value, float):
        assert math.isfinite(value) and abs(value) <= MAX_JSON_NUMBER
        assert math.copysign(1.0, value) > 0 or value != 0
    elif isinstance(value, int) and not isinstance(value, bool):
        assert abs(value) <= MAX_JSON_NUMBER
    elif isinstance(value, str):
        value.encode("utf-8")
        assert "\x00" not in value
        if name:
            assert control_character(value) is None
    elif isinstance(value, list):
        for item in value:
            _clean(item, name)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert control_character(key) is None
            _clean(item, key.lower().endswith(("label", "name", "names", "title", "url", "urls", "oid", "oids")))


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_sanitize_accepts_only_clean_documents(value: Any) -> None:
    try:
        result, _ = sanitize(value)
    except Refused as exc:
        assert exc.status == 400 and exc.message
        return
    _clean(result)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_parsing_any_text_gives_a_value_or_a_400(text: str) -> None:
    try:
        parse_json(text)
    except Refused as exc:
        assert exc.status == 400


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decoding_any_bytes_gives_text_or_a_415(body: bytes) -> None:
    try:
        text = decode_utf8(body)
    except Refused as exc:
        assert exc.status == 415
        return
    assert text.encode("utf-8") == body and "\x00" not in text


@settings(max_examples=200, deadline=None)
@given(
    json_values.filter(lambda v: isinstance(v, dict | list)),
    st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
)
def test_json_in_utf16_or_utf32_is_refused_as_an_encoding(value: Any, encoding: str) -> None:
    text = json.dumps(value)
    with pytest.raises(Refused) as refused:
        decode_utf8(text.encode(encoding))
    assert refused.value.status == 415


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "[NaN]", '{"a": Infinity}'])
def test_non_finite_literals_are_refused(literal: str) -> None:
    with pytest.raises(Refused):
        parse_json(literal)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1e308", "9007199254740992", "-9007199254740992"])
def test_numbers_beyond_the_interoperable_range_are_refused(number: str) -> None:
    with pytest.raises(Refused):
        sanitize(parse_json(f'{{"delay": {number}}}'))


def test_negative_zero_becomes_zero_and_says_it_changed() -> None:
    value, changed = sanitize(parse_json('{"a": [-0.0, 1.5], "b": -0.0, "c": 0.0}'))
    assert changed and json.dumps(value) == '{"a": [0.0, 1.5], "b": 0.0, "c": 0.0}'
    assert sanitize(parse_json('{"a": 0.0}')) == ({"a": 0.0}, False)


def test_duplicated_keys_are_refused() -> None:
    with pytest.raises(Refused, match="twice"):
        parse_json('{"label": "a", "label": "b"}')


@pytest.mark.parametrize("control", ["\x00", "\r", "\n", "\t", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"])
def test_control_characters_are_refused_in_names_but_lf_and_tab_kept_elsewhere(control: str) -> None:
    for key in ("label", "name", "controllableNames", "notificationTitle", "deviceURL", "oid"):
        with pytest.raises(Refused, match="control character|NUL"):
            sanitize({key: f"a{control}b"} if key != "controllableNames" else {key: [f"a{control}b"]})
    if control in "\n\t\r":
        assert sanitize({"metadata": f"a{control}b"}) == ({"metadata": f"a{control}b"}, False)


@pytest.mark.parametrize(
    ("header", "refused"),
    [
        ("application/json", False),
        ("application/json; charset=utf-8", False),
        ('Application/JSON;charset="UTF-8"', False),
        (None, True),
        ("text/plain", True),
        ("application/json; charset=utf-16", True),
        ("application/jsonx", True),
    ],
)
def test_content_types(header: str | None, refused: bool) -> None:
    if refused:
        with pytest.raises(Refused) as exc:
            check_content_type(header)
        assert exc.value.status == 415
    else:
        check_content_type(header)
