"""Verify a model before serving it: signature, attestation AND the gate's signed approval.

The model folder and the three evidence files are first copied into a private (0700) temporary
folder and the *copies* are checked and then loaded, so bytes changed in storage after the
check can never be the bytes served. The checks are exactly deploy's
(:func:`kfp_mlsecops.gate.check_release`): the approval verifies with the gate's key for the
model's digest, the approved policy meets the serving namespace's floor, the evidence files are
the approved ones, the signature and attestation verify with the model trust, and the approved
policy holds on the attested numbers. A valid signature alone never serves. Everything fails
closed: any exception is a VerificationError and the model is not served.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from kfp_mlsecops._fields import DIGEST_RE
from kfp_mlsecops._io import first_line
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError, VerificationError
from kfp_mlsecops.policy import PolicyFloor
from kfp_mlsecops.signing import VerificationConfig

__all__ = ["StagedModel", "VerificationPolicy", "stage_verified_model"]

T = TypeVar("T")
_DO_NOT_SERVE = "not serving it"


@dataclass(frozen=True)
class VerificationPolicy:
    """What must verify before a model is served.

    ``verification`` trusts the model signer (signature and attestation);
    ``approval_verification`` trusts the gate (the approval), never the same key; ``floor`` is
    the serving namespace's policy floor the approved policy must meet.
    """

    signature_path: Path
    attestation_path: Path
    approval_path: Path
    verification: VerificationConfig
    approval_verification: VerificationConfig
    floor: PolicyFloor
    #: When set, a model approved and signed under any other digest is refused too (a key signs
    #: many models; this pins the one deploy rolled out).
    expected_digest: str | None = None

    def __post_init__(self) -> None:
        """Refuse incomplete policies (InvalidInputError)."""
        if self.expected_digest is not None and not (
            isinstance(self.expected_digest, str) and DIGEST_RE.fullmatch(self.expected_digest)
        ):
            raise InvalidInputError(
                f"expected digest {self.expected_digest!r} is not sha256:<64 lowercase hex>"
            )
        for name in ("verification", "approval_verification"):
            if not isinstance(getattr(self, name), VerificationConfig):
                raise InvalidInputError(f"verification policy: {name} must be a VerificationConfig")
        if not isinstance(self.floor, PolicyFloor):
            raise InvalidInputError("verification policy: floor must be a PolicyFloor")


@dataclass(frozen=True)
class StagedModel:
    """A private, verified copy of a model directory and how it was tested (input range, output)."""

    path: Path
    digest: str
    source: Path
    input_range: tuple[float, float]
    model_output: str
    _root: Path = field(repr=False)

    def cleanup(self) -> None:
        """Delete the private copy (idempotent)."""
        shutil.rmtree(self._root, ignore_errors=True)


def stage_verified_model(
    model_dir: str | os.PathLike[str], policy: VerificationPolicy
) -> StagedModel:
    """Copy the model and evidence to a private folder, check the copies, return them.

    The whole folder is copied (anything extra fails the layout check). Raises
    VerificationError on any failure; nothing is left behind.
    """
    source = Path(model_dir)
    root = Path(tempfile.mkdtemp(prefix="mlsecops-predictor-")).resolve()
    try:
        staged = _stage(source, policy, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return staged


def _stage(source: Path, policy: VerificationPolicy, root: Path) -> StagedModel:
    from kfp_mlsecops.gate.release import check_release

    if not source.is_dir():
        raise VerificationError(
            f"model '{source}': not a directory; pass the signed model folder, {_DO_NOT_SERVE}"
        )
    copy = root / "model"
    try:
        shutil.copytree(source, copy, symlinks=True)
    except (OSError, shutil.Error) as e:
        raise VerificationError(
            f"model '{source}': cannot be copied for verification ({first_line(e, 600)}), "
            f"{_DO_NOT_SERVE}"
        ) from e
    copies = {
        what: (_copy_file(given, root / what, what=what), given)
        for what, given in (
            ("signature", policy.signature_path),
            ("attestation", policy.attestation_path),
            ("approval", policy.approval_path),
        )
    }
    release = _run(
        lambda: check_release(
            model_dir=copy,
            approval_path=copies["approval"][0],
            signature_path=copies["signature"][0],
            attestation_path=copies["attestation"][0],
            verification=policy.verification,
            approval_verification=policy.approval_verification,
            floor=policy.floor,
        ),
        replacements=[(copy, source), *copies.values()],
        source=source,
    )
    digest = release.model_digest
    if policy.expected_digest is not None and digest != policy.expected_digest:
        raise VerificationError(
            f"model '{source}': approved and signed, but digest {digest} is not the expected "
            f"{policy.expected_digest} (another approved model was swapped in); {_DO_NOT_SERVE}"
        )
    return StagedModel(
        path=copy,
        digest=digest,
        source=source,
        input_range=release.input_range,
        model_output=release.model_output,
        _root=root,
    )


def _copy_file(path: Path, target: Path, *, what: str) -> Path:
    try:
        shutil.copyfile(path, target)
    except FileNotFoundError as e:
        raise VerificationError(f"{what} '{path}': does not exist; {_DO_NOT_SERVE}") from e
    except OSError as e:
        raise VerificationError(
            f"{what} '{path}': cannot be read ({first_line(e, 600)}); {_DO_NOT_SERVE}"
        ) from e
    return target


def _run(check: Callable[[], T], *, replacements: list[tuple[Path, Path]], source: Path) -> T:
    """Run the checks; name the user's paths (not the private copies) in any error."""

    def readable(message: str) -> str:
        for private, given in replacements:
            message = message.replace(str(private), str(given))
        return message.replace("do not deploy", _DO_NOT_SERVE)

    try:
        return check()
    except MLSecOpsError as e:
        raise VerificationError(readable(first_line(e, 600))) from e
    except Exception as e:  # noqa: BLE001 - fail closed: nothing unexpected may pass
        raise VerificationError(
            f"model '{source}': verification failed unexpectedly ({readable(first_line(e, 600))}); "
            f"{_DO_NOT_SERVE}"
        ) from e
