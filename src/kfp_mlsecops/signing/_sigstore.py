"""The ``sigstore`` method: keyless signing with an OIDC identity, verified offline.

Signing (model-signing's Sigstore signer for models, ``sigstore.sign`` for Statements: Fulcio
certificate, Rekor entry) needs the Sigstore instance over the network, so it is NOT run in this
project's tests; the path is kept thin. The identity token comes from a file or ambient
credentials and is checked offline first (well-formed JWT, audience ``sigstore``, not expired),
so a bad token fails before any network call; no interactive OAuth flow is ever started.

Verification trusts one identity from one OIDC issuer under an explicit trust config, offline:
model-signing's Sigstore verifier for models; for Statements a ``Verifier`` built from the trust
config, ``verify_dsse`` with ``Identity(identity, issuer)`` (certificate chain, SCT, log entry,
signing time, identity, DSSE signature), then the payload type. sigstore-python and model-signing
are imported only when signing or verifying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError, SigningError, VerificationError
from kfp_mlsecops.signing._bundle import MATERIAL_PUBLIC_KEY
from kfp_mlsecops.signing._contract import (
    PathArg,
    as_path,
    as_text,
    check_trust_config,
    one_line,
)
from kfp_mlsecops.signing._dsse import bundle_material, load_document, require_method
from kfp_mlsecops.signing.method import ClusterWiring, Fail, SigningMethod

if TYPE_CHECKING:
    from model_signing import signing as ms_signing
    from model_signing import verifying as ms_verifying
    from sigstore.models import ClientTrustConfig


@dataclass(frozen=True)
class SigstoreSigner:
    """Keyless Sigstore signing with an OIDC identity token (from a file, or ambient)."""

    identity_token_path: Path | None = None
    use_ambient_credentials: bool = False
    trust_config_path: Path | None = None

    @classmethod
    def create(
        cls,
        *,
        identity_token_path: PathArg | None = None,
        use_ambient_credentials: bool = False,
        trust_config_path: PathArg | None = None,
    ) -> SigstoreSigner:
        """Return the signer; exactly one token source is required when signing, not here."""
        return cls(
            None
            if identity_token_path is None
            else as_path(identity_token_path, "identity_token_path"),
            use_ambient_credentials is True,
            None if trust_config_path is None else as_path(trust_config_path, "trust_config_path"),
        )

    def prepare(self) -> tuple[ms_signing.Config, str]:
        """Read and pre-check the identity token, then build the Sigstore signer (network)."""
        token, source = self._token()
        from model_signing import signing as ms_signing
        from sigstore.oidc import IdentityError, IdentityToken

        try:
            identity = IdentityToken(token).identity
        except IdentityError as e:
            cause = f": {one_line(e.__cause__, 80)}" if e.__cause__ else ""
            raise SigningError(
                f"identity token from {source} is unusable ({one_line(e)}{cause}); it must be a "
                "current OIDC token with audience 'sigstore'"
            ) from e
        if self.trust_config_path is not None:
            check_trust_config(self.trust_config_path, error=SigningError)
        what = f"Sigstore identity '{identity}'"
        try:
            config = ms_signing.Config().use_sigstore_signer(
                identity_token=token,
                use_ambient_credentials=False,
                trust_config=self.trust_config_path,
            )
        except Exception as e:
            raise SigningError(
                f"Sigstore signing cannot start ({one_line(e)}); check network access to the "
                "Sigstore instance and the trust config"
            ) from e
        return config, what

    def public_key_pem(self) -> None:
        """Return None: keyless signing has no key."""
        return None

    def envelope_signer(self) -> SigstoreEnvelopeSigner:
        """Return the Statement signer using the same token source and instance."""
        return SigstoreEnvelopeSigner(self)

    def _token(self) -> tuple[str, str]:
        """Return (token, where it came from); one-line SigningError when there is none."""
        if (self.identity_token_path is None) == (not self.use_ambient_credentials):
            raise SigningError(
                "sigstore signing needs exactly one token source: identity_token_path or "
                "use_ambient_credentials=True"
            )
        if self.identity_token_path is not None:
            path = self.identity_token_path
            try:
                token = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as e:
                raise SigningError(
                    f"identity token file '{path}' cannot be read ({one_line(e, 80)}); mount "
                    "the projected service-account token"
                ) from e
            if not token:
                raise SigningError(f"identity token file '{path}' is empty; mount a real token")
            return token, f"'{path}'"
        from sigstore.oidc import IdentityError, detect_credential

        try:
            ambient = detect_credential()
        except IdentityError as e:
            raise SigningError(f"ambient OIDC credential detection failed ({one_line(e)})") from e
        if not ambient:
            raise SigningError(
                "no ambient OIDC credential found (GitHub Actions, GitLab, Buildkite, GCP); pass "
                "identity_token_path instead"
            )
        return ambient, "ambient credentials"


@dataclass(frozen=True)
class SigstorePolicy:
    """Trust a Sigstore identity from one OIDC issuer, under an explicit trust config (offline)."""

    identity: str
    issuer: str
    trust_config_path: Path

    @classmethod
    def create(cls, *, identity: str, issuer: str, trust_config_path: PathArg) -> SigstorePolicy:
        """Return the policy; ``trust_config_path`` is a ClientTrustConfig JSON file."""
        return cls(
            as_text(identity, "identity"),
            as_text(issuer, "issuer"),
            as_path(trust_config_path, "trust_config_path"),
        )

    @property
    def what(self) -> str:
        """How the trusted material is named in messages."""
        return f"Sigstore identity '{self.identity}' from issuer '{self.issuer}'"

    def check_inputs(self, fail: Fail) -> None:
        """Refuse an empty identity or issuer and an unreadable trust config."""
        if not self.identity.strip() or not self.issuer.strip():
            raise fail("cannot be checked: pass both the signer identity and the OIDC issuer")
        try:
            check_trust_config(self.trust_config_path, error=VerificationError)
        except VerificationError as e:
            raise fail(f"cannot be checked: {one_line(e)}") from e

    def check_material(self, kind: str, fail: Fail) -> None:
        """Refuse a key-signed bundle."""
        if kind == MATERIAL_PUBLIC_KEY:
            raise fail("was made with a key, not Sigstore; verify it with the key method")

    def config(self) -> ms_verifying.Config:
        """Return model-signing's Sigstore verifier (identity, issuer, trust config)."""
        from model_signing import verifying as ms_verifying

        return ms_verifying.Config().use_sigstore_verifier(
            identity=self.identity, oidc_issuer=self.issuer, trust_config=self.trust_config_path
        )

    def check_verified(self, bundle: dict[str, Any], fail: Fail) -> None:
        """Nothing to add: sigstore-python checked identity, issuer, log entry and times."""

    def public_key_pem(self) -> None:
        """Return None: a Sigstore identity is not a single trusted key."""
        return None

    def envelope_verifier(self) -> SigstoreEnvelopeVerifier:
        """Return the Statement verifier trusting this identity, issuer and trust config."""
        return SigstoreEnvelopeVerifier(self)


@dataclass(frozen=True)
class SigstoreEnvelopeSigner:
    """Sign Statements keyless with Sigstore (network; not run here)."""

    signer: SigstoreSigner

    def describe(self) -> str:
        """Return where the identity token comes from (never the token)."""
        path = self.signer.identity_token_path
        source = "ambient credentials" if path is None else f"identity token '{path}'"
        return f"Sigstore keyless signing ({source})"

    def sign(self, payload: bytes) -> bytes:
        """Return the Sigstore bundle of a DSSE envelope over ``payload``."""
        from sigstore.dsse import Statement
        from sigstore.oidc import IdentityError, IdentityToken
        from sigstore.sign import SigningContext

        statement = Statement(payload)  # offline: sigstore's in-toto schema accepts it
        token, source = self.signer._token()  # same sources and messages as model signing
        try:
            identity = IdentityToken(token)
        except IdentityError as e:
            raise SigningError(
                f"identity token from {source} is unusable ({one_line(e)}); it must be a "
                "current OIDC token with audience 'sigstore'"
            ) from e
        context = SigningContext.from_trust_config(self._trust_config())
        with context.signer(identity, cache=False) as signer:
            bundle = signer.sign_dsse(statement)
        return bundle.to_json().encode("utf-8")

    def _trust_config(self) -> ClientTrustConfig:
        from sigstore.models import ClientTrustConfig

        path = self.signer.trust_config_path
        if path is None:
            return ClientTrustConfig.production()  # the public-good instance (TUF, network)
        check_trust_config(path, error=SigningError)
        return ClientTrustConfig.from_json(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SigstoreEnvelopeVerifier:
    """Trust a Sigstore identity from one OIDC issuer, under an explicit trust config."""

    policy: SigstorePolicy

    def describe(self) -> str:
        """Return the expected identity and issuer for messages."""
        return self.policy.what

    def verify(self, document: bytes) -> bytes:
        """Verify the bundle offline (identity, issuer, log entry, signature); return payload."""
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle, ClientTrustConfig
        from sigstore.verify import Verifier
        from sigstore.verify.policy import Identity

        try:
            self.policy.check_inputs(VerificationError)
        except VerificationError as e:
            raise ValueError(str(e)) from e
        require_method(load_document(document), C.SIGNING_METHOD_SIGSTORE)
        trust = ClientTrustConfig.from_json(
            self.policy.trust_config_path.read_text(encoding="utf-8")
        )
        try:
            bundle = Bundle.from_json(document)
        except (SigstoreError, ValueError) as e:
            raise ValueError(f"is not a usable Sigstore bundle ({one_line(e, 160)})") from e
        identity = Identity(identity=self.policy.identity, issuer=self.policy.issuer)
        try:
            payload_type, payload = Verifier(trusted_root=trust.trusted_root).verify_dsse(
                bundle, identity
            )
        except SigstoreError as e:
            reason = one_line(e, 200)
            raise ValueError(f"does not verify against {self.describe()} ({reason})") from e
        if payload_type != C.IN_TOTO_PAYLOAD_TYPE:
            raise ValueError(f"has payloadType {payload_type!r}, not {C.IN_TOTO_PAYLOAD_TYPE}")
        return payload


def _recognizes(document: Mapping[str, Any]) -> bool:
    material = bundle_material(document)
    return material is not None and bool(material.get("tlogEntries"))


def _signer_from(options: Mapping[str, Any]) -> SigstoreSigner:
    return SigstoreSigner.create(
        identity_token_path=options["identity_token_path"],
        use_ambient_credentials=options["use_ambient_credentials"],
        trust_config_path=options["trust_config_path"],
    )


def _policy_from(options: Mapping[str, Any]) -> SigstorePolicy:
    identity, issuer, trust = options["identity"], options["issuer"], options["trust_config_path"]
    if identity is None or issuer is None or trust is None:
        raise InvalidInputError(
            "verification method 'sigstore' needs identity, issuer and trust_config_path"
        )
    return SigstorePolicy.create(identity=identity, issuer=issuer, trust_config_path=trust)


METHOD = SigningMethod(
    name=C.SIGNING_METHOD_SIGSTORE,
    description="Sigstore keyless, verified offline: identity, issuer, trust config",
    signer_type=SigstoreSigner,
    policy_type=SigstorePolicy,
    signing_options=("identity_token_path", "use_ambient_credentials", "trust_config_path"),
    verification_options=("identity", "issuer", "trust_config_path"),
    signer_from=_signer_from,
    policy_from=_policy_from,
    recognizes=_recognizes,
    wiring=ClusterWiring(
        signing_secret="mlsecops-sigstore-token",  # noqa: S106 - a Secret name
        verify_configmap="mlsecops-sigstore-trust",
        signing_files={"identity_token_path": C.SIGSTORE_TOKEN_FILE},
        verify_files={"trust_config_path": C.VERIFY_TRUST_CONFIG_FILE},
        predictor_volume="verify-trust",
        secret_optional=True,  # ambient credentials may replace the token
    ),
    identity_example="an e-mail",
)
