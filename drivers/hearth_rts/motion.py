"""The assumed position of a one-way RTS motor, from its travel times: RTS cannot say where a motor is.

A level runs from 0 (fully up: a shutter open, an awning in) to 100 (fully down: closed, deployed). "Down"
raises the level at 100 / travel_down_s per second, "up" lowers it at 100 / travel_up_s; the motor stops at the
ends by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

DOWN, STILL, UP = 1, 0, -1


@dataclass(slots=True)
class Motion:
    level: float
    travel_down_s: float
    travel_up_s: float
    direction: int = STILL
    since: float = 0.0  # when the current movement started (monotonic)

    def at(self, now: float) -> float:
        if self.direction == STILL:
            return self.level
        speed = 100 / (self.travel_down_s if self.direction == DOWN else self.travel_up_s)
        return max(0.0, min(100.0, self.level + self.direction * speed * (now - self.since)))

    def moving(self, now: float) -> bool:
        if self.direction == STILL:
            return False
        end = 100.0 if self.direction == DOWN else 0.0
        return self.at(now) != end

    def go(self, direction: int, now: float) -> None:
        self.level = self.at(now)
        self.direction = direction
        self.since = now

    def stop(self, now: float) -> None:
        self.level = self.at(now)
        self.direction = STILL

    def settle(self, now: float) -> None:
        """A movement that has reached its end is over."""
        if self.direction != STILL and not self.moving(now):
            self.stop(now)

    def seconds_to(self, target: float, now: float) -> tuple[int, float]:
        """Which way to go to reach ``target``, and for how long."""
        here = self.at(now)
        if abs(target - here) < 0.5:
            return STILL, 0.0
        direction = DOWN if target > here else UP
        travel = self.travel_down_s if direction == DOWN else self.travel_up_s
        return direction, abs(target - here) / 100 * travel

    def seconds_left(self, now: float) -> float:
        if not self.moving(now):
            return 0.0
        end = 100.0 if self.direction == DOWN else 0.0
        travel = self.travel_down_s if self.direction == DOWN else self.travel_up_s
        return abs(end - self.at(now)) / 100 * travel
