"""Provenance check: the model folder records how, on what and with which libraries it was made."""

from __future__ import annotations

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import read_json_object
from kfp_mlsecops.compliance.checks.base import MODEL_DIR, CheckContext, CheckFamily, Outcome
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY"]

_FIELDS = ("libraries", "parameters", "input_shape", "n_classes", "serving")


def recorded(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when provenance.json is ours and records libraries, parameters and serving."""
    doc = read_json_object(ctx.evidence(*(f"{m}/{C.PROVENANCE_FILE}" for m in MODEL_DIR)))
    if doc.get("schema") != C.PROVENANCE_SCHEMA:
        return Outcome.of(False, f"schema {doc.get('schema')!r}, expected {C.PROVENANCE_SCHEMA}")
    missing = [f for f in _FIELDS if not doc.get(f)]
    if missing:
        return Outcome.of(False, f"provenance lacks {', '.join(missing)}")
    libraries = ", ".join(f"{k} {v}" for k, v in sorted(doc["libraries"].items()))
    return Outcome.of(True, f"architecture {doc.get('architecture')}; {libraries}")


FAMILY = CheckFamily(
    name="provenance",
    description="the model's provenance record (signed with the model)",
    checks={"recorded": recorded},
)
