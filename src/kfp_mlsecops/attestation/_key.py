"""The ``key`` method: a bare DSSE envelope signed with the model's ECDSA key.

``securesystemslib``'s ``CryptoSigner`` signs the DSSE PAE (SHA-256 for P-256, SHA-384 for
P-384, SHA-512 for P-521, as model-signing); verification uses the public key PEM that verifies
the model signature, and requires the envelope's keyid to be that key's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation._document import load_document, require_method
from kfp_mlsecops.attestation._dsse import envelope_from_dict, envelope_json
from kfp_mlsecops.signing.keys import SUPPORTED_CURVES, load_signing_key, read_password


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
        parsed = load_document(document)
        require_method(parsed, C.SIGNING_METHOD_KEY)
        envelope = envelope_from_dict(parsed)
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
