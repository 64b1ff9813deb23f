"""The Device State History shapes where the seed is silent: stacking, growing indexes, CSV cells."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from hearth.api.state_history_json import (
    AVERAGE,
    Summary,
    is_growing_index,
    point_json,
    points_csv,
    stacked_csv,
    stacked_json,
)


def _s(when: int, value: float, samples: int = 1) -> Summary:
    return Summary(when, value, repr(value), value, value, samples)


def test_stacked_levels_sum_their_devices() -> None:
    levels = ["zigbee://1/a", "electric/heatingSystem", "electric"]
    device = [_s(0, 2.0), _s(10, 3.0)]
    heater = [_s(0, 5.0, 2)]
    lamp = [_s(10, 1.0)]
    body = stacked_json(levels, [[device], [device, heater], [device, heater, lamp]], AVERAGE, "core:Wh")
    assert body["stackLevels"] == levels and body["deviceCounts"] == [1, 2, 3]
    assert body["historizationMethod"] == AVERAGE and body["deviceUnit"] == "core:Wh"
    first, second = body["stackedHistoryValues"]
    assert first == {
        "values": [2.0, 7.0, 7.0],
        "minValues": [2.0, 2.0, 2.0],
        "maxValues": [2.0, 5.0, 5.0],
        "samples": [1, 3, 3],
        "when": 0,
    }
    assert second == {
        "values": [3.0, 3.0, 4.0],
        "minValues": [3.0, 3.0, 1.0],
        "maxValues": [3.0, 3.0, 3.0],
        "samples": [1, 1, 2],
        "when": 10,
    }
    rows = list(csv.reader(io.StringIO(stacked_csv(body, ZoneInfo("UTC")))))
    assert rows[0][:6] == [
        "when",
        "date",
        "zigbee://1/a value",
        "zigbee://1/a min",
        "zigbee://1/a max",
        "zigbee://1/a samples",
    ]
    assert rows[1][:3] == ["0", "1970-01-01T00:00:00.000+00:00", "2.0"]


def test_growing_indexes_by_name() -> None:
    assert is_growing_index("core:ElectricEnergyConsumptionState")
    assert is_growing_index("core:GasConsumptionState")
    assert not is_growing_index("core:ElectricPowerConsumptionState")  # a power, not an index
    assert not is_growing_index("core:TemperatureState")


def test_points_and_hostile_csv_cells() -> None:
    assert point_json(5, "21.5") == {"value": "21.5", "min": 21.5, "max": 21.5, "samples": 1, "when": 5}
    assert point_json(5, '"open"') == {"value": "open", "samples": 1, "when": 5}
    assert point_json(5, "true") == {"value": "true", "samples": 1, "when": 5}
    assert point_json(5, "NaN") == {"value": "NaN", "samples": 1, "when": 5}
    text = points_csv([point_json(1, '"=HYPERLINK(1)"'), point_json(2, "-3.5")], ZoneInfo("UTC"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["value"] == "'=HYPERLINK(1)" and rows[1]["value"] == "-3.5" and rows[1]["min"] == "-3.5"
