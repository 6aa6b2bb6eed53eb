"""Gate controls on the model artifact and its signed evidence: model scan, robustness attestation.

Like every gate control these never raise: a check that cannot run fails with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from kfp_mlsecops import constants as c
from kfp_mlsecops._io import one_line
from kfp_mlsecops.attestation import check_attested_numbers, verify_attestation
from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.gate.controls import ControlResult, Value, evaluate
from kfp_mlsecops.safety import scan_model
from kfp_mlsecops.signing import VerificationConfig


def model_scan_control(model_dir: str | os.PathLike[str]) -> ControlResult:
    """Scan the model files offline for code-carrying content; any finding blocks.

    ``measured`` is the number of findings; ``detail`` names the first ones.
    """

    def check() -> tuple[Value, bool, str]:
        report = scan_model(model_dir)
        try:
            report.require_safe()  # raises on findings, or when nothing was scanned
        except VerificationError as e:
            return len(report.findings), False, one_line(e)
        return 0, True, f"{len(report.files_scanned)} file(s) scanned, nothing unsafe found"

    return evaluate(
        c.CONTROL_MODEL_SCAN,
        "model files carry no pickles, Lambda layers, custom code or unsafe graph ops",
        0,
        check,
    )


def robustness_attestation_control(
    *,
    attestation_path: str | os.PathLike[str] | None,
    verification: VerificationConfig,
    verified_digest: str | None,
    raw_results: Callable[[], dict[str, Any]],
) -> ControlResult:
    """Verify the signed robustness attestation and that it attests the numbers being gated on.

    Passes only when the attestation verifies with the gate's trust (the same method and
    material as the model signature), its subject is the
    verified model digest, and its results equal the results file the gate read (exactly, in
    canonical JSON). A missing attestation fails (fail closed).
    """

    def check() -> tuple[Value, bool, str]:
        if attestation_path is None or not str(attestation_path):
            return None, False, "no robustness attestation was given; attest the results"
        if verified_digest is None:
            return None, False, "no verified model digest (the signature control failed)"
        predicate = verify_attestation(
            attestation_path=attestation_path,
            verification=verification,
            expected_model_digest=verified_digest,
        )
        check_attested_numbers(predicate, raw_results())
        return (
            predicate.model_digest,
            True,
            f"attestation '{attestation_path}' verifies, names the signed model and attests "
            "exactly the gated results",
        )

    return evaluate(
        c.CONTROL_ROBUSTNESS_ATTESTATION,
        "a signed attestation binds the gated robustness results to the signed model",
        "valid attestation of these results",
        check,
    )
