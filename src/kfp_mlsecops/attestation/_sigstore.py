"""The ``sigstore`` method: keyless signing with sigstore-python, verified offline.

Signing (``sigstore.sign``: Fulcio certificate, Rekor entry) needs the Sigstore instance over
the network, so it is NOT run in this project's tests; the path is kept thin. The identity token
comes from the model signer's own sources (a token file or ambient credentials) and is checked
offline first, and sigstore-python's in-toto schema check of the Statement runs before any
network call. Verification is offline: a ``Verifier`` built from the trust-config file given to
model verification, ``verify_dsse`` with ``Identity(identity, issuer)`` (certificate chain, SCT,
log entry, signing time, identity, DSSE signature), then the payload type is checked.
sigstore-python is imported lazily, as in ``kfp_mlsecops.signing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation._document import load_document, require_method
from kfp_mlsecops.errors import SigningError, VerificationError
from kfp_mlsecops.signing._contract import check_trust_config, one_line
from kfp_mlsecops.signing._signers import SigstoreSigner
from kfp_mlsecops.signing._verifiers import SigstorePolicy

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig


@dataclass(frozen=True)
class SigstoreEnvelopeSigner:
    """Sign keyless with Sigstore (network; not run here)."""

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
