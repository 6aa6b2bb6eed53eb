"""Build the predictor's verification policy for a signing method, from flat options.

The options are those of ``mlsecops verify`` (and ``mlsecops serve``): ``key`` needs the public
key; ``certificate`` the trusted CA certificate(s) and the leaf identity; ``sigstore`` the
identity, the OIDC issuer and a ClientTrustConfig (offline). An option the method does not use,
or a missing one, is an InvalidInputError, raised before any file is read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kfp_mlsecops.serving.verification import ConfigAttestationVerifier, VerificationPolicy
from kfp_mlsecops.signing import VerificationConfig

__all__ = ["policy_for_method"]

PathArg = str | os.PathLike[str]


def policy_for_method(
    method: str,
    *,
    signature_path: PathArg,
    public_key_path: PathArg | None = None,
    chain_paths: Sequence[PathArg] = (),
    identity: str | None = None,
    issuer: str | None = None,
    trust_config_path: PathArg | None = None,
    ignore_paths: Sequence[str] = (),
    attestation_path: PathArg | None = None,
    expected_digest: str | None = None,
) -> VerificationPolicy:
    """Return the :class:`VerificationPolicy` that serves a model only if it verifies.

    The signature is checked with ``kfp_mlsecops.signing.VerificationConfig.from_method``; the
    attestation (when ``attestation_path`` is given) with the same ``VerificationConfig``, so it
    must be signed with the same method and trust as the model.
    """
    config = VerificationConfig.from_method(
        method,
        public_key_path=public_key_path,
        chain_paths=chain_paths,
        identity=identity,
        issuer=issuer,
        trust_config_path=trust_config_path,
    )
    with_attestation = attestation_path is not None
    return VerificationPolicy(
        signature_path=Path(signature_path),
        verifier=config.set_ignore_paths(ignore_paths),
        attestation_path=Path(attestation_path) if attestation_path is not None else None,
        attestation_verifier=ConfigAttestationVerifier(config) if with_attestation else None,
        expected_digest=expected_digest,
    )
