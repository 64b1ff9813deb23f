"""The assumed position of an RTS motor from its travel times."""

from __future__ import annotations

import pytest

pytest.importorskip("serial_asyncio_fast", reason="the rts extra is not installed")

from hearth_rts.motion import DOWN, STILL, UP, Motion  # noqa: E402


def test_position_follows_the_travel_times_and_stops_at_the_ends() -> None:
    m = Motion(level=100.0, travel_down_s=20, travel_up_s=10)
    m.go(UP, now=0.0)
    assert m.at(5.0) == 50.0 and m.moving(5.0)
    assert m.at(30.0) == 0.0 and not m.moving(30.0)
    m.settle(30.0)
    assert m.direction == STILL and m.level == 0.0
    m.go(DOWN, now=40.0)
    m.stop(50.0)
    assert m.level == 50.0 and not m.moving(60.0)


def test_time_to_a_target_depends_on_the_direction() -> None:
    m = Motion(level=50.0, travel_down_s=20, travel_up_s=10)
    assert m.seconds_to(75.0, 0.0) == (DOWN, 5.0)
    assert m.seconds_to(25.0, 0.0) == (UP, 2.5)
    assert m.seconds_to(50.2, 0.0) == (STILL, 0.0)
