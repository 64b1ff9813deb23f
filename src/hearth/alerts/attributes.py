"""The attribute namespace of alert rules on a gateway: how a rule names a device state.

The naming rule. A device is a *target* (seed 001's "system"); its states are its *data*:

- ``attributeId.targetId`` is the device: its deviceURL (``zigbee://0201-4432-1174/00:0d:6f:00:0b:12:34:56#1``)
  or its oid. ``null`` means "every device" (each device gets its own AlertState).
- ``attributeId.name`` is ``DATA.<stateName>`` for the current value of the state ``<stateName>`` of that
  device, e.g. ``DATA.core:TemperatureState``; ``AGG.<stateName>/<H|D|M>`` for its aggregate over the current
  hour, day or month (UTC), with ``function`` MIN, MAX, MEAN, SUM or CNT.

The deviceURL never goes into the name, so any deviceURL (``/``, ``#``, ``:`` and ``.`` included) round-trips
unchanged in ``targetId``; and a state name is taken whole after ``DATA.`` (up to the last ``/`` for ``AGG.``),
so ``DATA.core:TemperatureState`` is unambiguous although state names hold ``:``.

``DATA._LON_LAT``, the position used by the geo operators, follows the same rule: it is the device's state
named ``_LON_LAT``. A tracker's driver (or ``PUT /setup/devices/{url}/states/_LON_LAT/3/{value}`` on a
virtual device) reports it as ``"POINT(lon lat)"``, ``"lon lat"``, ``"lon,lat"``, ``[lon, lat]`` or
``{"lon": .., "lat": ..}``. A device without that state has no position (geo conditions are false).

System attributes evaluated on the gateway, for the target device:
``system.id`` (its deviceURL), ``system.name`` (its label), ``system.labels`` (the labels of its place and
the places above it, the home excluded), ``system.state`` (``DEPLOYED`` when enabled, ``SUSPENDED`` when
disabled), ``system.commStatus`` (``OK`` when available, ``ERROR`` when not), ``system.commStatus.changeDate``
(ms of the last availability change seen since start), ``system.lastCommDate`` (ms of its latest state
report), ``system.comm.protocol`` (the deviceURL's protocol), ``gateway.id`` and ``gateway.serial.number``
(this gateway's id).

Cloud-only attributes (accepted, stored, never evaluated here: a rule naming one is marked ``cloudOnly``
and skipped, waiting for the cloud to evaluate it): carrier usage (``system.usage.*``, ``AGG.DATA_SESSION``
and the other usage aggregates, ``AGG.SMS_*``, ``AGG.VOICE_*``, ``AGG.MSU``) and platform bookkeeping a
gateway does not have (``system.activityState``, ``system.lifeCycleState``, ``system.heartbeat.*``,
``system.offerId``, ``system.defaultStatusReport*``, ``gateway.imei``, ``gateway.mac.address``,
``subscription.id``). Any other name is refused with ``alert.rule.invalid.operand.type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hearth.alerts import errors
from hearth.model.errors import ApiError

POSITION = "_LON_LAT"
POSITION_ATTRIBUTE = "DATA._LON_LAT"
TIME_SCALES = ("H", "D", "M")


class Kind(StrEnum):
    DATA = "DATA"
    AGG = "AGG"
    SYSTEM = "SYSTEM"
    CLOUD_ONLY = "CLOUD_ONLY"


LOCAL_SYSTEM = frozenset(
    {
        "system.id",
        "system.name",
        "system.labels",
        "system.state",
        "system.commStatus",
        "system.commStatus.changeDate",
        "system.lastCommDate",
        "system.comm.protocol",
        "gateway.id",
        "gateway.serial.number",
    }
)
CLOUD_SYSTEM = frozenset(
    {
        "system.activityState",
        "system.lifeCycleState",
        "system.heartbeat.state",
        "system.heartbeat.period",
        "system.heartbeat.errorSLA",
        "system.heartbeat.warningSLA",
        "system.offerId",
        "system.defaultStatusReportState",
        "system.defaultStatusReportPeriod",
        "gateway.imei",
        "gateway.mac.address",
        "subscription.id",
        "system.usage.status",
        "system.usage.record.voice.in.phone.number",
        "system.usage.record.voice.out.phone.number",
        "system.usage.record.sms.sent.phone.number",
        "system.usage.record.sms.received.phone.number",
        "system.usage.record.visited.country",
        "system.usage.record.imei",
    }
)
# Usage aggregates come from the carrier, never from a device.
CLOUD_AGGREGATES = frozenset(
    {
        "DATA_SESSION",
        "DATA_DURATION",
        "DATA_BYTES_SENT",
        "DATA_BYTES_RECEIVED",
        "DATA_BYTES_TOTAL",
        "DATA_ROUNDED_BYTES_TOTAL",
        "SMS_SENT",
        "SMS_RECEIVED",
        "MSU",
    }
)
VOICE_PREFIX = "VOICE_"


@dataclass(frozen=True, slots=True)
class AttributeName:
    """A parsed ``attributeId.name``: its kind, its key (state name or system name) and time scale."""

    text: str
    kind: Kind
    key: str
    scale: str | None = None

    @property
    def is_position(self) -> bool:
        return self.kind is Kind.DATA and self.key == POSITION


def parse_attribute(name: object, where: str) -> AttributeName:
    """Parse ``name``; ``where`` (e.g. ``conditions[0].operands[0]``) names the field in the error."""
    if not isinstance(name, str) or not name:
        raise errors.refuse(errors.INVALID_OPERAND_TYPE, f"{where}.attributeId.name: must be a non-empty string")
    if name.startswith("DATA."):
        key = name[5:]
        if not key:
            raise _bad_name(name, where)
        return AttributeName(name, Kind.DATA, key)
    if name.startswith("AGG."):
        key, slash, scale = name[4:].rpartition("/")
        if not slash or not key:
            raise _bad_name(name, where)
        if key.startswith(VOICE_PREFIX) and scale != "M":
            raise errors.refuse(
                errors.BAD_VOICE_AGG_USAGE,
                f"{where}.attributeId.name {name!r}: AGG.VOICE_* attributes exist only monthly (/M)",
            )
        if scale not in TIME_SCALES:
            raise errors.refuse(
                errors.INVALID_OPERAND_TYPE, f"{where}.attributeId.name {name!r}: time scale must be H, D or M"
            )
        cloud = key in CLOUD_AGGREGATES or key.startswith(VOICE_PREFIX)
        return AttributeName(name, Kind.CLOUD_ONLY if cloud else Kind.AGG, key, scale)
    if name in LOCAL_SYSTEM:
        return AttributeName(name, Kind.SYSTEM, name)
    if name in CLOUD_SYSTEM:
        return AttributeName(name, Kind.CLOUD_ONLY, name)
    raise _bad_name(name, where)


def _bad_name(name: str, where: str) -> ApiError:
    return errors.refuse(
        errors.INVALID_OPERAND_TYPE,
        f"{where}.attributeId.name {name!r} is not an attribute: DATA.<stateName>, AGG.<stateName>/<H|D|M>, "
        "DATA._LON_LAT or a system.* / gateway.* name",
    )
