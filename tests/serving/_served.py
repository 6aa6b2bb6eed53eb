"""The files of a released model as the predictor sees them (shared by the serving tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from _release import Release


@dataclass(frozen=True)
class SignedModel:
    """A trained, signed, attested AND approved model (the release chain) and its files."""

    model_dir: Path
    signature: Path
    public_key: Path
    private_key: Path
    digest: str
    test_split: Path
    train_split: Path
    attestation: Path
    approval: Path
    approval_public_key: Path


def signed_model_of(release: Release) -> SignedModel:
    """The files of a release chain as the predictor sees them."""
    return SignedModel(
        model_dir=release.model,
        signature=release.signature,
        public_key=release.public_key,
        private_key=release.private_key,
        digest=release.digest,
        test_split=release.test_split,
        train_split=release.train_split,
        attestation=release.attestation,
        approval=release.approval,
        approval_public_key=release.approval_public_key,
    )


def approved_policy(model: SignedModel, **overrides: object) -> object:
    """The VerificationPolicy that serves ``model`` (key method, the built-in floor)."""
    from kfp_mlsecops.policy import load_floor
    from kfp_mlsecops.serving import VerificationPolicy
    from kfp_mlsecops.signing import VerificationConfig

    kwargs: dict[str, object] = dict(
        signature_path=model.signature,
        attestation_path=model.attestation,
        approval_path=model.approval,
        verification=VerificationConfig().use_key(public_key_path=model.public_key),
        approval_verification=VerificationConfig().use_key(
            public_key_path=model.approval_public_key
        ),
        floor=load_floor(None),
    )
    kwargs.update(overrides)
    return VerificationPolicy(**kwargs)  # type: ignore[arg-type]
