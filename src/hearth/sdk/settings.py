"""A driver's ``[drivers.<name>]`` table read into its pydantic model, with errors that name the key at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def parse_driver_settings(model: type[M], config: Mapping[str, object]) -> M:
    """``model`` from the table (``enabled`` left out); ValueError "key: reason" for the first fault."""
    try:
        return model.model_validate({k: v for k, v in config.items() if k != "enabled"})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        reason = "unknown setting" if err["type"] == "extra_forbidden" else str(err["msg"])
        reason = reason.removeprefix("Value error, ")
        # A rule on several keys has no location of its own: its message starts with the key it names.
        raise ValueError(f"{where}: {reason}" if where else reason) from None
