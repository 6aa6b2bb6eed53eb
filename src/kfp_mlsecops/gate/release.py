"""What deploy and the verified predictor re-check before acting: the approval and its evidence.

A signature alone never deploys or serves: :func:`check_release` requires the gate's signed
approval for exactly the model's digest (verified with the GATE's key, which must differ from the
model-signing key), the approved policy to meet this environment's floor, the signature and
attestation files to be the very ones the gate approved (by digest), both to verify again, and
the approved policy to hold on the attested numbers and on the numbers the gate measured. Every
failure is a one-line VerificationError naming the property that failed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kfp_mlsecops._io import sha256_file
from kfp_mlsecops.attacks.results import RobustnessResults
from kfp_mlsecops.attestation import verify_attestation
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.gate.approval import Approval, check_separate_keys, verify_approval
from kfp_mlsecops.policy import Policy, PolicyFloor, meets, policy_violations
from kfp_mlsecops.servable import check_layout
from kfp_mlsecops.signing import VerificationConfig, model_digest

__all__ = ["Release", "check_release"]

_DO_NOT_DEPLOY = "do not deploy"


@dataclass(frozen=True)
class Release:
    """A model cleared for release: its digest, the approval that clears it, the tested range.

    ``input_range`` is the ``(lower, upper)`` value range the attested results were measured on,
    the range a server must accept inputs in; ``model_output`` is how attack-test read the
    model's scores (``logits``, ``log-probabilities`` or ``softmax-stripped``). Both come from
    the signed attestation, not from files in the model folder.
    """

    model_digest: str
    approval: Approval
    input_range: tuple[float, float]
    model_output: str


def check_release(
    *,
    model_dir: str | os.PathLike[str],
    approval_path: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str],
    verification: VerificationConfig,
    approval_verification: VerificationConfig,
    floor: PolicyFloor,
) -> Release:
    """Return the release when every check passes; raise VerificationError otherwise.

    Order: separation of duties (approval key != model key), servable layout, the model's
    digest recomputed and its signature verified for it, the approval verified for that
    digest, the attestation too, the approved policy against ``floor``, the evidence files are
    the approved ones, and the approved policy holds on the attested and measured numbers.
    """
    try:
        check_separate_keys(approval_verification.public_key_pem(), verification.public_key_pem())
    except InvalidInputError as e:
        raise VerificationError(f"separation of duties: {e}; {_DO_NOT_DEPLOY}") from e
    try:
        check_layout(model_dir)
    except VerificationError as e:
        raise VerificationError(f"{e}; {_DO_NOT_DEPLOY}") from e
    try:
        digest = model_digest(model_dir)
    except Exception as e:
        raise VerificationError(
            f"model '{model_dir}': cannot recompute its digest ({' '.join(str(e).split())}); "
            f"{_DO_NOT_DEPLOY}"
        ) from e
    signed = verification.set_expected_digest(digest).verify(model_dir, signature_path)
    if signed != digest:  # verify already enforces this; never rely on one check only
        raise VerificationError(
            f"model '{model_dir}': the signature covers {signed}, not {digest}; {_DO_NOT_DEPLOY}"
        )
    approval = verify_approval(
        approval_path, verification=approval_verification, expected_model_digest=digest
    )
    attested = verify_attestation(
        attestation_path=attestation_path, verification=verification, expected_model_digest=digest
    )
    results = _results(attested.results, attestation_path)
    found = policy_violations(approval.policy, floor, input_range=results.input_range)
    if found:
        raise VerificationError(
            f"policy floor: the approval's policy is looser than {floor.label} "
            f"({'; '.join(found)}); {_DO_NOT_DEPLOY}"
        )
    for what, path in (("signature", signature_path), ("attestation", attestation_path)):
        actual = "sha256:" + sha256_file(path)
        if actual != approval.evidence[what]:
            raise VerificationError(
                f"evidence: {what} '{path}' is not the one the gate approved (digest {actual}, "
                f"approved {approval.evidence[what]}); {_DO_NOT_DEPLOY}"
            )
    policy = approval.policy
    flags = [f.id for f in results.masking or () if f.flagged]
    for label, clean, robust in (
        ("the attested numbers", results.clean_accuracy, _robust(results, policy)),
        (
            "the gate's measured numbers",
            approval.measured["clean_accuracy"],
            approval.measured["robust_accuracy"],
        ),
    ):
        failures = meets(policy, clean_accuracy=clean, robust_accuracy=robust, raised_flags=flags)
        if failures:
            raise VerificationError(
                f"approved policy: {label} do not meet it ({'; '.join(failures)}); {_DO_NOT_DEPLOY}"
            )
    return Release(
        model_digest=digest,
        approval=approval,
        input_range=results.input_range,
        model_output=results.model_output,
    )


def _results(raw: dict[str, Any], where: str | os.PathLike[str]) -> RobustnessResults:
    try:
        return RobustnessResults.from_dict(raw)
    except (ValueError, InvalidInputError) as e:
        raise VerificationError(
            f"attestation '{where}': its results are unusable ({' '.join(str(e).split())[:200]}); "
            f"{_DO_NOT_DEPLOY}"
        ) from e


def _robust(results: RobustnessResults, policy: Policy) -> float:
    try:
        return float(results.robust_accuracy(policy.robust_attack, policy.robust_epsilon))
    except (ValueError, InvalidInputError) as e:
        raise VerificationError(
            f"approved policy: the attested results lack its robust accuracy ({e}); "
            f"{_DO_NOT_DEPLOY}"
        ) from e
