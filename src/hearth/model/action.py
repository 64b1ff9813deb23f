"""Commands, actions and action groups as clients send them (pydantic, strict about shape).

The fields are those of seed 003's action group (section "Action groups"): a key it does not define where it is
sent is refused (``StrictModel``), e.g. ``delay`` on an action rather than on its commands.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator

from hearth.model.errors import ApiError, ErrorCode
from hearth.model.strict import Label, Name, StrictModel, finite_json

MAX_ACTIONS = 500
MAX_COMMANDS_PER_ACTION = 100
MAX_DELAY_S = 7 * 86_400
# The seed types these as int and gives no range; the vendor's server is Java, whose int is 32 bits.
MAX_INT32 = 2**31 - 1
# notificationTypeMask: a bitmask over the seed's four channels DASHBOARD, EMAIL, SMS, PUSH.
MAX_NOTIFICATION_MASK = 0b1111
AUTHENTICATION_MASK = "********"


class Command(StrictModel):
    name: Name = Field(min_length=1, max_length=128)
    # pyoverkiz sends ``null`` for a command without parameters. Their types are checked against the
    # device's controllable when the execution is planned; here only that every number is finite.
    parameters: list[Any] = Field(default_factory=list)
    type: int | None = Field(None, ge=0, le=MAX_INT32)
    sensitive_parameters_indexes: list[int] = Field(
        default_factory=list, alias="sensitiveParametersIndexes", max_length=MAX_COMMANDS_PER_ACTION
    )
    authentication: str | None = None
    # Seconds after the execution starts before this command may be sent.
    delay: int = Field(0, ge=0, le=MAX_DELAY_S)
    lock_level: int | None = Field(None, alias="lockLevel", ge=0, le=100)

    @field_validator("parameters", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("parameters")
    @classmethod
    def _finite(cls, value: list[Any]) -> list[Any]:
        checked: list[Any] = finite_json(value)  # a list is given back as a list
        return checked

    @field_validator("sensitive_parameters_indexes")
    @classmethod
    def _indexes_in_range(cls, value: list[int]) -> list[int]:
        for index in value:
            if not 0 <= index < MAX_COMMANDS_PER_ACTION:
                raise ValueError(f"{index} is not a parameter index (0 to {MAX_COMMANDS_PER_ACTION - 1})")
        return value

    def wire(self, mask: set[int] | None = None) -> dict[str, Any]:
        params = list(self.parameters)
        for i in mask or ():
            if i < len(params):
                params[i] = "********"
        out: dict[str, Any] = {"name": self.name, "parameters": params}
        if self.type is not None:
            out["type"] = self.type
        if self.sensitive_parameters_indexes:
            out["sensitiveParametersIndexes"] = self.sensitive_parameters_indexes
        if self.delay:
            out["delay"] = self.delay
        if self.lock_level is not None:
            out["lockLevel"] = self.lock_level
        if self.authentication is not None:
            # Documented in the seed's answers; it is a credential, so its value never leaves the gateway.
            out["authentication"] = AUTHENTICATION_MASK
        return out


class Action(StrictModel):
    device_url: Name = Field(alias="deviceURL", min_length=1, max_length=512)
    commands: list[Command] = Field(min_length=1, max_length=MAX_COMMANDS_PER_ACTION)


class ActionGroup(StrictModel):
    oid: Name | None = Field(None, max_length=64)
    # Sent back by clients that PUT what they GET (the seed's action group has them); the store keeps its own.
    creation_time: int | None = Field(None, alias="creationTime", ge=0, le=2**53 - 1, exclude=True)
    last_update_time: int | None = Field(None, alias="lastUpdateTime", ge=0, le=2**53 - 1, exclude=True)
    label: Label = Field("", max_length=256)
    metadata: str | None = Field(None, max_length=4096)
    shortcut: bool = False
    notification_type_mask: int = Field(0, alias="notificationTypeMask", ge=0, le=MAX_NOTIFICATION_MASK)
    notification_condition: Name | None = Field(None, alias="notificationCondition", max_length=64)
    notification_text: str | None = Field(None, alias="notificationText")
    notification_title: Label | None = Field(None, alias="notificationTitle")
    target_email_addresses: list[str] = Field(default_factory=list, alias="targetEmailAddresses")
    target_phone_numbers: list[str] = Field(default_factory=list, alias="targetPhoneNumbers")
    target_push_subscriptions: list[str] = Field(default_factory=list, alias="targetPushSubscriptions")
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)

    @field_validator("label", mode="before")
    @classmethod
    def _null_label(cls, value: Any) -> Any:
        return "" if value is None else value

    def wire(self, masks: dict[tuple[int, int], set[int]] | None = None) -> dict[str, Any]:
        """The action group as the End-User API shows it (actions hold only deviceURL and commands)."""
        masks = masks or {}
        out: dict[str, Any] = {
            "label": self.label,
            "shortcut": self.shortcut,
            "notificationTypeMask": self.notification_type_mask,
            "actions": [
                {"deviceURL": a.device_url, "commands": [c.wire(masks.get((i, j))) for j, c in enumerate(a.commands)]}
                for i, a in enumerate(self.actions)
            ],
        }
        for key, value in (
            ("metadata", self.metadata),
            ("notificationCondition", self.notification_condition),
            ("notificationText", self.notification_text),
            ("notificationTitle", self.notification_title),
        ):
            if value is not None:
                out[key] = value
        for key, values in (
            ("targetEmailAddresses", self.target_email_addresses),
            ("targetPhoneNumbers", self.target_phone_numbers),
            ("targetPushSubscriptions", self.target_push_subscriptions),
        ):
            if values:
                out[key] = values
        return out


def parse_action_group(body: Any) -> ActionGroup:
    """Validate a client's action group; the error names the field and the reason."""
    if not isinstance(body, dict):
        raise ApiError.bad_request("Invalid action group: expected a JSON object", ErrorCode.INVALID_FIELD_VALUE)
    try:
        return ActionGroup.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ApiError.bad_request(
                f"Invalid action group: unknown field {where}: not defined here", ErrorCode.INVALID_FIELD_VALUE
            ) from None
        raise ApiError.bad_request(
            f"Invalid action group: {where}: {err['msg']}", ErrorCode.INVALID_FIELD_VALUE
        ) from None
