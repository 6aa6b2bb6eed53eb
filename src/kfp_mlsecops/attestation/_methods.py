"""One DSSE signing backend per method, picked from the same config that signs the model.

A signer turns the Statement bytes into the attestation document (bytes written to disk); a
verifier turns a document back into the payload bytes its signature covers, or raises
ValueError with a short reason. Backends hold paths and policies only (never key bytes,
passwords or tokens), so their ``repr`` is safe to log. ``parse_statement`` reads the payload
afterwards, the same way for all three methods.

- ``key`` (:mod:`._key`): a bare DSSE envelope (JSON) signed by ``securesystemslib``'s
  ``CryptoSigner`` with the model's ECDSA key; verified with the public key PEM.
- ``certificate`` (:mod:`._certificate`, :mod:`._bundle`): the same envelope signed with the
  key, in a Sigstore bundle v0.3 whose ``x509CertificateChain`` holds the leaf and chain (as
  model-signing's certificate bundles); verified by checking the leaf against the trusted CA
  certificates and identity with ``kfp_mlsecops.signing``'s X.509 rules, then the DSSE
  signature with the leaf's key.
- ``sigstore`` (:mod:`._sigstore`): ``sigstore.sign`` signs the Statement keyless into a bundle
  (network; not run here); ``Verifier.verify_dsse`` checks it offline against the trust
  config, identity and issuer and returns the payload.

:func:`signer_for` and :func:`verifier_for` map a ``kfp_mlsecops.signing`` ``SigningConfig`` /
``VerificationConfig`` to these backends, reading the config's signer and policy fields.
"""

from __future__ import annotations

from typing import Protocol, Union

from kfp_mlsecops.attestation._certificate import (
    CertificateEnvelopeSigner,
    CertificateEnvelopeVerifier,
)
from kfp_mlsecops.attestation._key import KeyEnvelopeSigner, KeyEnvelopeVerifier
from kfp_mlsecops.attestation._sigstore import SigstoreEnvelopeSigner, SigstoreEnvelopeVerifier
from kfp_mlsecops.errors import SigningError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig
from kfp_mlsecops.signing._signers import CertificateSigner, KeySigner, SigstoreSigner
from kfp_mlsecops.signing._verifiers import CertificatePolicy, KeyPolicy, SigstorePolicy


class EnvelopeSigner(Protocol):
    """Signs Statement bytes into an attestation document."""

    def describe(self) -> str:
        """Return a short description of the signer for messages (no secrets)."""

    def sign(self, payload: bytes) -> bytes:
        """Return the attestation document for ``payload``; SigningError on key problems."""


class EnvelopeVerifier(Protocol):
    """Checks an attestation document and returns the payload its signature covers."""

    def describe(self) -> str:
        """Return a short description of the verifier for messages."""

    def verify(self, document: bytes) -> bytes:
        """Return the verified payload bytes; ValueError with a short reason otherwise."""


#: Any signing backend.
AnyEnvelopeSigner = Union[KeyEnvelopeSigner, CertificateEnvelopeSigner, SigstoreEnvelopeSigner]
#: Any verification backend.
AnyEnvelopeVerifier = Union[
    KeyEnvelopeVerifier, CertificateEnvelopeVerifier, SigstoreEnvelopeVerifier
]


def signer_for(config: SigningConfig) -> AnyEnvelopeSigner:
    """Return the backend signing with the method and material of ``config`` (SigningError)."""
    signer = config.signer
    if isinstance(signer, KeySigner):
        return KeyEnvelopeSigner(signer.private_key_path, signer.password_path)
    if isinstance(signer, CertificateSigner):
        return CertificateEnvelopeSigner(signer)
    if isinstance(signer, SigstoreSigner):
        return SigstoreEnvelopeSigner(signer)
    raise SigningError(
        "the signing config has no method; call use_key, use_certificate or use_sigstore"
    )


def verifier_for(config: VerificationConfig) -> AnyEnvelopeVerifier:
    """Return the backend trusting what ``config`` trusts for the model (ValueError: nothing)."""
    policy = config.policy
    if isinstance(policy, KeyPolicy):
        return KeyEnvelopeVerifier(policy.public_key_path)
    if isinstance(policy, CertificatePolicy):
        return CertificateEnvelopeVerifier(policy)
    if isinstance(policy, SigstorePolicy):
        return SigstoreEnvelopeVerifier(policy)
    raise ValueError("cannot be checked: no trust policy configured (call use_key, ...)")
