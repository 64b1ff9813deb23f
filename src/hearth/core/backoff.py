"""One back-off for every reconnect and retry loop: exponential, capped, with full jitter.

Without jitter, every gateway that lost the same broker (or cloud) at the same moment retries at the same
moments (1 s, 2 s, 4 s ...), so a fleet reconnects in lockstep and the server sees the whole fleet at once, again
and again. Full jitter (AWS architecture blog, "Exponential Backoff And Jitter") waits a uniform random time in
``[0, min(cap, base * 2**attempt)]``: the same mean growth, the retries spread over the whole window.

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

    def ceiling(self) -> float:
        """The longest the next wait may be: ``base * 2**attempt``, capped."""
        return float(min(self.cap_s, self.base_s * 2.0 ** min(self.attempt, 62)))

    def next_delay(self) -> float:
        """The wait before the next attempt (seconds), and one more attempt counted."""
        ceiling = self.ceiling()
        self.attempt += 1
        if not self.jitter:
            return ceiling
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0
