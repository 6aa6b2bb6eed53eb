"""The check registry: a check is ``family.name``; a family is one module defining ``FAMILY``.

Built-in families are imported on first use (listing names imports nothing). A new family is
one module with a :class:`~kfp_mlsecops.compliance.checks.base.CheckFamily` and one entry here,
or :func:`register_family` at run time.
"""

from __future__ import annotations

from kfp_mlsecops._registry import LazyRegistry
from kfp_mlsecops.compliance.checks.base import CheckFamily, CheckFn
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["check_names", "family_names", "get_check", "register_family"]

_PACKAGE = "kfp_mlsecops.compliance.checks"
_FAMILIES: LazyRegistry[CheckFamily] = LazyRegistry(
    "check family",
    CheckFamily,
    "FAMILY",
    {
        name: f"{_PACKAGE}.{name}"
        for name in (
            "data",
            "signing",
            "attestation",
            "gate",
            "deploy",
            "provenance",
            "threat",
            "privacy",
            "poisoning",
            "explanations",
            "cluster",
        )
    },
)


def family_names() -> tuple[str, ...]:
    """Return the registered family names (imports nothing)."""
    return _FAMILIES.names()


def check_names() -> tuple[str, ...]:
    """Return every check as ``family.name`` (imports each family module)."""
    return tuple(f"{f.name}.{c}" for f in _FAMILIES.all() for c in f.checks)


def get_check(ref: str) -> CheckFn:
    """Return the check ``family.name``; InvalidInputError names the known ones otherwise."""
    family_name, sep, name = ref.partition(".")
    family = _FAMILIES.get(family_name, what="check family")
    if not sep or name not in family.checks:
        raise InvalidInputError(f"check {ref!r} is unknown; use one of {', '.join(check_names())}")
    return family.checks[name]


def register_family(family: CheckFamily) -> None:
    """Register a family of checks under ``family.name`` (a new name)."""
    _FAMILIES.add(family.name, family)
