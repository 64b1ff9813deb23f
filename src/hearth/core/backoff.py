"""One back-off for every reconnect and retry loop: exponential, capped, with equal jitter.

Without jitter, every gateway that lost the same broker (or cloud) at the same moment retries at the same
moments (1 s, 2 s, 4 s ...), so a fleet reconnects in lockstep and the server sees the whole fleet at once, again
and again. Full jitter (a uniform wait in ``[0, ceiling]``) spreads a fleet but lets a retry come almost at once:
a loop failing fast (an absent adapter, a refused connection) then retries several times in a second, and a
fleet sends its fastest fraction straight back at the server. Equal jitter (AWS architecture blog, "Exponential
Backoff And Jitter") keeps half the window as a floor and spreads over the other half:

    ceiling = min(cap, base * 2**attempt)
    wait    = ceiling / 2 + uniform(0, ceiling / 2)        # in [ceiling / 2, ceiling]

The contract: no wait is shorter than half its ceiling, so never shorter than ``base_s / 2`` (``min_delay_s``),
and the n-th consecutive wait never shorter than ``min(cap, base * 2**n) / 2``; the waits of a fleet spread
uniformly over the upper half of the window.

``jitter=False`` keeps the old deterministic doubling (the fleet bench's baseline).
"""

from __future__ import annotations

import random


class Backoff:
    """The delay before the next attempt; ``reset()`` after a success."""

    def __init__(self, base_s: float, cap_s: float, *, jitter: bool = True, rng: random.Random | None = None) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError(f"back-off needs 0 < base ({base_s}) <= cap ({cap_s})")
        self.base_s = base_s
        self.cap_s = cap_s
        self.jitter = jitter
        self.attempt = 0
        self._rng = rng or random.Random()

    @property
    def min_delay_s(self) -> float:
        """The shortest wait this back-off ever gives (half the first ceiling)."""
        return self.base_s / 2 if self.jitter else self.base_s

    def ceiling(self) -> float:
        """The longest the next wait may be: ``base * 2**attempt``, capped."""
        return float(min(self.cap_s, self.base_s * 2.0 ** min(self.attempt, 62)))

    def floor(self) -> float:
        """The shortest the next wait may be: half its ceiling with jitter, the ceiling itself without."""
        ceiling = self.ceiling()
        return ceiling / 2 if self.jitter else ceiling

    def next_delay(self) -> float:
        """The wait before the next attempt (seconds), and one more attempt counted."""
        ceiling = self.ceiling()
        self.attempt += 1
        if not self.jitter:
            return ceiling
        half = ceiling / 2
        return half + self._rng.uniform(0.0, half)

    def reset(self) -> None:
        self.attempt = 0
