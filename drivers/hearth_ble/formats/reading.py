"""What a decoder makes of one advertisement."""

from __future__ import annotations

from dataclasses import dataclass, field

# A measurement: a number in the unit BTHome names for it, or a binary sensor's bool.
Value = int | float | bool


@dataclass(frozen=True, slots=True)
class Reading:
    format: str
    # Measurement name -> value. A name sent twice in one packet keeps its first value.
    values: dict[str, Value] = field(default_factory=dict)
    # The sender's packet counter, when the format has one: the same id twice is the same packet.
    packet_id: int | None = None
