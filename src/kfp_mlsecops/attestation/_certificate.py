"""The ``certificate`` method: DSSE signed with the key, leaf + chain in a Sigstore bundle.

Signing runs the model signer's own checks first (``CertificateSigner.prepare``: leaf valid now,
codeSigning, matches the key, issued by a chain certificate), so the attestation is signed with
exactly the material the model is. Verification, in order: the leaf chains to the trusted CA
certificates (OpenSSL path validation via pyOpenSSL, as model-signing does, at the leaf's
``notBefore``), the leaf and that path are valid now (no trusted signing time exists), the leaf
allows codeSigning and names the expected identity (``kfp_mlsecops.signing._x509``'s rules,
shared with model verification), and then the DSSE PAE signature verifies with the leaf's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import crypto
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation._bundle import certificate_bundle_json, read_certificate_bundle
from kfp_mlsecops.attestation._document import load_document, require_method
from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing import _x509
from kfp_mlsecops.signing._signers import CertificateSigner
from kfp_mlsecops.signing._verifiers import CertificatePolicy
from kfp_mlsecops.signing.keys import SUPPORTED_CURVES, load_signing_key


@dataclass(frozen=True)
class CertificateEnvelopeSigner:
    """Sign with the model's certificate-method material (key, leaf, chain)."""

    signer: CertificateSigner

    def describe(self) -> str:
        """Return the certificate path for messages."""
        return f"certificate '{self.signer.certificate_path}'"

    def sign(self, payload: bytes) -> bytes:
        """Check key, leaf and chain as model signing does, sign the PAE, return the bundle."""
        self.signer.prepare()  # SigningError naming the key, leaf or chain at fault
        key = load_signing_key(self.signer.private_key_path, None)
        (leaf,) = _x509.load_pem_certificates(self.signer.certificate_path)
        chain = [c for path in self.signer.chain_paths for c in _x509.load_pem_certificates(path)]
        envelope = Envelope(payload, C.IN_TOTO_PAYLOAD_TYPE, {})
        envelope.sign(CryptoSigner(key))
        return certificate_bundle_json(envelope, [leaf, *chain])


@dataclass(frozen=True)
class CertificateEnvelopeVerifier:
    """Trust leaves chaining to the CA certificates of ``policy`` and naming its identity."""

    policy: CertificatePolicy

    def describe(self) -> str:
        """Return the trusted chain and identity for messages."""
        return f"{self.policy.what} and identity {self.policy.identity!r}"

    def verify(self, document: bytes) -> bytes:
        """Check the bundle's leaf, then its signature; return the payload it covers."""
        try:
            self.policy.check_inputs(VerificationError)
        except VerificationError as e:
            raise ValueError(str(e)) from e
        parsed = load_document(document)
        require_method(parsed, C.SIGNING_METHOD_CERTIFICATE)
        envelope, der = read_certificate_bundle(parsed)
        try:
            leaf, *untrusted = [x509.load_der_x509_certificate(item) for item in der]
        except ValueError as e:
            raise ValueError("carries a certificate that is not DER X.509") from e
        self._check_leaf(leaf, untrusted)
        return _verify_signature(envelope, leaf)

    def _check_leaf(self, leaf: x509.Certificate, untrusted: list[x509.Certificate]) -> None:
        path = _verified_path(leaf, untrusted, self._trusted(), self.policy.what)
        at = _x509.now()
        problem = _x509.validity_problem(leaf, at)
        if problem:
            raise ValueError(
                f"is signed by a certificate that {problem} (checked at verification time)"
            )
        problem = _x509.chain_validity_problem(path[1:], at)
        if problem:
            raise ValueError(f"is signed under a chain whose {problem}")
        problem = _x509.signing_usage_problem(leaf)
        if problem:
            raise ValueError(f"is signed by a certificate that {problem}")
        problem = _x509.identity_problem(leaf, self.policy.identity)
        if problem:
            raise ValueError(problem)

    def _trusted(self) -> list[x509.Certificate]:
        return [c for path in self.policy.chain_paths for c in _x509.load_pem_certificates(path)]


def _verified_path(
    leaf: x509.Certificate,
    untrusted: list[x509.Certificate],
    trusted: list[x509.Certificate],
    what: str,
) -> list[x509.Certificate]:
    """Return the validated path leaf -> trust anchor (ValueError when there is none)."""
    store = crypto.X509Store()
    for certificate in trusted:
        store.add_cert(crypto.X509.from_cryptography(certificate))
    store.set_time(leaf.not_valid_before_utc)  # the chain as issued; "now" is checked after
    context = crypto.X509StoreContext(
        store,
        crypto.X509.from_cryptography(leaf),
        [crypto.X509.from_cryptography(c) for c in untrusted],
    )
    try:
        path = context.get_verified_chain()
    except crypto.X509StoreContextError as e:
        raise ValueError(
            f"is signed by a certificate that does not chain to the trusted {what} "
            f"({' '.join(str(e).split())[:120]})"
        ) from e
    return [item.to_cryptography() for item in path]


def _verify_signature(envelope: Envelope, leaf: x509.Certificate) -> bytes:
    """Verify the one DSSE signature with the leaf's public key; return the payload."""
    public_key = leaf.public_key()
    if (
        not isinstance(public_key, ec.EllipticCurvePublicKey)
        or public_key.curve.name not in SUPPORTED_CURVES
    ):
        raise ValueError(
            f"is signed by a certificate whose key is not ECDSA on {', '.join(SUPPORTED_CURVES)}"
        )
    key = SSlibKey.from_crypto(public_key)
    (signature,) = envelope.signatures.values()
    try:  # the keyid is unsigned and empty here: the verified leaf names the key
        key.verify_signature(Signature(key.keyid, signature.signature), envelope.pae())
    except (UnverifiedSignatureError, SslibVerificationError) as e:
        raise ValueError(
            "has an invalid signature for its leaf certificate (payload or signature edited, or "
            "signed by another key)"
        ) from e
    return envelope.payload
