"""Definitions of controllables: the commands a kind of device accepts and the states it reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hearth.model.datatype import DataType, InvalidValue, coerce_value

PARAM_TYPES = {"int", "float", "string", "bool", "enum", "json"}
PARAM_DATATYPE = {
    "int": DataType.INTEGER,
    "float": DataType.FLOAT,
    "string": DataType.STRING,
    "bool": DataType.BOOLEAN,
    "enum": DataType.STRING,
    "json": DataType.JSON_OBJECT,
}


class CommandRejected(ValueError):
    """A command does not fit its controllable; the message names the command and the reason."""


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    type: str
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    max_length: int | None = None
    optional: bool = False
    sensitive: bool = False

    def _where(self, command: str, index: int) -> str:
        return f"command {command!r} parameter {index + 1} ({self.name})"

    def check(self, command: str, index: int, value: Any) -> Any:
        # The error messages' "where" is made only for an error: this runs for every parameter of every command.
        if self.type == "json":
            return self._check_json(self._where(command, index), value)
        try:
            native = coerce_value(PARAM_DATATYPE[self.type], value)
        except InvalidValue as exc:
            raise CommandRejected(f"{self._where(command, index)}: {exc}") from None
        if self.min is not None and native < self.min:
            raise CommandRejected(f"{self._where(command, index)}: {native!r} is below the minimum {self.min:g}")
        if self.max is not None and native > self.max:
            raise CommandRejected(f"{self._where(command, index)}: {native!r} is above the maximum {self.max:g}")
        if self.values and native not in self.values:
            raise CommandRejected(f"{self._where(command, index)}: {native!r} is not one of {', '.join(self.values)}")
        if self.max_length is not None and len(native) > self.max_length:
            raise CommandRejected(f"{self._where(command, index)}: longer than {self.max_length} characters")
        return native

    def _check_json(self, where: str, value: Any) -> Any:
        """Any JSON value, unless bounds or words are given: then a number within the bounds or one of the words
        (``setDerogation`` takes a temperature or a mode)."""
        if not self.values and self.min is None and self.max is None:
            return value
        if isinstance(value, str) and value in self.values:
            return value
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (self.min is None or value >= self.min)
            and (self.max is None or value <= self.max)
        ):
            return value
        low = "" if self.min is None else f"{self.min:g}"
        high = "" if self.max is None else f"{self.max:g}"
        words = f" or one of {', '.join(self.values)}" if self.values else ""
        raise CommandRejected(f"{where}: {value!r} is not a number in {low}..{high}{words}")

    def to_json(self) -> dict[str, Any]:
        prototype: dict[str, Any] = {"type": PARAM_DATATYPE[self.type].name}
        if self.min is not None:
            prototype["minValue"] = self.min
        if self.max is not None:
            prototype["maxValue"] = self.max
        if self.values:
            prototype["enumValues"] = list(self.values)
        return {
            "name": self.name,
            "optional": self.optional,
            "sensitive": self.sensitive,
            "valuePrototypes": [prototype],
        }


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    parameters: tuple[ParamSpec, ...] = ()
    # Derived from the parameters once (every command of every execution reads them), not at each read.
    nparams: int = field(init=False, repr=False, compare=False)
    min_params: int = field(init=False, repr=False, compare=False)
    sensitive_indexes: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nparams", len(self.parameters))
        object.__setattr__(self, "min_params", sum(1 for p in self.parameters if not p.optional))
        object.__setattr__(self, "sensitive_indexes", tuple(i for i, p in enumerate(self.parameters) if p.sensitive))

    def check(self, parameters: list[Any]) -> list[Any]:
        """Return the parameters as native values, or raise CommandRejected."""
        if not isinstance(parameters, list):
            raise CommandRejected(f"command {self.name!r}: parameters must be a list")
        if not self.min_params <= len(parameters) <= self.nparams:
            expected = str(self.nparams) if self.min_params == self.nparams else f"{self.min_params} to {self.nparams}"
            raise CommandRejected(f"command {self.name!r} takes {expected} parameter(s), {len(parameters)} given")
        # Fewer parameters than specs is fine: the trailing optional ones were left out.
        pairs = zip(self.parameters, parameters, strict=False)
        return [spec.check(self.name, i, v) for i, (spec, v) in enumerate(pairs)]


@dataclass(frozen=True, slots=True)
class StateSpec:
    name: str
    type: DataType
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    persistent: bool = False

    def check(self, value: Any) -> Any:
        """Return ``value`` as the native value of this state, or raise InvalidValue."""
        native = coerce_value(self.type, value)
        if self.values and native not in self.values:
            raise InvalidValue(f"{native!r} is not one of {', '.join(self.values)}")
        if self.min is not None and native < self.min:
            raise InvalidValue(f"{native!r} is below the minimum {self.min:g}")
        if self.max is not None and native > self.max:
            raise InvalidValue(f"{native!r} is above the maximum {self.max:g}")
        return native


@dataclass(frozen=True, slots=True)
class Controllable:
    name: str
    type: str
    product_type: int
    ui_class: str
    widget: str
    behaviour: str
    commands: dict[str, CommandSpec]
    states: dict[str, StateSpec]
    attributes: tuple[dict[str, Any], ...] = ()
    ui_classifiers: tuple[str, ...] = ()
    _definition: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def protocol(self) -> str:
        return self.name.partition(":")[0]

    def command(self, name: str) -> CommandSpec:
        spec = self.commands.get(name)
        if spec is None:
            raise CommandRejected(f"No such command : {name} on {self.name}")
        return spec

    def definition_json(self) -> dict[str, Any]:
        """``definition`` of the End-User API's device object (built once, shared read-only)."""
        if not self._definition:
            self._definition.update(
                {
                    "commands": [{"commandName": c.name, "nparams": c.nparams} for c in self.commands.values()],
                    "states": [
                        {
                            "type": s.type.name if s.values else "ContinuousState",
                            "qualifiedName": s.name,
                            **({"values": list(s.values)} if s.values else {}),
                        }
                        for s in self.states.values()
                    ],
                    "dataProperties": [],
                    "widgetName": self.widget,
                    "uiProfiles": [],
                    "uiClass": self.ui_class,
                    "uiClassifiers": list(self.ui_classifiers),
                    "qualifiedName": self.name,
                    "type": self.type,
                }
            )
            for entry in self._definition["states"]:
                if "values" in entry:
                    entry["type"] = "DiscreteState"
        return self._definition
