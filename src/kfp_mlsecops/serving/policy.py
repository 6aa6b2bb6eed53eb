"""Build the predictor's verification policy for a signing method, from flat options.

The model options are those of ``mlsecops verify`` (and ``mlsecops serve``); which ones a method
takes is the method's own (``kfp_mlsecops.signing.registry``), e.g. ``key`` the public key,
``certificate`` the trusted CA certificate(s) and the leaf identity, ``sigstore`` the identity,
the OIDC issuer and a ClientTrustConfig (offline). The approval is the gate's, verified with the
gate's own public key; ``floor_path`` is the serving namespace's policy floor (None: the
built-in default). An option the method does not use, or a missing one, is an
InvalidInputError, raised before any model file is read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kfp_mlsecops.policy import load_floor
from kfp_mlsecops.serving.verification import VerificationPolicy
from kfp_mlsecops.signing import VerificationConfig

__all__ = ["policy_for_method"]

PathArg = str | os.PathLike[str]


def policy_for_method(
    method: str,
    *,
    signature_path: PathArg,
    attestation_path: PathArg,
    approval_path: PathArg,
    approval_public_key_path: PathArg,
    public_key_path: PathArg | None = None,
    chain_paths: Sequence[PathArg] = (),
    identity: str | None = None,
    issuer: str | None = None,
    trust_config_path: PathArg | None = None,
    ignore_paths: Sequence[str] = (),
    floor_path: PathArg | None = None,
    expected_digest: str | None = None,
) -> VerificationPolicy:
    """Return the :class:`VerificationPolicy` that serves a model only if it is approved.

    The signature and the attestation are checked with
    ``kfp_mlsecops.signing.VerificationConfig.from_method`` (same method and trust); the
    approval with the gate's key ``approval_public_key_path``.
    """
    config = VerificationConfig.from_method(
        method,
        public_key_path=public_key_path,
        chain_paths=chain_paths,
        identity=identity,
        issuer=issuer,
        trust_config_path=trust_config_path,
    )
    return VerificationPolicy(
        signature_path=Path(signature_path),
        attestation_path=Path(attestation_path),
        approval_path=Path(approval_path),
        verification=config.set_ignore_paths(ignore_paths),
        approval_verification=VerificationConfig().use_key(
            public_key_path=approval_public_key_path
        ),
        floor=load_floor(floor_path or None),
        expected_digest=expected_digest,
    )
