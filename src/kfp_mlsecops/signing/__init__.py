"""Sign and verify model directories with OpenSSF model-signing (OMS bundles).

Three methods: ``key`` (ECDSA PEM), ``certificate`` (key + code-signing leaf + CA chain, with
a signer identity we check ourselves) and ``sigstore`` (keyless; verified offline against an
explicit trust config). Signing (:mod:`.sign`) and verification (:mod:`.verify`) are separate
modules sharing only the hashing and bundle contract (private ``_contract`` / ``_bundle``).
Verification returns the verified model digest or raises
:class:`~kfp_mlsecops.errors.VerificationError`.
"""

from __future__ import annotations

from kfp_mlsecops.signing._contract import model_digest
from kfp_mlsecops.signing.keys import generate_key_pair
from kfp_mlsecops.signing.sign import SigningConfig, sign_model
from kfp_mlsecops.signing.verify import VerificationConfig, resolve_verification, verify_model

__all__ = [
    "SigningConfig",
    "VerificationConfig",
    "generate_key_pair",
    "model_digest",
    "resolve_verification",
    "sign_model",
    "verify_model",
]
