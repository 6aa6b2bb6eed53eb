"""Attestation check: a signed robustness attestation names the verified model and its results."""

from __future__ import annotations

from kfp_mlsecops._io import read_json_object
from kfp_mlsecops.compliance.checks.base import (
    RESULTS,
    CheckContext,
    CheckFamily,
    Outcome,
)
from kfp_mlsecops.compliance.checks.signing import verified_digest
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY"]


def bound_to_model(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the attestation verifies, names the verified model and attests the results."""
    from kfp_mlsecops.attestation import check_attested_numbers, verify_attestation

    digest = verified_digest(ctx)  # NotRun without --public-key
    path = ctx.evidence("attest-robustness/attestation")
    predicate = verify_attestation(
        attestation_path=path, expected_model_digest=digest, public_key_path=ctx.public_key
    )
    check_attested_numbers(predicate, read_json_object(ctx.evidence(*RESULTS)))
    return Outcome.of(True, f"attestation verifies, names model {digest} and attests the results")


FAMILY = CheckFamily(
    name="attestation",
    description="the signed robustness attestation (needs --public-key)",
    checks={"bound_to_model": bound_to_model},
)
