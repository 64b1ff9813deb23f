"""Commands, actions and action groups as clients send them (pydantic, strict about shape)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hearth.model.errors import ApiError, ErrorCode

MAX_ACTIONS = 500
MAX_COMMANDS_PER_ACTION = 100
MAX_DELAY_S = 7 * 86_400
AUTHENTICATION_MASK = "********"


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_max_length=4096)


class Command(_Wire):
    name: str = Field(min_length=1, max_length=128)
    # pyoverkiz sends ``null`` for a command without parameters.
    parameters: list[Any] = Field(default_factory=list)
    type: int | None = None
    sensitive_parameters_indexes: list[int] = Field(default_factory=list, alias="sensitiveParametersIndexes")
    authentication: str | None = None
    # Seconds after the execution starts before this command may be sent.
    delay: int = Field(0, ge=0, le=MAX_DELAY_S)
    lock_level: int | None = Field(None, alias="lockLevel", ge=0, le=100)

    @field_validator("parameters", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

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


class Action(_Wire):
    device_url: str = Field(alias="deviceURL", min_length=1, max_length=512)
    commands: list[Command] = Field(min_length=1, max_length=MAX_COMMANDS_PER_ACTION)


class ActionGroup(_Wire):
    oid: str | None = Field(None, max_length=64)
    label: str = Field("", max_length=256)
    metadata: str | None = Field(None, max_length=4096)
    shortcut: bool = False
    notification_type_mask: int = Field(0, alias="notificationTypeMask", ge=0)
    notification_condition: str | None = Field(None, alias="notificationCondition")
    notification_text: str | None = Field(None, alias="notificationText")
    notification_title: str | None = Field(None, alias="notificationTitle")
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
                {"deviceURL": a.device_url,
                 "commands": [c.wire(masks.get((i, j))) for j, c in enumerate(a.commands)]}
                for i, a in enumerate(self.actions)
            ],
        }
        for key, value in (("metadata", self.metadata), ("notificationCondition", self.notification_condition),
                           ("notificationText", self.notification_text),
                           ("notificationTitle", self.notification_title)):
            if value is not None:
                out[key] = value
        for key, values in (("targetEmailAddresses", self.target_email_addresses),
                            ("targetPhoneNumbers", self.target_phone_numbers),
                            ("targetPushSubscriptions", self.target_push_subscriptions)):
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
        raise ApiError.bad_request(f"Invalid action group: {where}: {err['msg']}",
                                   ErrorCode.INVALID_FIELD_VALUE) from None
