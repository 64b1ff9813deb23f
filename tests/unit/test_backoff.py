"""The shared back-off: exponential, capped, equal jitter (hearth.core.backoff)."""

from __future__ import annotations

import random

import pytest

from hearth.cloud.credit import Credit
from hearth.core.backoff import Backoff


def test_without_jitter_it_doubles_up_to_the_cap() -> None:
    b = Backoff(0.5, 4.0, jitter=False)
    assert [b.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.next_delay() == 0.5


def test_equal_jitter_keeps_a_floor_and_spreads_a_fleet() -> None:
    # The contract changed from full jitter ([0, ceiling]) to equal jitter ([ceiling / 2, ceiling]): a retry never
    # comes sooner than half its ceiling, and the fleet still spreads over the upper half of the window.
    fleet = [Backoff(1.0, 60.0, rng=random.Random(seed)) for seed in range(200)]
    for attempt in range(10):
        ceiling = min(60.0, 2.0**attempt)
        assert all(b.floor() == ceiling / 2 for b in fleet)
        delays = [b.next_delay() for b in fleet]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert min(delays) >= fleet[0].min_delay_s == 0.5
        # Spread over the jittered half, not in lockstep: no tenth of it holds more than a fifth of the fleet,
        # and the fleet covers most of it.
        half = ceiling / 2
        slots = [min(9, int((d - half) / half * 10)) for d in delays]
        assert max(slots.count(s) for s in set(slots)) < 40
        assert max(delays) - min(delays) > 0.8 * half


def test_a_fast_failing_loop_never_retries_in_a_burst() -> None:
    # Full jitter let ten retries of an absent adapter come within a second; the floor makes them add up.
    for seed in range(50):
        b = Backoff(0.5, 30.0, rng=random.Random(seed))
        waits = [b.next_delay() for _ in range(10)]
        assert min(waits) >= 0.25
        assert sum(waits) >= sum(min(30.0, 0.5 * 2**n) / 2 for n in range(10))


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError):
        Backoff(0, 1)
    with pytest.raises(ValueError):
        Backoff(2, 1)


def test_credit_follows_the_seeds_rules() -> None:
    credit = Credit()
    assert credit.balance() is None and credit.report() == {}
    assert credit.apply({"transaction_id": "t1", "category": "payment", "value": 100}) is None
    assert 99 <= (credit.balance() or 0) <= 100
    assert credit.apply({"transaction_id": "t1", "category": "payment", "value": 100}) is None  # a duplicate
    assert (credit.balance() or 0) <= 100 and credit.unacked == ["t1"]
    assert "does not fit" in (credit.apply({"transaction_id": "t2", "category": "payment", "value": -5}) or "")
    assert credit.apply({"transaction_id": "t3", "category": "bad-payment", "value": -500}) is None
    assert credit.balance() == 0 and credit.expired()  # never below 0
    assert credit.apply({"transaction_id": "t4", "category": "payment", "value": 50}) is None
    assert credit.apply({"transaction_id": "t5", "category": "zero-command", "value": 0}) is None
    assert credit.balance() == 0 and credit.final_balance is not None
    assert 49 <= credit.final_balance["final_balance"] <= 50
    again = Credit.loads(credit.dumps())
    assert again.seen == credit.seen and again.final_balance == credit.final_balance
