"""The ``key`` method: an ECDSA key pair (PEM), no identity; the public key is the whole policy.

Models are signed by model-signing's elliptic-key signer (imported only when signing or
verifying: compiling a pipeline reads this module's wiring and stays fast); Statements
(attestation, approval) as a bare DSSE envelope signed by ``securesystemslib``'s
``CryptoSigner`` (SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521, as model-signing),
verified with the public key PEM that verifies the model signature, whose keyid the envelope
must carry. Backends hold paths only (never key bytes or passwords), so their ``repr`` is safe
to log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError, SigningError
from kfp_mlsecops.signing._bundle import MATERIAL_PUBLIC_KEY
from kfp_mlsecops.signing._contract import PathArg, as_path, one_line
from kfp_mlsecops.signing._dsse import (
    envelope_from_dict,
    envelope_json,
    is_envelope,
    load_document,
    require_method,
)
from kfp_mlsecops.signing.keys import SUPPORTED_CURVES, load_signing_key, read_password
from kfp_mlsecops.signing.method import ClusterWiring, Fail, SigningMethod

if TYPE_CHECKING:
    from model_signing import signing as ms_signing
    from model_signing import verifying as ms_verifying


@dataclass(frozen=True)
class KeySigner:
    """Sign with an ECDSA private key (optionally encrypted, password read from a file)."""

    private_key_path: Path
    password_path: Path | None = None

    @classmethod
    def create(
        cls, *, private_key_path: PathArg, password_path: PathArg | None = None
    ) -> KeySigner:
        """Return the signer for these paths (InvalidInputError when one is not a path)."""
        return cls(
            as_path(private_key_path, "private_key_path"),
            None if password_path is None else as_path(password_path, "password_path"),
        )

    def prepare(self) -> tuple[ms_signing.Config, str]:
        """Check the key and return (model-signing config, description)."""
        from model_signing import signing as ms_signing

        password = read_password(self.password_path)
        load_signing_key(self.private_key_path, password)
        what = f"private key '{self.private_key_path}'"
        try:
            # model-signing types the password as str but hands it to cryptography (bytes).
            config = ms_signing.Config().use_elliptic_key_signer(
                private_key=self.private_key_path, password=cast(Any, password)
            )
        except Exception as e:
            raise SigningError(f"{what} cannot be used by model-signing ({one_line(e)})") from e
        return config, what

    def public_key_pem(self) -> bytes:
        """Return the PEM public key of the private key (SigningError for an unusable key)."""
        key = load_signing_key(self.private_key_path, read_password(self.password_path))
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def envelope_signer(self) -> KeyEnvelopeSigner:
        """Return the Statement signer using this key."""
        return KeyEnvelopeSigner(self.private_key_path, self.password_path)


@dataclass(frozen=True)
class KeyPolicy:
    """Trust one ECDSA public key."""

    public_key_path: Path

    @classmethod
    def create(cls, *, public_key_path: PathArg) -> KeyPolicy:
        """Return the policy trusting this public key file."""
        return cls(as_path(public_key_path, "public_key_path"))

    @property
    def what(self) -> str:
        """How the trusted material is named in messages."""
        return f"public key '{self.public_key_path}'"

    def check_inputs(self, fail: Fail) -> None:
        """Refuse a missing, unreadable or non-ECDSA public key file."""
        try:
            _load_public_key(self.public_key_path)
        except ValueError as e:
            raise fail(str(e)) from e

    def check_material(self, kind: str, fail: Fail) -> None:
        """Refuse a bundle made with a certificate (it belongs to another method)."""
        if kind != MATERIAL_PUBLIC_KEY:
            raise fail(
                f"was made with a certificate ({kind}), not a key; verify it with the "
                "certificate or sigstore method"
            )

    def config(self) -> ms_verifying.Config:
        """Return model-signing's verifier for this key."""
        from model_signing import verifying as ms_verifying

        return ms_verifying.Config().use_elliptic_key_verifier(public_key=self.public_key_path)

    def check_verified(self, bundle: dict[str, Any], fail: Fail) -> None:
        """Nothing to add: the key is the whole policy."""

    def public_key_pem(self) -> bytes | None:
        """Return the trusted key file's bytes; None when it cannot be read.

        Verification itself reports an unreadable key; this serves separation-of-duties checks.
        """
        try:
            return self.public_key_path.read_bytes()
        except OSError:
            return None

    def envelope_verifier(self) -> KeyEnvelopeVerifier:
        """Return the Statement verifier trusting this key."""
        return KeyEnvelopeVerifier(self.public_key_path)


@dataclass(frozen=True)
class KeyEnvelopeSigner:
    """Sign Statements as a bare DSSE envelope with the ECDSA private key."""

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
    """Verify a DSSE envelope with the ECDSA public key PEM that verifies the model signature."""

    public_key_path: Path

    def describe(self) -> str:
        """Return the key path for messages."""
        return f"public key '{self.public_key_path}'"

    def verify(self, document: bytes) -> bytes:
        """Check the one signature against the public key; return the payload it covers."""
        public_key = _load_public_key(self.public_key_path, unreadable="is unreadable")
        key = SSlibKey.from_crypto(public_key)
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


def _load_public_key(path: Path, *, unreadable: str = "") -> ec.EllipticCurvePublicKey:
    """Return the ECDSA public key at ``path``; ValueError("cannot be checked: ...") otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ValueError(f"cannot be checked: public key '{path}' does not exist") from e
    except OSError as e:
        reason = unreadable or f"cannot be read ({e.strerror})"
        raise ValueError(f"cannot be checked: public key '{path}' {reason}") from e
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise ValueError(f"cannot be checked: '{path}' is not a PEM public key") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in SUPPORTED_CURVES:
        raise ValueError(
            f"cannot be checked: public key '{path}' is not ECDSA on {', '.join(SUPPORTED_CURVES)}"
        )
    return key


def _signer_from(options: Mapping[str, Any]) -> KeySigner:
    if options["private_key_path"] is None:
        raise InvalidInputError("signing method 'key' needs private_key_path; pass it")
    return KeySigner.create(
        private_key_path=options["private_key_path"], password_path=options["password_path"]
    )


def _policy_from(options: Mapping[str, Any]) -> KeyPolicy:
    if options["public_key_path"] is None:
        raise InvalidInputError("verification method 'key' needs public_key_path")
    return KeyPolicy.create(public_key_path=options["public_key_path"])


METHOD = SigningMethod(
    name=C.SIGNING_METHOD_KEY,
    description="ECDSA key pair",
    signer_type=KeySigner,
    policy_type=KeyPolicy,
    signing_options=("private_key_path", "password_path"),
    verification_options=("public_key_path",),
    signer_from=_signer_from,
    policy_from=_policy_from,
    recognizes=is_envelope,
    wiring=ClusterWiring(
        signing_secret="mlsecops-signing-key",  # noqa: S106 - a Secret name, not a secret
        verify_configmap="mlsecops-verify-key",
        signing_files={"private_key_path": C.SIGNING_KEY_FILE},
        verify_files={"public_key_path": C.VERIFY_KEY_FILE},
        predictor_volume="verify-key",
    ),
)
