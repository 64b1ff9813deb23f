"""Dawn and dusk of the setup's location on a given day, computed on the box (no internet needed).

The twilight setting of the End-User API's location decides what "dawn" and "dusk" mean:

- ``twilightAngle``: how far below the horizon the sun's centre is at dawn and dusk.
  ``SOLAR`` is sunrise and sunset (upper limb on the horizon, refraction included: 0.833 deg);
  ``CIVIL`` 6 deg (the default, as on the vendor's boxes); ``NAUTICAL`` 12 deg; ``ASTRONOMICAL`` 18 deg.
- ``twilightMode``: 1 (the default) computes from latitude and longitude. 2 takes dusk from the solstice
  minutes the user gave (``winterSolsticeDuskMinutes`` on the December solstice, ``summerSolsticeDuskMinutes``
  on the June one, a cosine in between), and dawn as its mirror around the solar noon of the coordinates
  (12:00 local without coordinates). Any other value is kept and shown, and computed as 1.
- ``dawnOffset`` / ``duskOffset`` (minutes, negative is earlier) shift dawn and dusk, unless
  ``twilightOffsetEnabled`` is false.

A day on which the sun never reaches the angle (polar day or night) has no dawn or dusk: ``None`` here, and
``{}`` in the API ("If dawnTime cannot be defined, utc, hours and minutes are not set").
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import astral
import astral.sun


class TwilightAngle(StrEnum):
    SOLAR = "SOLAR"
    CIVIL = "CIVIL"
    NAUTICAL = "NAUTICAL"
    ASTRONOMICAL = "ASTRONOMICAL"

    @property
    def depression(self) -> float | None:
        """Degrees below the horizon; None for SOLAR (sunrise/sunset, with refraction)."""
        return _DEPRESSION[self]


_DEPRESSION: dict[TwilightAngle, float | None] = {
    TwilightAngle.SOLAR: None,
    TwilightAngle.CIVIL: 6.0,
    TwilightAngle.NAUTICAL: 12.0,
    TwilightAngle.ASTRONOMICAL: 18.0,
}
DEFAULT_ANGLE = TwilightAngle.CIVIL
SOLSTICE_MODE = 2


def system_timezone() -> str:
    """The host's zone name (``TZ``, ``/etc/timezone``, the ``/etc/localtime`` link), else ``UTC``."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="ascii").strip())
    except OSError:
        pass
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name and valid_timezone(name):
            return name
    return "UTC"


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class SunSetting:
    """What dawn and dusk are computed from. Without coordinates (and outside mode 2) they are undefined."""

    timezone: str = "UTC"
    latitude: float | None = None
    longitude: float | None = None
    angle: TwilightAngle = DEFAULT_ANGLE
    mode: int = 1
    dawn_offset_min: int = 0
    dusk_offset_min: int = 0
    summer_dusk_min: int | None = None
    winter_dusk_min: int | None = None

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def _observer(self) -> astral.Observer | None:
        if self.latitude is None or self.longitude is None:
            return None
        return astral.Observer(latitude=self.latitude, longitude=self.longitude)

    def _sun(self, day: date, morning: bool, depression: float | None) -> datetime | None:
        observer = self._observer()
        if observer is None:
            return None
        tz = self.tz
        try:
            if depression is None:
                return (astral.sun.sunrise if morning else astral.sun.sunset)(observer, day, tzinfo=tz)
            return (astral.sun.dawn if morning else astral.sun.dusk)(observer, day, depression, tzinfo=tz)
        except (ValueError, ArithmeticError):  # the sun does not reach that angle this day: polar day or night
            return None

    def _noon(self, day: date) -> datetime:
        observer = self._observer()
        if observer is None:
            return datetime.combine(day, time(12), self.tz)
        return astral.sun.noon(observer, day, tzinfo=self.tz)

    def _solstice_dusk(self, day: date) -> datetime | None:
        if self.summer_dusk_min is None or self.winter_dusk_min is None:
            return None
        # 0 at the December solstice (about day 355), 1 at the June one; the south swaps the seasons.
        phase = (1 - math.cos(2 * math.pi * ((day.timetuple().tm_yday + 10) % 366) / 365.25)) / 2
        if self.latitude is not None and self.latitude < 0:
            phase = 1 - phase
        minutes = self.winter_dusk_min + (self.summer_dusk_min - self.winter_dusk_min) * phase
        return datetime.combine(day, time(0), self.tz) + timedelta(minutes=round(minutes))

    def dawn(self, day: date, depression: float | None = None, *, offset: bool = True) -> datetime | None:
        """Dawn of ``day`` (local date), timezone-aware; ``depression`` (degrees) overrides the angle."""
        if self.mode == SOLSTICE_MODE and depression is None:
            dusk = self._solstice_dusk(day)
            if dusk is not None:
                noon = self._noon(day)
                found: datetime | None = noon - (dusk - noon)
            else:
                found = self._sun(day, True, self.angle.depression)
        else:
            found = self._sun(day, True, self.angle.depression if depression is None else depression)
        if found is not None and offset:
            found += timedelta(minutes=self.dawn_offset_min)
        return found

    def dusk(self, day: date, depression: float | None = None, *, offset: bool = True) -> datetime | None:
        """Dusk of ``day`` (local date), timezone-aware; ``depression`` (degrees) overrides the angle."""
        found = None
        if self.mode == SOLSTICE_MODE and depression is None:
            found = self._solstice_dusk(day)
        if found is None:
            found = self._sun(day, False, self.angle.depression if depression is None else depression)
        if found is not None and offset:
            found += timedelta(minutes=self.dusk_offset_min)
        return found


def time_json(moment: datetime | None, tz: tzinfo) -> dict[str, Any]:
    """``{"hours", "minutes", "utc"}`` (local hours and minutes, utc in epoch ms); ``{}`` when undefined."""
    if moment is None:
        return {}
    local = moment.astimezone(tz)
    return {"hours": local.hour, "minutes": local.minute, "utc": int(round(moment.timestamp() * 1000))}
