"""Compliance profiles as data: controls with ids, impact, tags, references and a check.

A profile is a YAML (or JSON) file. A user's profile may ``extends: mlsvs`` (or a path relative
to it) to override fields of inherited controls by id, add controls and ``skip_controls``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import is_number
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["BUILTIN_PROFILES", "Control", "Profile", "load_profile"]

#: Shipped as package data (pyproject: "*.yaml" beside each module).
_HERE = Path(__file__).resolve().parent
#: Profiles shipped in the package, by name.
BUILTIN_PROFILES = {"mlsvs": _HERE / "mlsvs.yaml"}
_CONTROL_KEYS = {
    "id",
    "title",
    "impact",
    "tags",
    "references",
    "description",
    "check",
    "gate_controls",
    "parameters",
}
_REQUIRED = _CONTROL_KEYS - {"gate_controls", "parameters"}
_PROFILE_KEYS = {"name", "title", "version", "extends", "controls", "skip_controls"}
_MAX_DEPTH = 5


@dataclass(frozen=True)
class Control:
    """One control: what is required, how much it matters (``impact`` 0-1) and its check."""

    id: str
    title: str
    impact: float
    tags: tuple[str, ...]
    references: tuple[str, ...]
    description: str
    check: str
    gate_controls: tuple[str, ...] = ()
    #: Values the check reads (a threshold, a service account name), as sorted ``(name, value)``
    #: pairs.
    parameters: tuple[tuple[str, float | str], ...] = ()

    def parameter(self, name: str) -> float:
        """Return the number ``name``; InvalidInputError naming the fix when absent or text."""
        value = self._value(name)
        if isinstance(value, str):
            raise InvalidInputError(
                f"control {self.id}: parameter {name!r} is {value!r}; it must be a number"
            )
        return value

    def text_parameter(self, name: str) -> str:
        """Return the text ``name``; InvalidInputError naming the fix when absent or a number."""
        value = self._value(name)
        if not isinstance(value, str):
            raise InvalidInputError(
                f"control {self.id}: parameter {name!r} is {value!r}; it must be a string"
            )
        return value

    def _value(self, name: str) -> float | str:
        for key, value in self.parameters:
            if key == name:
                return value
        raise InvalidInputError(
            f"control {self.id}: parameter {name!r} is not set; add 'parameters: {{{name}: ...}}' "
            "to the profile"
        )


@dataclass(frozen=True)
class Profile:
    """A named list of controls; ``source`` says which file(s) it came from."""

    name: str
    title: str
    version: str
    controls: tuple[Control, ...]
    source: str

    def control(self, control_id: str) -> Control | None:
        """Return the control called ``control_id`` (None if absent)."""
        return next((c for c in self.controls if c.id == control_id), None)


def load_profile(name_or_path: str | os.PathLike[str]) -> Profile:
    """Load a built-in profile by name or a profile file (InvalidInputError, one line).

    Args:
        name_or_path: ``mlsvs`` or the path of a YAML/JSON profile file.

    """
    return _load(str(name_or_path), depth=0)


def _load(ref: str, *, depth: int) -> Profile:
    path = BUILTIN_PROFILES.get(ref, Path(ref))
    where = f"profile '{ref}'"
    if depth > _MAX_DEPTH:
        raise InvalidInputError(f"{where}: 'extends' nests deeper than {_MAX_DEPTH}; flatten it")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInputError(
            f"{where}: cannot read it ({e.strerror}); use {', '.join(BUILTIN_PROFILES)} or a file"
        ) from e
    except yaml.YAMLError as e:
        raise InvalidInputError(f"{where}: not YAML ({' '.join(str(e).split())[:200]})") from e
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{where}: top level must be a mapping with 'controls'")
    unknown = set(doc) - _PROFILE_KEYS
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown key(s) {sorted(unknown)}; use {sorted(_PROFILE_KEYS)}"
        )
    base: Profile | None = None
    if doc.get("extends") is not None:
        parent = str(doc["extends"])
        if parent not in BUILTIN_PROFILES and not Path(parent).is_absolute():
            parent = str(path.parent / parent)
        base = _load(parent, depth=depth + 1)
    controls = {c.id: c for c in base.controls} if base else {}
    items = doc.get("controls") or []
    if not isinstance(items, list):
        raise InvalidInputError(f"{where}: 'controls' must be a list of mappings")
    for i, item in enumerate(items):
        control = _control(item, controls, f"{where}: controls[{i}]")
        controls[control.id] = control
    skips = doc.get("skip_controls") or []
    if not isinstance(skips, list) or any(s not in controls for s in skips):
        raise InvalidInputError(
            f"{where}: skip_controls {skips!r} must list ids of its controls; fix the ids"
        )
    kept = tuple(c for c in controls.values() if c.id not in skips)
    if not kept:
        raise InvalidInputError(f"{where}: no controls; an empty profile proves nothing")
    name = doc.get("name") or (base.name if base else None)
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"{where}: 'name' is missing; name the profile")
    return Profile(
        name=name,
        title=str(doc.get("title") or (base.title if base else name)),
        version=str(doc.get("version") or (base.version if base else "0")),
        controls=kept,
        source=f"{path}" + (f" (extends {base.source})" if base else ""),
    )


def _control(item: object, known: dict[str, Control], where: str) -> Control:
    from kfp_mlsecops.compliance.checks.registry import get_check

    if not isinstance(item, dict):
        raise InvalidInputError(f"{where}: must be a mapping with {sorted(_REQUIRED)}")
    unknown = set(item) - _CONTROL_KEYS
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown key(s) {sorted(unknown)}; use {sorted(_CONTROL_KEYS)}"
        )
    control_id = item.get("id")
    if not isinstance(control_id, str) or not control_id.strip():
        raise InvalidInputError(f"{where}: 'id' must be a non-empty string")
    where = f"{where} ({control_id})"
    inherited = known.get(control_id)
    missing = sorted(_REQUIRED - set(item)) if inherited is None else []
    if missing:
        raise InvalidInputError(f"{where}: missing {', '.join(missing)}; add them")
    fields: dict[str, Any] = {}
    for key in ("title", "description", "check"):
        if key in item:
            if not isinstance(item[key], str) or not item[key].strip():
                raise InvalidInputError(f"{where}: '{key}' must be a non-empty string")
            fields[key] = item[key].strip()
    if "impact" in item:
        impact = item["impact"]
        if isinstance(impact, bool) or not isinstance(impact, (int, float)) or not 0 <= impact <= 1:
            raise InvalidInputError(f"{where}: impact {impact!r} must be a number in 0.0-1.0")
        fields["impact"] = float(impact)
    for key in ("tags", "references", "gate_controls"):
        if key in item:
            values = item[key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise InvalidInputError(f"{where}: '{key}' must be a list of strings")
            fields[key] = tuple(values)
    if "parameters" in item:
        values = item["parameters"]
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and (is_number(v) or (isinstance(v, str) and v.strip()))
            for k, v in values.items()
        ):
            raise InvalidInputError(
                f"{where}: 'parameters' must map names to finite numbers or non-empty strings"
            )
        merged = dict(inherited.parameters if inherited is not None else ())
        merged.update({k: v.strip() if isinstance(v, str) else float(v) for k, v in values.items()})
        fields["parameters"] = tuple(sorted(merged.items()))
    unknown_gate = sorted(set(fields.get("gate_controls", ())) - set(C.REQUIRED_CONTROLS))
    if unknown_gate:
        raise InvalidInputError(
            f"{where}: gate control(s) {unknown_gate} unknown; use the gate's ids "
            f"({', '.join(C.REQUIRED_CONTROLS)})"
        )
    if "check" in fields:
        try:
            get_check(fields["check"])
        except InvalidInputError as e:
            raise InvalidInputError(f"{where}: {e}") from None
    if inherited is not None:
        return replace(inherited, **fields)
    return Control(id=control_id, **fields)
