"""One DSSE signing backend per method; ``key`` is implemented, the others plug in the same way.

A signer turns the Statement bytes into the attestation document (bytes written to disk); a
verifier turns a document back into the payload bytes its signature covers, or raises. Backends
hold paths only (never key bytes or passwords), so their ``repr`` is safe to log.

- ``key``: a plain DSSE envelope (JSON) signed by ``securesystemslib``'s ``CryptoSigner`` over
  the DSSE PAE with the model's ECDSA key (SHA-256 for P-256, SHA-384 for P-384, as
  model-signing); verified with the public key PEM.
- ``certificate`` (to add): same envelope signed with the key; the document becomes a Sigstore
  bundle (``x509CertificateChain`` verification material) and verification checks the chain and
  identity with ``kfp_mlsecops.signing``'s X.509 rules before checking the DSSE signature with
  the leaf's key (``SSlibKey.from_crypto(leaf.public_key())``).
- ``sigstore`` (to add): ``sigstore.sign`` signs ``sigstore.dsse.Statement(payload)`` into a
  bundle; ``sigstore.verify.Verifier.verify_dsse`` (offline trust config, identity, issuer)
  returns the payload. ``parse_statement`` is shared by all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation._dsse import envelope_json, read_envelope
from kfp_mlsecops.signing.keys import SUPPORTED_CURVES, load_signing_key, read_password


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


@dataclass(frozen=True)
class KeyEnvelopeSigner:
    """Sign with the model's ECDSA private key (password, if any, read from a file)."""

    private_key_path: Path
    password_path: Path | None = None

    def describe(self) -> str:
        """Return the key path for messages."""
        return f"private key '{self.private_key_path}'"

    def sign(self, payload: bytes) -> bytes:
        """Sign the DSSE PAE of ``payload`` and return the envelope JSON."""
        key = load_signing_key(self.private_key_path, read_password(self.password_path))
        envelope = Envelope(payload, C.IN_TOTO_PAYLOAD_TYPE, {})
        envelope.sign(CryptoSigner(key))
        return envelope_json(envelope).encode("utf-8")


@dataclass(frozen=True)
class KeyEnvelopeVerifier:
    """Verify with the ECDSA public key PEM that verifies the model signature."""

    public_key_path: Path

    def describe(self) -> str:
        """Return the key path for messages."""
        return f"public key '{self.public_key_path}'"

    def verify(self, document: bytes) -> bytes:
        """Check the one signature against the public key; return the payload it covers."""
        key = SSlibKey.from_crypto(self._public_key())
        envelope = read_envelope(document)
        (signature,) = envelope.signatures.values()
        if signature.keyid != key.keyid:
            raise ValueError(
                f"was signed by another key (keyid {signature.keyid[:16]}..., expected "
                f"{key.keyid[:16]}... for {self.describe()})"
            )
        try:
            envelope.verify([key], 1)
        except SslibVerificationError as e:
            raise ValueError(
                f"has an invalid signature for {self.describe()} (payload or signature edited)"
            ) from e
        return envelope.payload

    def _public_key(self) -> ec.EllipticCurvePublicKey:
        path = self.public_key_path
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise ValueError(f"cannot be checked: public key '{path}' does not exist") from e
        except OSError as e:
            raise ValueError(f"cannot be checked: public key '{path}' is unreadable") from e
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as e:
            raise ValueError(f"cannot be checked: '{path}' is not a PEM public key") from e
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in SUPPORTED_CURVES:
            raise ValueError(
                f"cannot be checked: public key '{path}' is not ECDSA on "
                f"{', '.join(SUPPORTED_CURVES)}"
            )
        return key
