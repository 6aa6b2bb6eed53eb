"""The policy floor: an organisation's minimum gate policy per environment, read strictly.

A floor is a versioned YAML document (``kind: PolicyFloor``) mounted from the ``mlsecops-policy``
ConfigMap; run parameters may tighten it, never loosen it (:mod:`kfp_mlsecops.policy.effective`).
:func:`load_floor` is the one reader: unknown keys, wrong types, bools for numbers, NaN and
out-of-range values are refused with one line naming the file and the field. A missing or
invalid file is an error, never a fallback to the built-in default (which is loaded only when no
path is given). :attr:`PolicyFloor.digest` identifies the floor in a signed approval.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, NoReturn

import rfc8785
import yaml

from kfp_mlsecops import constants as c
from kfp_mlsecops._io import is_number
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy.budgets import BUDGET_PARAMS

__all__ = [
    "API_VERSION",
    "BUILTIN",
    "KIND",
    "POLICY_CONFIGMAP",
    "POLICY_FILE",
    "POLICY_MOUNT",
    "EvidenceFloor",
    "PolicyFloor",
    "load_floor",
]

API_VERSION = "kfp-mlsecops.dev/v1"
KIND = "PolicyFloor"
#: ``PolicyFloor.source`` of the default floor shipped in the package (``default.yaml``).
BUILTIN = "builtin"
#: The ConfigMap holding the floor (key ``POLICY_FILE``), mounted read-only at ``POLICY_MOUNT``
#: on the gate and deploy tasks and in the serving namespace (see manifests/policy/).
POLICY_CONFIGMAP = "mlsecops-policy"
POLICY_MOUNT = "/etc/mlsecops/policy"
POLICY_FILE = "policy.yaml"

_DEFAULT_RESOURCE = "default.yaml"
#: A ConfigMap holds at most 1 MiB; a larger file is not a policy.
_MAX_BYTES = 1 << 20
#: Largest integer RFC 8785 (I-JSON) represents exactly; bounds every integer field.
_MAX_INT = 2**53 - 1
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_TOP_KEYS = ("apiVersion", "kind", "metadata", "spec")
_METADATA_KEYS = ("name", "environment", "version")
_SPEC_KEYS = (
    "min_clean_accuracy",
    "min_robust_accuracy",
    "min_robust_epsilon",
    "robust_attacks",
    "min_tier",
    "min_attack_budget",
    "min_samples",
    "waivable_masking_flags",
    "evidence",
)
_OPTIONAL_SPEC_KEYS = ("min_attack_budget",)
_EVIDENCE_KEYS = ("inflation", "detection_probability", "max_unreproduced")
_ROBUST_ATTACKS = (*c.ATTACK_NAMES, c.WORST_CASE)


@dataclass(frozen=True)
class EvidenceFloor:
    """How hard the gate re-derives robustness evidence (validated by :class:`PolicyFloor`).

    Args:
        inflation: Robust-accuracy inflation to detect, as a fraction of points, in (0, 1].
        detection_probability: Probability of detecting that inflation, in (0, 1).
        max_unreproduced: Contradicted points tolerated before blocking, an integer >= 0.

    """

    inflation: float
    detection_probability: float
    max_unreproduced: int


@dataclass(frozen=True, kw_only=True)
class PolicyFloor:
    """A validated policy floor; construction checks every field and computes ``digest``.

    Args:
        name: ``metadata.name``, a lowercase DNS-1123 label.
        environment: ``metadata.environment``, e.g. ``prod``.
        version: ``metadata.version``, an integer >= 1 bumped on every change.
        min_clean_accuracy: Lowest ``min_clean_accuracy`` a run may gate on, in [0, 1].
        min_robust_accuracy: Lowest ``min_robust_accuracy`` a run may gate on, in [0, 1].
        min_robust_epsilon: Lowest robust epsilon as a fraction of the input range width, [0, 1].
        robust_attacks: Attacks a run may gate on; always includes ``worst_case``.
        min_tier: Weakest evaluation tier accepted (``constants.TIERS`` order).
        min_attack_budget: Attack name -> budget parameter -> minimum (``BUDGET_PARAMS``).
        min_samples: Fewest evaluated test points accepted.
        waivable_masking_flags: Masking flags a run may waive (``constants.MASKING_FLAGS``).
        evidence: How hard the gate re-derives the robustness evidence.
        source: The file read, or ``builtin``; named in every error (not part of equality).

    ``digest`` is ``sha256:`` + the hex SHA-256 of the RFC 8785 canonical JSON of
    :meth:`to_dict`, so it ignores YAML formatting, key order and list order.

    """

    name: str
    environment: str
    version: int
    min_clean_accuracy: float
    min_robust_accuracy: float
    min_robust_epsilon: float
    robust_attacks: tuple[str, ...]
    min_tier: str
    min_attack_budget: Mapping[str, Mapping[str, int]] = field(hash=False)
    min_samples: int
    waivable_masking_flags: tuple[str, ...]
    evidence: EvidenceFloor
    source: str = field(compare=False)
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise InvalidInputError(
                f"policy floor source={self.source!r} must name the file read, or '{BUILTIN}'"
            )
        where = f"policy floor '{self.source}'"
        put = object.__setattr__
        if not isinstance(self.name, str) or not _DNS_LABEL.fullmatch(self.name):
            _fail(
                where, "metadata.name", self.name, "must be a lowercase DNS-1123 label (e.g. prod)"
            )
        if not isinstance(self.environment, str) or not self.environment.strip():
            _fail(
                where,
                "metadata.environment",
                self.environment,
                "must be a non-empty string (e.g. prod)",
            )
        if self.environment != self.environment.strip():
            _fail(
                where, "metadata.environment", self.environment, "must not start or end with spaces"
            )
        put(self, "version", _integer(where, "metadata.version", self.version, 1))
        for name in ("min_clean_accuracy", "min_robust_accuracy", "min_robust_epsilon"):
            put(self, name, _fraction(where, f"spec.{name}", getattr(self, name)))
        attacks = _names(where, "spec.robust_attacks", self.robust_attacks, _ROBUST_ATTACKS)
        if c.WORST_CASE not in attacks:
            _fail(where, "spec.robust_attacks", list(attacks), f"must include '{c.WORST_CASE}'")
        put(self, "robust_attacks", attacks)
        if not isinstance(self.min_tier, str) or self.min_tier not in c.TIERS:
            _fail(where, "spec.min_tier", self.min_tier, f"must be one of {', '.join(c.TIERS)}")
        put(self, "min_attack_budget", _budget(where, self.min_attack_budget))
        put(self, "min_samples", _integer(where, "spec.min_samples", self.min_samples, 1))
        flags = _names(
            where, "spec.waivable_masking_flags", self.waivable_masking_flags, c.MASKING_FLAGS
        )
        put(self, "waivable_masking_flags", flags)
        put(self, "evidence", _evidence(where, self.evidence))
        try:
            canonical = rfc8785.dumps(self.to_dict())
        except rfc8785.CanonicalizationError as e:  # unreachable after the checks; fail closed
            raise InvalidInputError(f"{where}: cannot canonicalize ({e}); fix the file") from e
        put(self, "digest", "sha256:" + hashlib.sha256(canonical).hexdigest())

    @property
    def label(self) -> str:
        """Return ``policy '<name>' v<version>``, how notes and violations name this floor."""
        return f"policy '{self.name}' v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Return the floor as its JSON-ready document (what ``digest`` is computed over).

        Lists are in the constants' order and ``min_attack_budget`` is always present.
        """
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": self.name,
                "environment": self.environment,
                "version": self.version,
            },
            "spec": {
                "min_clean_accuracy": self.min_clean_accuracy,
                "min_robust_accuracy": self.min_robust_accuracy,
                "min_robust_epsilon": self.min_robust_epsilon,
                "robust_attacks": list(self.robust_attacks),
                "min_tier": self.min_tier,
                "min_attack_budget": {a: dict(p) for a, p in self.min_attack_budget.items()},
                "min_samples": self.min_samples,
                "waivable_masking_flags": list(self.waivable_masking_flags),
                "evidence": {
                    "inflation": self.evidence.inflation,
                    "detection_probability": self.evidence.detection_probability,
                    "max_unreproduced": self.evidence.max_unreproduced,
                },
            },
        }


def load_floor(path: str | os.PathLike[str] | None) -> PolicyFloor:
    """Read and strictly validate a policy floor file.

    Args:
        path: The floor YAML (e.g. ``/etc/mlsecops/policy/policy.yaml``); ``None`` or ``""``
            loads the built-in default floor (``source == "builtin"``).

    Raises InvalidInputError naming the file and field when the file is missing, unreadable,
    empty or invalid; there is no fallback to the default.

    """
    if path is None or (isinstance(path, str) and not path):
        text = resources.files(__package__).joinpath(_DEFAULT_RESOURCE).read_text("utf-8")
        return _from_document(_parse_yaml(text, BUILTIN), BUILTIN)
    source = os.fspath(path)
    where = f"policy floor '{source}'"
    try:
        with open(source, "rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError as e:
        raise InvalidInputError(
            f"{where}: cannot read it ({e.strerror or type(e).__name__}); mount the "
            f"'{POLICY_CONFIGMAP}' ConfigMap at {POLICY_MOUNT} or pass the right path"
        ) from e
    if len(data) > _MAX_BYTES:
        raise InvalidInputError(f"{where}: larger than 1 MiB; a policy floor is a short YAML file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{where}: not UTF-8 text; save the file as UTF-8") from e
    return _from_document(_parse_yaml(text, source), source)


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice (plain YAML keeps the last silently)."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key (a list or mapping used as a key)
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _parse_yaml(text: str, source: str) -> object:
    """Return the single YAML document in ``text`` (safe types only, no duplicate keys)."""
    where = f"policy floor '{source}'"
    loader = _UniqueKeyLoader(text)
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f" at line {mark.line + 1}" if mark is not None else ""
        parts = [str(part) for part in (e.context, e.problem) if part]
        problem = " ".join(" ".join(parts).split()) or "invalid YAML"
        raise InvalidInputError(f"{where}: not valid YAML ({problem}{at}); fix the file") from e
    except yaml.YAMLError as e:
        raise InvalidInputError(
            f"{where}: not valid YAML ({' '.join(str(e).split())[:200]}); fix the file"
        ) from e
    finally:
        loader.dispose()
    if doc is None:
        raise InvalidInputError(
            f"{where}: is empty; write a {KIND} document (see manifests/policy/README.md)"
        )
    return doc


def _from_document(doc: object, source: str) -> PolicyFloor:
    """Check the document's structure (keys, kind) and build the floor, which checks values."""
    where = f"policy floor '{source}'"
    top = _section(where, "", doc, _TOP_KEYS)
    if top["apiVersion"] != API_VERSION:
        _fail(where, "apiVersion", top["apiVersion"], f"must be {API_VERSION}")
    if top["kind"] != KIND:
        _fail(where, "kind", top["kind"], f"must be {KIND}")
    meta = _section(where, "metadata", top["metadata"], _METADATA_KEYS)
    spec = _section(where, "spec", top["spec"], _SPEC_KEYS, optional=_OPTIONAL_SPEC_KEYS)
    evidence = _section(where, "spec.evidence", spec["evidence"], _EVIDENCE_KEYS)
    return PolicyFloor(
        name=meta["name"],
        environment=meta["environment"],
        version=meta["version"],
        min_clean_accuracy=spec["min_clean_accuracy"],
        min_robust_accuracy=spec["min_robust_accuracy"],
        min_robust_epsilon=spec["min_robust_epsilon"],
        robust_attacks=spec["robust_attacks"],
        min_tier=spec["min_tier"],
        min_attack_budget=spec.get("min_attack_budget", {}),
        min_samples=spec["min_samples"],
        waivable_masking_flags=spec["waivable_masking_flags"],
        evidence=EvidenceFloor(**evidence),
        source=source,
    )


def _section(
    where: str, path: str, value: object, keys: Sequence[str], *, optional: Sequence[str] = ()
) -> dict[str, Any]:
    """Return ``value`` as a mapping with exactly ``keys`` (``optional`` ones may be absent)."""
    label = path or "the document"
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"{where}: {label} must be a mapping, not {_kind(value)}; see "
            "manifests/policy/README.md"
        )
    prefix = f"{path}." if path else ""
    unknown = [k for k in value if k not in keys]
    if unknown:
        shown = ", ".join(prefix + str(k) for k in unknown)
        raise InvalidInputError(
            f"{where}: unknown key(s) {shown}; remove them (allowed: {', '.join(keys)})"
        )
    missing = [k for k in keys if k not in value and k not in optional]
    if missing:
        shown = ", ".join(prefix + k for k in missing)
        raise InvalidInputError(
            f"{where}: missing {shown}; add it (see manifests/policy/README.md)"
        )
    return value


def _budget(where: str, value: object) -> Mapping[str, Mapping[str, int]]:
    """Return the attack budget minimums as read-only mappings in a fixed order."""
    path = "spec.min_attack_budget"
    if not isinstance(value, Mapping):
        _fail(where, path, value, "must be a mapping of attack name -> {parameter: minimum}")
    unknown = [a for a in value if a not in BUDGET_PARAMS]
    if unknown:
        usable = ", ".join(a for a, params in BUDGET_PARAMS.items() if params)
        _fail(where, path, unknown, f"names unknown attack(s); use {usable}")
    out: dict[str, Mapping[str, int]] = {}
    for attack, allowed in BUDGET_PARAMS.items():
        if attack not in value:
            continue
        params = value[attack]
        if not allowed:
            _fail(
                where,
                f"{path}.{attack}",
                params,
                "names an attack without budget parameters; remove it",
            )
        if not isinstance(params, Mapping) or not params:
            _fail(
                where,
                f"{path}.{attack}",
                params,
                f"must map some of {', '.join(allowed)} to minimums",
            )
        bad = [p for p in params if p not in allowed]
        if bad:
            _fail(
                where,
                f"{path}.{attack}",
                bad,
                f"names unknown parameter(s); use {', '.join(allowed)}",
            )
        out[attack] = MappingProxyType(
            {
                p: _integer(where, f"{path}.{attack}.{p}", params[p], 1)
                for p in allowed
                if p in params
            }
        )
    return MappingProxyType(out)


def _evidence(where: str, value: object) -> EvidenceFloor:
    """Return the evidence settings with checked, normalized values."""
    if not isinstance(value, EvidenceFloor):
        _fail(where, "spec.evidence", value, "must be an EvidenceFloor")
    inflation = _fraction(where, "spec.evidence.inflation", value.inflation, open_low=True)
    probability = _fraction(
        where,
        "spec.evidence.detection_probability",
        value.detection_probability,
        open_low=True,
        open_high=True,
    )
    unreproduced = _integer(where, "spec.evidence.max_unreproduced", value.max_unreproduced, 0)
    return EvidenceFloor(inflation, probability, unreproduced)


def _fraction(
    where: str, path: str, value: object, *, open_low: bool = False, open_high: bool = False
) -> float:
    """Return ``value`` as a float in [0, 1] (ends excluded as asked); bools and NaN refused."""
    if is_number(value):
        number = float(value)  # type: ignore[arg-type]
        if (0.0 < number if open_low else 0.0 <= number) and (
            number < 1.0 if open_high else number <= 1.0
        ):
            return number
    interval = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
    _fail(where, path, value, f"must be a number in {interval}")


def _integer(where: str, path: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int (not a bool) in [minimum, 2**53 - 1]; raise otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and minimum <= value:
        if value <= _MAX_INT:
            return value
        _fail(where, path, value, f"must be an integer <= {_MAX_INT}")
    _fail(where, path, value, f"must be an integer >= {minimum}")


def _names(where: str, path: str, value: object, known: Sequence[str]) -> tuple[str, ...]:
    """Return distinct names from ``known`` in ``known``'s order; a string is not a list."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        _fail(where, path, value, f"must be a list of names from {', '.join(known)}")
    unknown = [v for v in value if not isinstance(v, str) or v not in known]
    if unknown:
        _fail(where, path, unknown, f"names unknown value(s); use {', '.join(known)}")
    if len(set(value)) != len(value):
        _fail(where, path, list(value), "repeats a name; list each once")
    return tuple(name for name in known if name in value)


def _kind(value: object) -> str:
    """Return a short, YAML-flavoured name for ``value``'s type."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _fail(where: str, path: str, value: object, rule: str) -> NoReturn:
    """Raise one line naming the file, the field, the value and the rule it breaks."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise InvalidInputError(f"{where}: {path}={shown} {rule}; fix the file")
