"""The catalogue of controllables, loaded from the JSON files of ``config/controllables/``.

Their README gives the format. Every command sent to a device is checked against its controllable first:
it exists, its arity fits, each parameter has the right type and lies within its range.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hearth.model.datatype import DataType
from hearth.model.definition import PARAM_TYPES, CommandSpec, Controllable, ParamSpec, StateSpec


class CatalogueError(ValueError):
    """A catalogue file is malformed; the message names the file, the controllable and the field."""


class Catalogue:
    """Every controllable by name."""

    def __init__(self, controllables: dict[str, Controllable]) -> None:
        self._by_name = controllables

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> Controllable | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Controllable:
        return self._by_name[name]

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def all(self) -> list[Controllable]:
        return list(self._by_name.values())

    @classmethod
    def load(cls, folder: Path) -> Catalogue:
        if not folder.is_dir():
            raise CatalogueError(f"catalogue folder {folder} does not exist")
        found: dict[str, Controllable] = {}
        files = sorted(folder.glob("*.json"))
        if not files:
            raise CatalogueError(f"catalogue folder {folder} has no *.json file")
        for path in files:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CatalogueError(f"{path.name}: not valid JSON: {exc}") from None
            entries = doc.get("controllables") if isinstance(doc, dict) else None
            if not isinstance(entries, list):
                raise CatalogueError(f'{path.name}: expected {{"controllables": [...]}}')
            for i, entry in enumerate(entries):
                controllable = _parse_controllable(entry, f"{path.name}[{i}]")
                if controllable.name in found:
                    raise CatalogueError(f"{path.name}: controllableName {controllable.name!r} defined twice")
                found[controllable.name] = controllable
        return cls(found)


def _require(entry: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in entry:
        raise CatalogueError(f"{where}: missing field {key!r}")
    value = entry[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise CatalogueError(f"{where}: field {key!r} has the wrong type")
    return value


def _parse_param(entry: Any, where: str) -> ParamSpec:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: a parameter must be an object")
    name = _require(entry, "name", str, where)
    ptype = _require(entry, "type", str, where)
    if ptype not in PARAM_TYPES:
        raise CatalogueError(f"{where}: parameter {name!r} has unknown type {ptype!r}")
    values = tuple(entry.get("values", ()))
    if ptype == "enum" and not values:
        raise CatalogueError(f"{where}: enum parameter {name!r} needs 'values'")
    return ParamSpec(
        name=name,
        type=ptype,
        min=entry.get("min"),
        max=entry.get("max"),
        values=values,
        max_length=entry.get("maxLength"),
        optional=bool(entry.get("optional", False)),
        sensitive=bool(entry.get("sensitive", False)),
    )


def _parse_controllable(entry: Any, where: str) -> Controllable:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: a controllable must be an object")
    name = _require(entry, "controllableName", str, where)
    if ":" not in name:
        raise CatalogueError(f"{where}: controllableName {name!r} must be '<protocol>:<Name>'")
    where = f"{where} ({name})"
    commands: dict[str, CommandSpec] = {}
    for j, cmd in enumerate(entry.get("commands", [])):
        cwhere = f"{where} commands[{j}]"
        cname = _require(cmd, "commandName", str, cwhere)
        params = tuple(_parse_param(p, cwhere) for p in cmd.get("parameters", []))
        seen_optional = False
        for p in params:
            if seen_optional and not p.optional:
                raise CatalogueError(f"{cwhere}: optional parameters must come last")
            seen_optional = seen_optional or p.optional
        commands[cname] = CommandSpec(cname, params)
    states: dict[str, StateSpec] = {}
    for j, st in enumerate(entry.get("states", [])):
        swhere = f"{where} states[{j}]"
        sname = _require(st, "name", str, swhere)
        try:
            dtype = DataType(_require(st, "type", int, swhere))
        except ValueError:
            raise CatalogueError(f"{swhere}: state {sname!r} has an unknown DataType code") from None
        states[sname] = StateSpec(
            sname, dtype, tuple(st.get("values", ())), st.get("min"), st.get("max"), bool(st.get("persistent", False))
        )
    return Controllable(
        name=name,
        type=_require(entry, "type", str, where),
        product_type=_require(entry, "productType", int, where),
        ui_class=_require(entry, "uiClass", str, where),
        widget=_require(entry, "widget", str, where),
        behaviour=entry.get("behaviour", "generic"),
        commands=commands,
        states=states,
        attributes=tuple(entry.get("attributes", ())),
        ui_classifiers=tuple(entry.get("uiClassifiers", ())),
    )
