"""The ``certificate`` method: a key plus its code-signing leaf certificate and CA chain (PKI).

Signing checks the key, leaf and chain first (leaf valid now, codeSigning, matches the key,
issued by a chain certificate), then model-signing signs the model; Statements (attestation,
approval) are a DSSE envelope signed with the key inside a Sigstore bundle carrying the leaf and
chain (:func:`~._dsse.certificate_bundle_json`, model-signing's shape, no log entry).

Verification trusts CA certificates and only a leaf that names the expected identity and is valid
now. model-signing checks the chain at the leaf's own notBefore time and no identity; we add the
identity, code-signing and validity checks (``_x509``'s rules, the same for models and
Statements). These bundles carry no trusted signing time, so "now" is the only time we can trust:
a model must be re-signed before its certificate expires. For Statements the leaf's path to the
trusted CAs is validated with pyOpenSSL (as model-signing does), then the DSSE signature with the
leaf's key. model-signing and pyOpenSSL are imported only when signing or verifying.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.exceptions import VerificationError as SslibVerificationError
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError, SigningError, VerificationError
from kfp_mlsecops.signing import _x509
from kfp_mlsecops.signing._bundle import (
    MATERIAL_CERTIFICATE_CHAIN,
    MATERIAL_PUBLIC_KEY,
    chain_certificates_der,
)
from kfp_mlsecops.signing._contract import PathArg, as_path, as_text, one_line
from kfp_mlsecops.signing._dsse import (
    bundle_material,
    certificate_bundle_json,
    load_document,
    read_certificate_bundle,
    require_method,
)
from kfp_mlsecops.signing.keys import SUPPORTED_CURVES, load_signing_key
from kfp_mlsecops.signing.method import ClusterWiring, Fail, SigningMethod

if TYPE_CHECKING:
    from model_signing import signing as ms_signing
    from model_signing import verifying as ms_verifying


@dataclass(frozen=True)
class CertificateSigner:
    """Sign with a private key whose leaf certificate chains to a CA (PKI certificate method)."""

    private_key_path: Path
    certificate_path: Path
    chain_paths: tuple[Path, ...]

    @classmethod
    def create(
        cls, *, private_key_path: PathArg, certificate_path: PathArg, chain_paths: Sequence[PathArg]
    ) -> CertificateSigner:
        """Return the signer for these paths; ``chain_paths`` must name at least one CA."""
        if isinstance(chain_paths, (str, bytes)) or not isinstance(chain_paths, Sequence):
            raise InvalidInputError(
                f"chain_paths must be a list of paths, got {type(chain_paths).__name__}"
            )
        chain = tuple(as_path(p, "chain_paths") for p in chain_paths)
        if not chain:
            raise InvalidInputError("chain_paths is empty; pass the issuing CA certificate(s)")
        return cls(
            as_path(private_key_path, "private_key_path"),
            as_path(certificate_path, "certificate_path"),
            chain,
        )

    def prepare(self) -> tuple[ms_signing.Config, str]:
        """Check key, leaf and chain (validity now, usage, key match) and return the config."""
        from model_signing import signing as ms_signing

        key = load_signing_key(
            self.private_key_path,
            None,
            encrypted_advice="the certificate method needs an unencrypted key (model-signing "
            "1.1.1 takes no password for it); store it decrypted in a Secret",
        )
        leaf = self._leaf()
        chain = [cert for path in self.chain_paths for cert in _read_certificates(path, "chain")]
        where = f"certificate '{self.certificate_path}'"
        at = _x509.now()
        problem = _x509.validity_problem(leaf, at)
        if problem:
            raise SigningError(f"{where} {problem}; sign with a currently valid certificate")
        problem = _x509.chain_validity_problem(chain, at)
        if problem:
            raise SigningError(f"certificate chain: {problem}; renew the chain")
        problem = _x509.signing_usage_problem(leaf)
        if problem:
            raise SigningError(f"{where} {problem}; use a code-signing certificate")
        leaf_key = leaf.public_key()
        if (
            not isinstance(leaf_key, ec.EllipticCurvePublicKey)
            or leaf_key.public_numbers() != key.public_key().public_numbers()
        ):
            raise SigningError(
                f"{where} does not belong to private key '{self.private_key_path}'; pass the "
                "certificate issued for that key"
            )
        if not any(_issued_by(leaf, ca) for ca in chain):
            raise SigningError(
                f"{where}: its issuer {leaf.issuer.rfc4514_string()!r} is not in the chain "
                f"({', '.join(str(p) for p in self.chain_paths)}); pass the issuing CA"
            )
        what = f"certificate '{self.certificate_path}'"
        try:
            config = ms_signing.Config().use_certificate_signer(
                private_key=self.private_key_path,
                signing_certificate=self.certificate_path,
                certificate_chain=list(self.chain_paths),
            )
        except Exception as e:
            raise SigningError(f"{what} cannot be used by model-signing ({one_line(e)})") from e
        return config, what

    def public_key_pem(self) -> None:
        """Return None: the certificate's key is not what verifiers trust."""
        return None

    def envelope_signer(self) -> CertificateEnvelopeSigner:
        """Return the Statement signer using this key, leaf and chain."""
        return CertificateEnvelopeSigner(self)

    def _leaf(self) -> x509.Certificate:
        certificates = _read_certificates(self.certificate_path, "certificate")
        if len(certificates) != 1:
            raise SigningError(
                f"certificate '{self.certificate_path}' holds {len(certificates)} certificates; "
                "pass the leaf alone and the CA certificates as the chain"
            )
        return certificates[0]


@dataclass(frozen=True)
class CertificatePolicy:
    """Trust CA certificates, and only a leaf that names ``identity`` and is valid now."""

    chain_paths: tuple[Path, ...]
    identity: str

    @classmethod
    def create(cls, *, chain_paths: Sequence[PathArg], identity: str) -> CertificatePolicy:
        """Return the policy; ``chain_paths`` must name at least one CA, ``identity`` be set."""
        if isinstance(chain_paths, (str, bytes)) or not isinstance(chain_paths, Sequence):
            raise InvalidInputError("chain_paths must be a list of CA certificate paths")
        chain = tuple(as_path(p, "chain_paths") for p in chain_paths)
        if not chain:
            raise InvalidInputError("chain_paths is empty; pass the trusted CA certificate(s)")
        return cls(chain, as_text(identity, "identity"))

    @property
    def what(self) -> str:
        """How the trusted material is named in messages."""
        return f"certificate chain {', '.join(repr(str(p)) for p in self.chain_paths)}"

    def check_inputs(self, fail: Fail) -> None:
        """Refuse an empty chain (model-signing would fall back to the OS roots) or identity."""
        if not self.chain_paths:
            raise fail("cannot be checked: no CA certificate given (pass the chain)")
        if not self.identity.strip():
            raise fail("cannot be checked: no expected signer identity given")
        for path in self.chain_paths:
            try:
                _x509.load_pem_certificates(path)
            except FileNotFoundError as e:
                raise fail(f"cannot be checked: chain file '{path}' does not exist") from e
            except OSError as e:
                raise fail(f"cannot be checked: chain file '{path}' cannot be read") from e
            except ValueError as e:
                raise fail(f"cannot be checked: chain file '{path}' {e}") from e

    def check_material(self, kind: str, fail: Fail) -> None:
        """Require a certificate chain in the bundle."""
        if kind != MATERIAL_CERTIFICATE_CHAIN:
            raise fail(
                f"carries {kind}, not a certificate chain; verify it with the "
                f"{'key' if kind == MATERIAL_PUBLIC_KEY else 'sigstore'} method"
            )

    def config(self) -> ms_verifying.Config:
        """Return model-signing's certificate verifier for the trusted chain."""
        from model_signing import verifying as ms_verifying

        return ms_verifying.Config().use_certificate_verifier(
            certificate_chain=list(self.chain_paths)
        )

    def check_verified(self, bundle: dict[str, Any], fail: Fail) -> None:
        """Check the verified leaf: identity, code-signing usage, validity now."""
        try:
            leaf = x509.load_der_x509_certificate(chain_certificates_der(bundle)[0])
        except ValueError as e:
            raise fail(f"verified but its leaf certificate is unreadable ({one_line(e)})") from e
        problem = _x509.identity_problem(leaf, self.identity)
        if problem:
            raise fail(problem)
        problem = _x509.signing_usage_problem(leaf)
        if problem:
            raise fail(f"is signed by a certificate that {problem}")
        problem = _x509.validity_problem(leaf, _x509.now())
        if problem:
            raise fail(f"is signed by a certificate that {problem} (checked at verification time)")

    def public_key_pem(self) -> None:
        """Return None: a CA chain trusts no single key."""
        return None

    def envelope_verifier(self) -> CertificateEnvelopeVerifier:
        """Return the Statement verifier trusting these CAs and identity."""
        return CertificateEnvelopeVerifier(self)


@dataclass(frozen=True)
class CertificateEnvelopeSigner:
    """Sign Statements with the model's certificate-method material (key, leaf, chain)."""

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


def _read_certificates(path: Path, what: str) -> list[x509.Certificate]:
    try:
        return _x509.load_pem_certificates(path)
    except FileNotFoundError as e:
        raise SigningError(f"{what} file '{path}' does not exist; mount the certificate") from e
    except OSError as e:
        raise SigningError(f"{what} file '{path}' cannot be read ({e.strerror})") from e
    except ValueError as e:
        raise SigningError(f"{what} file '{path}' {e}; pass PEM certificates") from e


def _issued_by(leaf: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _verified_path(
    leaf: x509.Certificate,
    untrusted: list[x509.Certificate],
    trusted: list[x509.Certificate],
    what: str,
) -> list[x509.Certificate]:
    """Return the validated path leaf -> trust anchor (ValueError when there is none)."""
    from OpenSSL import crypto

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


def _recognizes(document: Mapping[str, Any]) -> bool:
    material = bundle_material(document)
    return (
        material is not None
        and not material.get("tlogEntries")
        and ("x509CertificateChain" in material or "certificate" in material)
    )


def _signer_from(options: Mapping[str, Any]) -> CertificateSigner:
    key, certificate, chain = (
        options["private_key_path"],
        options["certificate_path"],
        options["chain_paths"],
    )
    if key is None or certificate is None or not chain:
        raise InvalidInputError(
            "signing method 'certificate' needs private_key_path, certificate_path and "
            "chain_paths; pass all three"
        )
    return CertificateSigner.create(
        private_key_path=key, certificate_path=certificate, chain_paths=chain
    )


def _policy_from(options: Mapping[str, Any]) -> CertificatePolicy:
    if not options["chain_paths"] or options["identity"] is None:
        raise InvalidInputError("verification method 'certificate' needs chain_paths and identity")
    return CertificatePolicy.create(
        chain_paths=options["chain_paths"], identity=options["identity"]
    )


METHOD = SigningMethod(
    name=C.SIGNING_METHOD_CERTIFICATE,
    description="PKI code-signing certificate, checked against a CA chain and an identity",
    signer_type=CertificateSigner,
    policy_type=CertificatePolicy,
    signing_options=("private_key_path", "certificate_path", "chain_paths"),
    verification_options=("chain_paths", "identity"),
    signer_from=_signer_from,
    policy_from=_policy_from,
    recognizes=_recognizes,
    wiring=ClusterWiring(
        signing_secret="mlsecops-signing-certificate",  # noqa: S106 - a Secret name
        verify_configmap="mlsecops-verify-chain",
        signing_files={
            "private_key_path": C.SIGNING_KEY_FILE,
            "certificate_path": C.SIGNING_CERTIFICATE_FILE,
            "chain_paths": (C.SIGNING_CHAIN_FILE,),
        },
        verify_files={"chain_paths": (C.VERIFY_CHAIN_FILE,)},
        predictor_volume="verify-chain",
    ),
    identity_example="CN=model-signer,O=Example",
)
