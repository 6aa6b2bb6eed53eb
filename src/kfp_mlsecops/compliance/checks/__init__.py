"""Compliance checks, one module per family, looked up by ``family.name`` in the registry."""

from __future__ import annotations

from kfp_mlsecops.compliance.checks.base import (
    CheckContext,
    CheckFamily,
    Finding,
    NotRun,
    Outcome,
    RunFolder,
)
from kfp_mlsecops.compliance.checks.registry import (
    check_names,
    family_names,
    get_check,
    register_family,
)

__all__ = [
    "CheckContext",
    "CheckFamily",
    "Finding",
    "NotRun",
    "Outcome",
    "RunFolder",
    "check_names",
    "family_names",
    "get_check",
    "register_family",
]
