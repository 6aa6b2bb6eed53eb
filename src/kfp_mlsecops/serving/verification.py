"""Verify a model before serving it: signature always, robustness attestation when given.

The model, signature and attestation are first copied into a private (0700) temporary folder and
the *copy* is verified and then loaded, so bytes changed in storage after the check can never be
the bytes served. Verifiers are objects with a ``verify`` method, so any trust policy plugs in:
a ``kfp_mlsecops.signing.VerificationConfig`` (any method: key, certificate, Sigstore) for the
model and :class:`ConfigAttestationVerifier` with the same config for the attestation;
:func:`~kfp_mlsecops.serving.policy.policy_for_method` builds both from the ``mlsecops serve``
options. Everything fails closed: any exception is a VerificationError and the
model is not served.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError, VerificationError
from kfp_mlsecops.signing import VerificationConfig

__all__ = [
    "AttestationVerifier",
    "ConfigAttestationVerifier",
    "ModelVerifier",
    "StagedModel",
    "VerificationPolicy",
    "stage_verified_model",
]

_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_DO_NOT_SERVE = "not serving it"


@runtime_checkable
class ModelVerifier(Protocol):
    """Verifies a model directory against a signature; returns the digest or raises."""

    def verify(self, model_dir: Path, signature_path: Path) -> str:
        """Return the verified ``sha256:<hex>`` digest; raise VerificationError otherwise."""
        ...


@runtime_checkable
class AttestationVerifier(Protocol):
    """Verifies a robustness attestation bound to a model digest; returns None or raises."""

    def verify(self, attestation_path: Path, model_digest: str) -> None:
        """Raise VerificationError unless the attestation is valid for ``model_digest``."""
        ...


@dataclass(frozen=True)
class ConfigAttestationVerifier:
    """Robustness attestation check with the trust of a signing ``VerificationConfig``.

    Any method: the attestation must be signed with the same method and pass the same trust
    policy (public key; CA chain + identity; or Sigstore identity + issuer) as the model.
    """

    verification: VerificationConfig

    def verify(self, attestation_path: Path, model_digest: str) -> None:
        """Verify with ``kfp_mlsecops.attestation.verify_attestation`` (imported lazily)."""
        from kfp_mlsecops.attestation import verify_attestation

        result = verify_attestation(
            attestation_path=attestation_path,
            verification=self.verification,
            expected_model_digest=model_digest,
        )
        if result is False:  # a verifier must raise; a bare False is still a failure
            raise VerificationError(
                f"attestation '{attestation_path}': did not verify for {model_digest}"
            )


@dataclass(frozen=True)
class VerificationPolicy:
    """What must verify before a model is served."""

    signature_path: Path
    verifier: ModelVerifier
    attestation_path: Path | None = None
    attestation_verifier: AttestationVerifier | None = None
    #: When set, a validly signed model with any other digest is refused too (a signing key
    #: signs many models; this pins the one the gate approved).
    expected_digest: str | None = None

    def __post_init__(self) -> None:
        """Refuse incomplete policies (InvalidInputError)."""
        if self.expected_digest is not None and not (
            isinstance(self.expected_digest, str) and _DIGEST_RE.fullmatch(self.expected_digest)
        ):
            raise InvalidInputError(
                f"expected digest {self.expected_digest!r} is not sha256:<64 lowercase hex>"
            )
        if not isinstance(self.verifier, ModelVerifier):
            raise InvalidInputError(
                "verification policy: verifier must have verify(model_dir, signature_path)"
            )
        if (self.attestation_path is None) != (self.attestation_verifier is None):
            raise InvalidInputError(
                "verification policy: give both attestation_path and attestation_verifier, "
                "or neither"
            )
        if self.attestation_verifier is not None and not isinstance(
            self.attestation_verifier, AttestationVerifier
        ):
            raise InvalidInputError(
                "verification policy: attestation_verifier must have "
                "verify(attestation_path, model_digest)"
            )


@dataclass(frozen=True)
class StagedModel:
    """A private, verified copy of a model directory."""

    path: Path
    digest: str
    source: Path
    _root: Path = field(repr=False)

    def cleanup(self) -> None:
        """Delete the private copy (idempotent)."""
        shutil.rmtree(self._root, ignore_errors=True)


def stage_verified_model(
    model_dir: str | os.PathLike[str], policy: VerificationPolicy
) -> StagedModel:
    """Copy the model and evidence to a private folder, verify the copy, return it.

    The whole folder is copied (paths the verifier may ignore too). Raises VerificationError on
    any failure; nothing is left behind.
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
    if not source.is_dir():
        raise VerificationError(
            f"model '{source}': not a directory; pass the signed model folder, {_DO_NOT_SERVE}"
        )
    copy = root / "model"
    try:
        shutil.copytree(source, copy, symlinks=True)
    except (OSError, shutil.Error) as e:
        raise VerificationError(
            f"model '{source}': cannot be copied for verification ({_short(e)}), {_DO_NOT_SERVE}"
        ) from e
    signature = _copy_file(policy.signature_path, root / "signature", what="signature")
    digest = _run(
        lambda: policy.verifier.verify(copy, signature),
        copy=copy,
        source=source,
        evidence=(signature, policy.signature_path),
    )
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        raise VerificationError(
            f"model '{source}': the verifier returned {str(digest)[:80]!r}, not a sha256 digest; "
            f"{_DO_NOT_SERVE}"
        )
    if policy.expected_digest is not None and digest != policy.expected_digest:
        raise VerificationError(
            f"model '{source}': signature verifies, but for digest {digest}, not the expected "
            f"{policy.expected_digest} (another signed model was swapped in); {_DO_NOT_SERVE}"
        )
    if policy.attestation_path is not None and policy.attestation_verifier is not None:
        verifier = policy.attestation_verifier
        attestation = _copy_file(policy.attestation_path, root / "attestation", what="attestation")
        _run(
            lambda: verifier.verify(attestation, digest),
            copy=copy,
            source=source,
            evidence=(attestation, policy.attestation_path),
        )
    return StagedModel(path=copy, digest=digest, source=source, _root=root)


def _copy_file(path: Path, target: Path, *, what: str) -> Path:
    try:
        shutil.copyfile(path, target)
    except FileNotFoundError as e:
        raise VerificationError(f"{what} '{path}': does not exist; {_DO_NOT_SERVE}") from e
    except OSError as e:
        raise VerificationError(
            f"{what} '{path}': cannot be read ({_short(e)}); {_DO_NOT_SERVE}"
        ) from e
    return target


def _run(
    check: Callable[[], object], *, copy: Path, source: Path, evidence: tuple[Path, Path]
) -> object:
    """Run a verifier; name the user's paths (not the private copies) in any error."""

    def readable(message: str) -> str:
        return message.replace(str(copy), str(source)).replace(str(evidence[0]), str(evidence[1]))

    try:
        result = check()
    except MLSecOpsError as e:
        raise VerificationError(readable(_short(e))) from e
    except Exception as e:  # noqa: BLE001 - fail closed: nothing unexpected may pass
        raise VerificationError(
            f"model '{source}': verification failed unexpectedly ({readable(_short(e))}); "
            f"{_DO_NOT_SERVE}"
        ) from e
    if result is False:  # a verifier must raise; a bare False is still a failure
        raise VerificationError(
            f"model '{source}': '{evidence[1]}' did not verify (the verifier returned False); "
            f"{_DO_NOT_SERVE}"
        )
    return result


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:400]
