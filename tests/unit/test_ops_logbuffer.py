"""The in-memory log buffer behind ``/ext/logs``: newest first, by level, bounded, and secrets masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from hearth.ops.logbuffer import MAX_MESSAGE, LogBuffer

TOKEN = "hth_" + "Ab3_-" * 9


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, LogBuffer]]:
    buffer = LogBuffer(capacity=5)
    log = logging.getLogger("hearth.test.logbuffer")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(buffer)
    yield log, buffer
    log.removeHandler(buffer)


def test_bearer_tokens_and_our_tokens_are_masked(logger: tuple[logging.Logger, LogBuffer]) -> None:
    log, buffer = logger
    log.warning("request with Authorization: Bearer %s refused", "eyJhbGciOiJIUzI1NiJ9.payload.signature")
    log.info("token %s made", TOKEN)
    log.info("settings: password=hunter22 network_key: 0a0b0c0d")
    messages = [r["message"] for r in buffer.newest(10)]
    assert messages[2] == "request with Authorization: Bearer *** refused"
    assert messages[1] == "token *** made"
    assert "hunter22" not in messages[0] and "0a0b0c0d" not in messages[0]


def test_a_traceback_is_kept_and_masked(logger: tuple[logging.Logger, LogBuffer]) -> None:
    log, buffer = logger
    try:
        raise ValueError(f"bad header Bearer {TOKEN}")
    except ValueError:
        log.exception("request failed")
    [record] = buffer.newest(1)
    assert record["level"] == "ERROR" and record["message"].startswith("request failed\nTraceback")
    assert "ValueError: bad header Bearer ***" in record["message"] and TOKEN not in record["message"]


def test_newest_first_bounded_and_filtered_by_level(logger: tuple[logging.Logger, LogBuffer]) -> None:
    log, buffer = logger
    for i in range(7):
        (log.warning if i % 2 else log.info)("line %d", i)
    records = buffer.newest(100)
    assert [r["message"] for r in records] == ["line 6", "line 5", "line 4", "line 3", "line 2"]
    assert [r["message"] for r in buffer.newest(100, "WARNING")] == ["line 5", "line 3"]
    assert [r["message"] for r in buffer.newest(1, "WARNING")] == ["line 5"]
    assert records[0]["logger"] == "hearth.test.logbuffer" and records[0]["time"] >= records[-1]["time"]


def test_a_huge_message_is_cut_after_masking(logger: tuple[logging.Logger, LogBuffer]) -> None:
    log, buffer = logger
    # The token straddles the cut: masked whole first, so no part of it survives.
    log.info("x " * ((MAX_MESSAGE - 10) // 2) + TOKEN + " " + "y" * 100)
    [record] = buffer.newest(1)
    assert len(record["message"]) == MAX_MESSAGE and "hth_" not in record["message"]


def test_a_below_level_record_is_not_kept() -> None:
    buffer = LogBuffer(capacity=5, level=logging.INFO)
    log = logging.getLogger("hearth.test.logbuffer.level")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(buffer)
    try:
        log.debug("chatter")
        log.info("kept")
    finally:
        log.removeHandler(buffer)
    assert [r["message"] for r in buffer.newest(10)] == ["kept"]
