"""The setup's location (``GET|PUT /setup/location``): address, timezone, coordinates, twilight setting.

``PUT`` merges: a field it carries replaces the stored one, ``null`` clears it, a field it leaves out keeps
its value. Every field is checked and a bad one is named in the error; nothing is stored then.

Until a location is set, the timezone is the host's (``TZ``, ``/etc/timezone``...) and there are no
coordinates, so dawn and dusk are undefined: ``GET /setup/dawnTime`` answers ``{}`` and DAWN/DUSK bounds of
trigger schedules have no time (a day without one has no window, see ``core.triggers.intervals``).
``GET /setup/location`` shows those defaults; ``GET /setup`` has ``"location": null`` until one is set.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.clock import Clock
from hearth.core.sun import DEFAULT_ANGLE, SunSetting, TwilightAngle, system_timezone, time_json, valid_timezone
from hearth.model.errors import ApiError, ErrorCode
from hearth.model.events import LocationUpdatedEvent, now_ms
from hearth.store.database import Database
from hearth.store.location import LocationRepository
from hearth.store.writer import BatchWriter

_TEXT_FIELDS = ("city", "country", "postalCode", "addressLine1", "addressLine2", "twilightCity")
_FIELDS = frozenset(
    _TEXT_FIELDS
    + (
        "creationTime",
        "lastUpdateTime",
        "timezone",
        "latitude",
        "longitude",
        "twilightMode",
        "twilightAngle",
        "summerSolsticeDuskMinutes",
        "winterSolsticeDuskMinutes",
        "dawnOffset",
        "duskOffset",
        "twilightOffsetEnabled",
        "tariffSettings",
    )
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Dusk at the solstices for twilightMode 2 when the user gave none: 21:30 in June, 17:00 in December.
SUMMER_DUSK_MIN, WINTER_DUSK_MIN = 21 * 60 + 30, 17 * 60


def _bad(field: str, reason: str) -> ApiError:
    return ApiError.bad_request(f"Invalid location: {field}: {reason}", ErrorCode.INVALID_FIELD_VALUE)


def _number(field: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _bad(field, "must be a number")
    if not low <= value <= high:
        raise _bad(field, f"must be between {low:g} and {high:g}")
    return float(value)


def _integer(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field, "must be an integer")
    if not low <= value <= high:
        raise _bad(field, f"must be between {low} and {high}")
    return value


def _tariffs(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad("tariffSettings", "must be an object")
    out: dict[str, Any] = {}
    mode = value.get("tariffMode")
    if mode is not None:
        if not isinstance(mode, str) or len(mode) > 64:
            raise _bad("tariffSettings.tariffMode", "must be a short text")
        out["tariffMode"] = mode
    tariffs = value.get("tariffs", [])
    if not isinstance(tariffs, list) or len(tariffs) > 48:
        raise _bad("tariffSettings.tariffs", "must be a list of at most 48 tariffs")
    out["tariffs"] = []
    for i, tariff in enumerate(tariffs):
        where = f"tariffSettings.tariffs[{i}]"
        if not isinstance(tariff, dict):
            raise _bad(where, "must be an object")
        name, start = tariff.get("name"), tariff.get("startTime")
        if not isinstance(name, str) or not 0 < len(name) <= 64:
            raise _bad(f"{where}.name", "must be a short text")
        if not isinstance(start, str) or not _HHMM.match(start):
            raise _bad(f"{where}.startTime", 'must be "HH:MM"')
        out["tariffs"].append({"name": name, "startTime": start})
    return out


def validate_location(body: Any, current: dict[str, Any]) -> dict[str, Any]:
    """The stored document after merging ``body`` into ``current``; raises ApiError naming the field."""
    if not isinstance(body, dict):
        raise ApiError.bad_request("Invalid location: expected a JSON object", ErrorCode.INVALID_FIELD_VALUE)
    merged = dict(current)
    for key, value in body.items():
        if key not in _FIELDS:
            # The seed's location has exactly these fields: another key is a mistake, not to be dropped.
            raise _bad(key, "unknown field: not defined here")
        if key in ("creationTime", "lastUpdateTime"):
            continue
        if value is None:
            merged.pop(key, None)
            continue
        if key in _TEXT_FIELDS:
            if not isinstance(value, str) or len(value) > 256:
                raise _bad(key, "must be a text of at most 256 characters")
            merged[key] = value
        elif key == "timezone":
            if not isinstance(value, str) or not valid_timezone(value):
                raise _bad(key, f"{value!r} is not a known time zone (e.g. Europe/Paris)")
            merged[key] = value
        elif key == "latitude":
            merged[key] = _number(key, value, -90, 90)
        elif key == "longitude":
            merged[key] = _number(key, value, -180, 180)
        elif key == "twilightMode":
            merged[key] = _integer(key, value, 0, 99)
        elif key == "twilightAngle":
            try:
                merged[key] = TwilightAngle(str(value).upper()).value
            except ValueError:
                raise _bad(key, f"must be one of {', '.join(a.value for a in TwilightAngle)}") from None
        elif key in ("summerSolsticeDuskMinutes", "winterSolsticeDuskMinutes"):
            merged[key] = _integer(key, value, 0, 1439)
        elif key in ("dawnOffset", "duskOffset"):
            merged[key] = _integer(key, value, -720, 720)
        elif key == "twilightOffsetEnabled":
            if not isinstance(value, bool):
                raise _bad(key, "must be true or false")
            merged[key] = value
        elif key == "tariffSettings":
            merged[key] = _tariffs(value)
    if ("latitude" in merged) != ("longitude" in merged):
        missing = "longitude" if "latitude" in merged else "latitude"
        raise _bad(missing, "latitude and longitude go together")
    return merged


class LocationStore:
    def __init__(self, db: Database, writer: BatchWriter, bus: EventBus, clock: Clock) -> None:
        self._row = LocationRepository(db, writer)
        self._clock = clock
        self._bus = bus
        self._body: dict[str, Any] = {}
        self._created: int | None = None
        self._updated: int | None = None
        self._setting = SunSetting(timezone=system_timezone())

    async def load(self) -> None:
        stored = await self._row.get()
        if stored is not None:
            self._body, self._created, self._updated = stored.body, stored.creation_time, stored.last_update_time
        self._setting = self._make_setting()

    @property
    def is_set(self) -> bool:
        return self._created is not None

    @property
    def sun(self) -> SunSetting:
        """Timezone, coordinates and twilight setting of dawn and dusk (the host's timezone until set)."""
        return self._setting

    def _make_setting(self) -> SunSetting:
        b = self._body
        offsets = b.get("twilightOffsetEnabled", True)
        return SunSetting(
            timezone=b.get("timezone") or system_timezone(),
            latitude=b.get("latitude"),
            longitude=b.get("longitude"),
            angle=TwilightAngle(b.get("twilightAngle", DEFAULT_ANGLE.value)),
            mode=b.get("twilightMode", 1),
            dawn_offset_min=b.get("dawnOffset", 0) if offsets else 0,
            dusk_offset_min=b.get("duskOffset", 0) if offsets else 0,
            summer_dusk_min=b.get("summerSolsticeDuskMinutes", SUMMER_DUSK_MIN),
            winter_dusk_min=b.get("winterSolsticeDuskMinutes", WINTER_DUSK_MIN),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._created is not None:
            out["creationTime"], out["lastUpdateTime"] = self._created, self._updated
        out.update(
            {
                "timezone": self._setting.timezone,
                "twilightMode": 1,
                "twilightAngle": DEFAULT_ANGLE.value,
                "summerSolsticeDuskMinutes": SUMMER_DUSK_MIN,
                "winterSolsticeDuskMinutes": WINTER_DUSK_MIN,
                "twilightOffsetEnabled": True,
                "dawnOffset": 0,
                "duskOffset": 0,
            }
        )
        out.update(self._body)
        return out

    async def update(self, body: Any) -> None:
        merged = validate_location(body, self._body)
        now = now_ms()
        created = self._created if self._created is not None else now
        await self._row.save(merged, created, now)
        self._body, self._created, self._updated = merged, created, now
        self._setting = self._make_setting()
        b = merged
        mode = b.get("twilightMode")
        self._bus.publish(
            LocationUpdatedEvent(
                city=b.get("city"),
                country=b.get("country"),
                postal_code=b.get("postalCode"),
                timezone=self._setting.timezone,
                address_line1=b.get("addressLine1"),
                address_line2=b.get("addressLine2"),
                dawn_offset=b.get("dawnOffset"),
                dusk_offset=b.get("duskOffset"),
                longitude=b.get("longitude"),
                latitude=b.get("latitude"),
                twilight_mode=str(mode) if mode is not None else None,
                twilight_city=b.get("twilightCity"),
                twilight_angle=b.get("twilightAngle"),
            )
        )

    def dawn_json(self, day: date | None = None) -> dict[str, Any]:
        setting = self._setting
        return time_json(setting.dawn(day or self.today()), setting.tz)

    def dusk_json(self, day: date | None = None) -> dict[str, Any]:
        setting = self._setting
        return time_json(setting.dusk(day or self.today()), setting.tz)

    def today(self) -> date:
        """The local date at the gateway's clock."""
        return datetime.fromtimestamp(self._clock.now(), self._setting.tz).date()
