"""The pieces every setup trigger type is read with: a Reader that names the field of each refusal, the
``{"<kind>": {...}}`` wrappers, effects, condition values and state restrictions; and ``ExtraSpec``, the
base of the trigger types kept in their own modules (``regulation``, ``point_to_point``,
``delayed_commands``, ``event_trigger``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ValidationError

from hearth.core.triggers.blocks import StateRef
from hearth.model.action import ActionGroup
from hearth.model.errors import ApiError, ErrorCode

if TYPE_CHECKING:
    from hearth.core.triggers.rule_base import Rule

MAX_DELAY_S = 7 * 86_400
MAX_EFFECTS = 50


class Reader:
    """A JSON object and where it is in the body, for errors that name the field."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, reason: str) -> ApiError:
        return invalid(self.where(key), reason)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(
        self, key: str, default: str | None = None, *, required: bool = False, max_length: int = 256
    ) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.error(key, "must be a text")
        if required and not value:
            raise self.error(key, "must not be empty")
        if len(value) > max_length:
            raise self.error(key, f"longer than {max_length} characters")
        return value

    def required_text(self, key: str, max_length: int = 512) -> str:
        value = self.text(key, required=True, max_length=max_length)
        assert value is not None
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "must be an integer")
        if not low <= value <= high:
            raise self.error(key, f"must be between {low} and {high}")
        return value

    def required_integer(self, key: str, low: int, high: int) -> int:
        if self.data.get(key) is None:
            raise self.error(key, "is required")
        return self.integer(key, low, low, high)

    def number(self, key: str) -> float:
        value = self.data.get(key)
        if value is None:
            raise self.error(key, "is required")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self.error(key, "must be a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise self.error(key, "must be a number")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def delay(self, key: str) -> int:
        return self.integer(key, 0, 0, MAX_DELAY_S)

    def items(self, key: str, *, required: bool = False, max_items: int = 1000) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return []
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        if len(value) > max_items:
            raise self.error(key, f"more than {max_items} items")
        return value

    def obj(self, key: str) -> Reader | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, "must be an object")
        return Reader(value, self.where(key))


def invalid(where: str, reason: str) -> ApiError:
    return ApiError.bad_request(f"Invalid setup trigger: {where}: {reason}", ErrorCode.INVALID_FIELD_VALUE)


def one_of(value: Any, where: str, allowed: tuple[str, ...]) -> tuple[str, Reader]:
    """A ``{"<kind>": {...}}`` wrapper: its kind and its content."""
    if not isinstance(value, dict) or len(value) != 1:
        raise invalid(where, f"must be an object with one key, one of {', '.join(allowed)}")
    kind, inner = next(iter(value.items()))
    if kind not in allowed:
        raise invalid(where, f"unknown kind {kind!r} (one of {', '.join(allowed)})")
    if not isinstance(inner, dict):
        raise invalid(f"{where}.{kind}", "must be an object")
    return kind, Reader(inner, f"{where}.{kind}")


EFFECT_KINDS = ("actionGroupEffect", "actionGroupWithAlertEffect", "defaultTriggerAlertEffect", "alertEffect")


@dataclass(frozen=True, slots=True)
class Effect:
    """Runs an action group (persisted, by OID, or carried inline). Alerts cannot be sent from the box:
    an alert-only effect is kept and shown, and logged when it would run."""

    effect_id: str
    kind: str
    action_group_oid: str | None = None
    local_group: ActionGroup | None = None

    @property
    def runs_group(self) -> bool:
        return self.action_group_oid is not None or self.local_group is not None


def parse_effects(reader: Reader, key: str) -> list[Effect]:
    effects = []
    raw = reader.items(key, max_items=MAX_EFFECTS)
    for i, item in enumerate(raw):
        where = f"{reader.where(key)}[{i}]"
        kind, inner = one_of(item, where, EFFECT_KINDS)
        oid = inner.text("actionGroupOID", max_length=64) or None
        group = None
        local = inner.data.get("localActionGroup")
        if local is not None:
            if not isinstance(local, dict):
                raise inner.error("localActionGroup", "must be an object")
            local.setdefault("oid", str(uuid.uuid4()))  # a managed action group has its oid, as the API shows
            try:
                group = ActionGroup.model_validate(local)
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise inner.error(f"localActionGroup.{loc}" if loc else "localActionGroup", err["msg"]) from None
        if kind in ("actionGroupEffect", "actionGroupWithAlertEffect") and oid is None and group is None:
            raise invalid(where + f".{kind}", "needs actionGroupOID or localActionGroup")
        effect_id = inner.text("id", max_length=64) or str(uuid.uuid4())
        inner.data["id"] = effect_id  # shown on GET
        effects.append(Effect(effect_id, kind, oid, group))
    return effects


EFFECT_LISTS = ("effects", "upperEffects", "middleEffects", "lowerEffects")


def shown_effects(effects: list[Any], created: int, updated: int) -> list[Any]:
    """Effects as the API shows them: a managed (inline) action group carries the trigger's times."""
    shown = []
    for effect in effects:
        if isinstance(effect, dict) and len(effect) == 1:
            ((kind, inner),) = effect.items()
            local = inner.get("localActionGroup") if isinstance(inner, dict) else None
            if isinstance(local, dict):
                group = {
                    "creationTime": created,
                    "lastUpdateTime": updated,
                    **{k: v for k, v in local.items() if k not in ("creationTime", "lastUpdateTime")},
                }
                effect = {kind: {**inner, "localActionGroup": group}}
        shown.append(effect)
    return shown


def shown_body(body: dict[str, Any], created: int, updated: int) -> dict[str, Any]:
    """A trigger's stored body with its effects as the API shows them."""
    out = dict(body)
    for key in EFFECT_LISTS:
        if isinstance(out.get(key), list):
            out[key] = shown_effects(out[key], created, updated)
    if isinstance(out.get("effectsList"), list):
        out["effectsList"] = [
            {**entry, "effects": shown_effects(entry.get("effects") or [], created, updated)}
            if isinstance(entry, dict)
            else entry
            for entry in out["effectsList"]
        ]
    return out


def condition_value(r: Reader, key: str, required: bool) -> Any:
    value = r.data.get(key)
    if value is None:
        if required:
            raise r.error(key, "is required")
        return None
    if isinstance(value, dict | list):
        raise r.error(key, "must be a text, a number or a boolean")
    if isinstance(value, str) and len(value) > 1024:
        raise r.error(key, "longer than 1024 characters")
    return value


def state_ref(r: Reader) -> StateRef:
    return StateRef(r.required_text("deviceURL"), r.required_text("stateName"), r.text("objectPath") or None)


class StateRestriction(NamedTuple):
    """One of ``stateRestrictions``: the state must equal the value for a scheduled command to go."""

    state_name: str
    value: Any


class CommandTarget(NamedTuple):
    """A command a trigger will send, on its device."""

    device_url: str
    command: str


def parse_restrictions(r: Reader) -> list[StateRestriction]:
    """``stateRestrictions``: ``[{stateName, stateValue}]``, each must hold (equal) for a scheduled command."""
    restrictions: list[StateRestriction] = []
    for i, item in enumerate(r.items("stateRestrictions", max_items=20)):
        where = f"{r.where('stateRestrictions')}[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, "must be an object")
        s = Reader(item, where)
        restrictions.append(StateRestriction(s.required_text("stateName"), condition_value(s, "stateValue", True)))
    return restrictions


class ExtraSpec:
    """A trigger type kept in its own module says what it runs, what it watches and what it commands."""

    @property
    def effects(self) -> list[Effect]:
        return []

    @property
    def source_refs(self) -> list[StateRef]:
        return []

    @property
    def device_urls(self) -> list[str]:
        """Devices it names besides its source states (shown in sourceDeviceURLs)."""
        return []

    @property
    def command_targets(self) -> list[CommandTarget]:
        """The commands it will send: checked to exist when the trigger is kept."""
        return []

    def make_rule(self, allow_from_unknown: bool, label: str) -> Rule:
        raise NotImplementedError
