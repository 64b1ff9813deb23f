"""The seed's Device State History shapes, built from raw points and rollups, and their CSV exports.

Where seed 003 is silent, the choices (README, "Device state history"):
- ``historizationMethod`` (an integer the seed never defines): 0 a state whose values are not numbers (the
  bucket's ``value`` is its newest value; no min/max), 1 a measured value (``value`` the mean of the samples
  in the bucket), 2 a growing index such as an energy meter (``value`` the increase over the bucket:
  its newest reading less the newest of the bucket before; ``min``/``max`` the readings).
- ``value`` is a string, as the seed's example has it (the number's decimal text for numbers); ``min`` and
  ``max`` are numbers, left out where the values are not numbers; ``samples`` is the count of points.
  A raw point is one sample: ``min`` = ``max`` = its value.
- ``when`` is the bucket's start (local midnight, first of the month, first of the year).
- ``deviceUnit``: the device's ``<state>MeasuredValueType`` attribute, else ``core:MeasuredValueType``, for
  numbers only; left out when the device has neither.
- Stacked: levels are the device itself, then its ``core:MeasurementCategory`` and each of its parents
  (``electric/heatingSystem``, then ``electric``), each level holding every device of that category or below
  with history of the same state. ``values`` sums the devices' bucket values; ``minValues``/``maxValues`` are
  the least and the most one device of the level contributed; ``samples`` the points counted; a level with no
  data in a bucket counts 0. The raw stacked variants stack hourly buckets (raw points of several devices
  never share a time).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from hearth.model.datatype import DataType
from hearth.model.device import Device
from hearth.store.rollups import Bucket, numeric

DISCRETE, AVERAGE, CUMULATIVE = 0, 1, 2
NUMERIC_TYPES = (DataType.INTEGER, DataType.FLOAT)
CATEGORY = "core:MeasurementCategory"


def is_growing_index(name: str) -> bool:
    """Energy, gas or water counters: ``...ConsumptionState``/``...ProductionState`` but not a power."""
    return name.endswith(("ConsumptionState", "ProductionState")) and "Power" not in name


def method_of(device: Device, name: str, numeric_data: bool) -> int:
    state = device.states.get(name)
    is_number = state.type in NUMERIC_TYPES if state is not None else numeric_data
    if not is_number:
        return DISCRETE
    return CUMULATIVE if is_growing_index(name) else AVERAGE


def unit_of(device: Device, name: str) -> str | None:
    for key in (f"{name}MeasuredValueType", "core:MeasuredValueType"):
        attribute = device.attributes.get(key)
        if attribute is not None and isinstance(attribute.value, str):
            return attribute.value
    return None


def value_text(value_json: str) -> str:
    value = json.loads(value_json)
    return value if isinstance(value, str) else value_json


def _number_text(number: float) -> str:
    return repr(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def point_json(when: int, value_json: str) -> dict[str, Any]:
    """One raw point. Numbers (most points) are read with float(), not a JSON parse: this runs per point."""
    first = value_json[:1]
    if first == '"':
        return {"value": json.loads(value_json), "samples": 1, "when": when}
    if first.isdigit() or first == "-":
        number = float(value_json)
        if math.isfinite(number):
            return {"value": value_json, "min": number, "max": number, "samples": 1, "when": when}
    return {"value": value_json, "samples": 1, "when": when}


@dataclass(slots=True)
class Summary:
    """One bucket as the API shows it."""

    when: int
    value: float | None  # None: not a number (discrete states)
    text: str
    low: float | None
    high: float | None
    samples: int


def summarise(buckets: list[Bucket], previous: Bucket | None, method: int) -> list[Summary]:
    out = []
    for bucket in buckets:
        low, high = bucket.low, bucket.high
        last = numeric(json.loads(bucket.last))
        value: float | None
        if method == CUMULATIVE and last is not None:
            before = numeric(json.loads(previous.last)) if previous is not None else None
            value = last - before if before is not None else last - (low if low is not None else last)
            if value < 0:  # the meter was reset (or replaced): count from its lowest reading in the bucket
                value = last - (low if low is not None else last)
        elif method != DISCRETE and bucket.average is not None:
            value = bucket.average
        else:
            value = None
        text = _number_text(value) if value is not None else value_text(bucket.last)
        out.append(Summary(bucket.start, value, text, low, high, bucket.samples))
        previous = bucket
    return out


def summary_json(summary: Summary) -> dict[str, Any]:
    out: dict[str, Any] = {"value": summary.text}
    if summary.low is not None and summary.high is not None:
        out.update(min=summary.low, max=summary.high)
    out.update(samples=summary.samples, when=summary.when)
    return out


def history_json(values: list[dict[str, Any]], method: int, unit: str | None) -> dict[str, Any]:
    """``{"historyValues", "historizationMethod", "deviceUnit"}``. The all-states routes add ``name`` to each
    (the seed's shape does not say which state an element is; without it a client cannot tell them apart)."""
    out: dict[str, Any] = {"historyValues": values, "historizationMethod": method}
    if unit is not None:
        out["deviceUnit"] = unit
    return out


def stack_levels(device: Device) -> list[str]:
    levels = [device.url_text]
    attribute = device.attributes.get(CATEGORY)
    category = attribute.value if attribute is not None and isinstance(attribute.value, str) else ""
    parts = [p for p in category.split("/") if p]
    levels.extend("/".join(parts[:n]) for n in range(len(parts), 0, -1))
    return levels


def in_level(device: Device, level: str) -> bool:
    attribute = device.attributes.get(CATEGORY)
    category = attribute.value if attribute is not None and isinstance(attribute.value, str) else ""
    return category == level or category.startswith(level + "/")


def stacked_json(
    levels: list[str], members: list[list[list[Summary]]], method: int, unit: str | None
) -> dict[str, Any]:
    """``members[level][device]`` is that device's summaries; one element per bucket start seen."""
    starts = sorted({s.when for level in members for device in level for s in device})
    by_start: list[list[dict[int, Summary]]] = [[{s.when: s for s in device} for device in level] for level in members]
    rows = []
    for start in starts:
        values, lows, highs, samples = [], [], [], []
        for level in by_start:
            found = [d[start] for d in level if start in d and d[start].value is not None]
            contributions = [s.value for s in found if s.value is not None]
            values.append(sum(contributions) if contributions else 0)
            lows.append(min(contributions) if contributions else 0)
            highs.append(max(contributions) if contributions else 0)
            samples.append(sum(s.samples for s in found))
        rows.append({"values": values, "minValues": lows, "maxValues": highs, "samples": samples, "when": start})
    out: dict[str, Any] = {
        "stackedHistoryValues": rows,
        "stackLevels": levels,
        "deviceCounts": [len(level) for level in members],
        "historizationMethod": method,
    }
    if unit is not None:
        out["deviceUnit"] = unit
    return out


# ------------------------------------------------------------------ CSV


def _cell(text: str) -> str:
    """A device's string could be a spreadsheet formula: such cells are quoted with a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and numeric_text(text) is None else text


def numeric_text(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(when: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(when / 1000, tz).isoformat(timespec="milliseconds")


def points_csv(rows: list[dict[str, Any]], tz: tzinfo) -> str:
    """``when,date,value,min,max,samples``: ms since the epoch, local ISO 8601 date, then the JSON's fields."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["when", "date", "value", "min", "max", "samples"])
    for row in rows:
        writer.writerow(
            [
                row["when"],
                _date(row["when"], tz),
                _cell(row["value"]),
                row.get("min", ""),
                row.get("max", ""),
                row["samples"],
            ]
        )
    return out.getvalue()


def stacked_csv(stacked: dict[str, Any], tz: tzinfo) -> str:
    """``when,date``, then for each stack level ``<level> value|min|max|samples``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = ["when", "date"]
    for level in stacked["stackLevels"]:
        header.extend(f"{_cell(level)} {what}" for what in ("value", "min", "max", "samples"))
    writer.writerow(header)
    for row in stacked["stackedHistoryValues"]:
        cells: list[Any] = [row["when"], _date(row["when"], tz)]
        for i in range(len(stacked["stackLevels"])):
            cells.extend((row["values"][i], row["minValues"][i], row["maxValues"][i], row["samples"][i]))
        writer.writerow(cells)
    return out.getvalue()
