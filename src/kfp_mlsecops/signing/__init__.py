"""Sign and verify model directories with OpenSSF model-signing (OMS bundles, key method).

Signing and verification are separate modules (:mod:`.sign`, :mod:`.verify`) that share only the
hashing and bundle contract (private ``_contract`` / ``_bundle``). Verification returns the
verified model digest or raises :class:`~kfp_mlsecops.errors.VerificationError`.
"""

from __future__ import annotations

from kfp_mlsecops.signing._contract import model_digest
from kfp_mlsecops.signing.keys import generate_key_pair
from kfp_mlsecops.signing.sign import sign_model
from kfp_mlsecops.signing.verify import verify_model

__all__ = ["generate_key_pair", "model_digest", "sign_model", "verify_model"]
