"""Data checks: validate-data passed, and the dataset digest is recorded and bound to the model."""

from __future__ import annotations

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE as _DIGEST
from kfp_mlsecops._io import read_json_object
from kfp_mlsecops.compliance.checks.base import (
    MODEL_DIR,
    CheckContext,
    CheckFamily,
    Finding,
    Outcome,
)
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY"]


def validation_passed(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when validate-data's JSON report says passed with no failed error-level finding."""
    report = read_json_object(ctx.evidence("validate-data/report_json"))
    if report.get("schema") != C.VALIDATION_REPORT_SCHEMA:
        return Outcome.of(False, f"report schema is {report.get('schema')!r}, not ours")
    findings = tuple(
        Finding(str(f.get("id")), f.get("passed") is True or f.get("severity") != "error", "")
        for f in report.get("findings", [])
        if isinstance(f, dict)
    )
    failed = [f.id for f in findings if not f.passed]
    passed = report.get("passed") is True and not failed and report.get("n_errors") == 0
    detail = (
        f"{len(findings)} finding(s), {report.get('n_warnings', 0)} warning(s), no error"
        if passed
        else f"validation failed: {', '.join(failed) or 'report not passed'}"
    )
    return Outcome.of(passed, detail, tuple(f for f in findings if not f.passed))


def digest_recorded(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the data manifest records a sha256 digest per split and the model names it."""
    manifest = read_json_object(ctx.evidence("validate-data/manifest"))
    digest = manifest.get("digest")
    splits = manifest.get("splits")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        return Outcome.of(False, f"manifest digest {digest!r} is not sha256:<64 hex>")
    if not isinstance(splits, dict) or not splits:
        return Outcome.of(False, "manifest records no splits")
    bad = [
        name
        for name, split in splits.items()
        if not (isinstance(split, dict) and _DIGEST.fullmatch(str(split.get("digest"))))
    ]
    if bad:
        return Outcome.of(False, f"split(s) {', '.join(bad)} carry no sha256 digest")
    provenance = read_json_object(ctx.evidence(*(f"{m}/{C.PROVENANCE_FILE}" for m in MODEL_DIR)))
    trained_on = provenance.get("data_digest")
    if trained_on is None:  # a model trained elsewhere (secure-release) names no data digest
        return Outcome.of(True, f"data {digest}; the model was not trained here")
    if trained_on != digest:
        return Outcome.of(False, f"model was trained on {trained_on}, validated data is {digest}")
    return Outcome.of(True, f"data {digest}, named by the model's provenance")


FAMILY = CheckFamily(
    name="data",
    description="validate-data's report and manifest",
    checks={"validation_passed": validation_passed, "digest_recorded": digest_recorded},
)
