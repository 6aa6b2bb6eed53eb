"""Signing check: the model folder matches its signature by the trusted key."""

from __future__ import annotations

from pathlib import Path

from kfp_mlsecops.compliance.checks.base import (
    MODEL_DIR,
    CheckContext,
    CheckFamily,
    NotRun,
    Outcome,
)
from kfp_mlsecops.compliance.profile import Control

__all__ = ["FAMILY", "verified_digest"]


def verified_digest(ctx: CheckContext) -> str:
    """Verify the model signature once per context and return the model digest.

    Raises NotRun without ``--public-key``: a key found next to the evidence proves nothing.
    """
    if ctx.public_key is None:
        raise NotRun("no --public-key given: the signature cannot be verified; pass the signer's")
    model = ctx.evidence(*MODEL_DIR)
    signature = ctx.evidence("sign-model/signature")
    ctx.note(ctx.public_key)

    def verify() -> str:
        from kfp_mlsecops.signing import VerificationConfig

        key = Path(ctx.public_key or "")
        return VerificationConfig().use_key(public_key_path=key).verify(model, signature)

    return str(ctx.cached("verified_digest", verify))


def signature_verifies(ctx: CheckContext, control: Control) -> Outcome:
    """Pass when the model folder verifies against its signature and the public key."""
    digest = verified_digest(ctx)
    return Outcome.of(True, f"signature verifies: model {digest}")


FAMILY = CheckFamily(
    name="signing",
    description="the model signature (needs --public-key)",
    checks={"signature_verifies": signature_verifies},
)
