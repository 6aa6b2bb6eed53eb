"""Sign and verify model directories with OpenSSF model-signing (OMS bundles), by method.

A signing method (``key``: ECDSA PEM; ``certificate``: key + code-signing leaf + CA chain, with a
signer identity we check ourselves; ``sigstore``: keyless, verified offline against an explicit
trust config) is ONE private module holding its signer, verifier, flat options, Statement
(attestation, approval) signer and verifier, and cluster wiring, as one
:class:`~.method.SigningMethod`; :mod:`.registry` maps names to methods and everything per method
(``from_method``, CLI choices and misplaced-option checks, pipeline mounts and defaults, the
verified predictor's ConfigMap and ``mlsecops serve`` options) is derived from it.

To add a method: write ``_<name>.py`` with its own signer and policy classes and
``METHOD = SigningMethod(...)`` (``_key.py`` is the smallest example), then add one
``name: module`` line to ``registry._METHODS``. A method needing a flat option outside
:data:`~.method.SIGNING_OPTIONS` / :data:`~.method.VERIFICATION_OPTIONS` also needs that
parameter on ``from_method`` and on the components and pipeline that pass it.

Signing (:mod:`.sign`) and verification (:mod:`.verify`) are separate modules; they share the
hashing and bundle contract (private ``_contract`` / ``_bundle``) and the method modules, each
holding both sides of one method. Verification returns the
verified model digest or raises :class:`~kfp_mlsecops.errors.VerificationError`. The names below
are imported on first use, so :mod:`.registry` and :mod:`.method` load no crypto library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kfp_mlsecops.signing._contract import model_digest, saved_model_digest
    from kfp_mlsecops.signing.keys import generate_key_pair
    from kfp_mlsecops.signing.sign import SigningConfig, sign_model
    from kfp_mlsecops.signing.verify import VerificationConfig, resolve_verification, verify_model

__all__ = [
    "SigningConfig",
    "VerificationConfig",
    "generate_key_pair",
    "model_digest",
    "resolve_verification",
    "saved_model_digest",
    "sign_model",
    "verify_model",
]

_HOME = {
    "SigningConfig": "sign",
    "VerificationConfig": "verify",
    "generate_key_pair": "keys",
    "model_digest": "_contract",
    "resolve_verification": "verify",
    "saved_model_digest": "_contract",
    "sign_model": "sign",
    "verify_model": "verify",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value
