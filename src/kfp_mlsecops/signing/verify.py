"""Verify a model directory against a model-signing bundle; fail closed on anything unexpected.

:class:`VerificationConfig` is an immutable builder: pick what you trust with exactly one of
``use_key`` / ``use_certificate`` / ``use_sigstore`` or ``from_method`` (no defaults for keys,
identities, issuers or trust roots), optionally ``set_ignore_paths`` and
``set_expected_digest``, then ``verify``. ``verify`` returns the verified model digest or raises
VerificationError; there is no boolean result, and any unexpected exception becomes a
VerificationError. An unconfigured config fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.signing._bundle import material_kind, read_bundle_json
from kfp_mlsecops.signing._certificate import CertificatePolicy
from kfp_mlsecops.signing._contract import (
    PathArg,
    as_path,
    check_model_dir,
    check_options,
    digest_of,
    is_valid_digest,
    normalize_ignore_paths,
    one_line,
    opt_path,
)
from kfp_mlsecops.signing._key import KeyPolicy
from kfp_mlsecops.signing._sigstore import SigstorePolicy
from kfp_mlsecops.signing._verify_run import verify_with
from kfp_mlsecops.signing.method import EnvelopeVerifier, Fail, Policy
from kfp_mlsecops.signing.registry import get_method

_DO_NOT_DEPLOY = "do not deploy"


@dataclass(frozen=True)
class VerificationConfig:
    """What a model must be signed with to be trusted, and which unsigned paths are acceptable."""

    policy: Policy | None = None
    ignore_paths: tuple[str, ...] = ()
    expected_digest: str | None = None

    def use_key(self, *, public_key_path: PathArg) -> VerificationConfig:
        """Trust signatures made with the private half of this ECDSA public key (PEM)."""
        return replace(self, policy=KeyPolicy.create(public_key_path=public_key_path))

    def use_certificate(
        self, *, chain_paths: Sequence[PathArg], identity: str
    ) -> VerificationConfig:
        """Trust leaves chaining to these CA certificates AND naming ``identity``.

        ``identity`` must equal the leaf's whole subject DN (``CN=model-signer,O=Example``, or
        the RFC 4514 order ``O=Example,CN=model-signer``) or one of its SAN e-mail/URI/DNS
        values. The leaf must allow codeSigning and be valid at verification time (bundles
        from this method carry no trusted signing time).
        """
        return replace(
            self, policy=CertificatePolicy.create(chain_paths=chain_paths, identity=identity)
        )

    def use_sigstore(
        self, *, identity: str, issuer: str, trust_config_path: PathArg
    ) -> VerificationConfig:
        """Trust Sigstore keyless signatures by ``identity`` from OIDC ``issuer``, offline.

        ``trust_config_path`` is a Sigstore ClientTrustConfig JSON file; passing it explicitly
        keeps verification offline (no TUF refresh) and pins the trust roots.
        """
        return replace(
            self,
            policy=SigstorePolicy.create(
                identity=identity, issuer=issuer, trust_config_path=trust_config_path
            ),
        )

    @property
    def trusted(self) -> str:
        """What is trusted, for messages (``public key 'k.pem'``, ...); no secrets."""
        return "nothing (no trust policy configured)" if self.policy is None else self.policy.what

    def public_key_pem(self) -> bytes | None:
        """Return the PEM public key the method trusts; None for keyless methods or no file.

        Used for separation-of-duties checks (the gate's approval key must differ from the
        model-signing key); verification itself reports an unreadable key.
        """
        return None if self.policy is None else self.policy.public_key_pem()

    def envelope_verifier(self) -> EnvelopeVerifier:
        """Return the verifier of in-toto Statements (attestation, approval) under this trust.

        Raises VerificationError when no trust policy is configured.
        """
        if self.policy is None:
            raise VerificationError(
                "cannot be checked: no trust policy configured (call use_key, ...)"
            )
        return self.policy.envelope_verifier()

    def set_ignore_paths(self, paths: Sequence[str]) -> VerificationConfig:
        """Allow these model-relative paths to stay unsigned.

        Every path the bundle declares as ignored must be listed, so unsigned files are never
        accepted silently.
        """
        return replace(self, ignore_paths=normalize_ignore_paths(paths))

    def set_expected_digest(self, digest: str | None) -> VerificationConfig:
        """Also require the verified model digest to equal ``digest`` (``sha256:<hex>``).

        A signature proves who signed, not which model this run produced: pin the digest the
        sign step returned to block a model swapped together with its own valid signature.
        """
        if digest is not None and not is_valid_digest(digest):
            raise InvalidInputError(f"expected digest {digest!r} is not sha256:<64 hex>")
        return replace(self, expected_digest=digest)

    @classmethod
    def from_method(
        cls,
        method: str,
        *,
        public_key_path: PathArg | None = None,
        chain_paths: Sequence[PathArg] = (),
        identity: str | None = None,
        issuer: str | None = None,
        trust_config_path: PathArg | None = None,
    ) -> VerificationConfig:
        """Build a config from a method name and flat options (for CLIs and KFP parameters).

        ``method`` is any registered method (:func:`~kfp_mlsecops.signing.registry.method_names`).
        Empty strings count as not given; an option the method does not use is an error.
        """
        options = {
            "public_key_path": opt_path(public_key_path),
            "chain_paths": [p for p in chain_paths if opt_path(p) is not None],
            "identity": (identity or "").strip() or None,
            "issuer": (issuer or "").strip() or None,
            "trust_config_path": opt_path(trust_config_path),
        }
        chosen = get_method(method, what="verification method")
        given = {name: value is not None and value != [] for name, value in options.items()}
        check_options("verification", chosen.name, given, chosen.verification_options)
        return cls(
            policy=chosen.policy_from({name: options[name] for name in chosen.verification_options})
        )

    def verify(self, model_dir: PathArg, signature_path: PathArg) -> str:
        """Verify ``model_dir`` against the bundle at ``signature_path``; return its digest.

        Any failure (missing or unreadable input, bad signature, untrusted signer, changed,
        added, removed or renamed file, unapproved unsigned path, unexpected serialization,
        digest other than the expected one) raises a one-line VerificationError.
        """
        model_arg = as_path(model_dir, "model_dir")
        sig_arg = as_path(signature_path, "signature_path")
        prefix = f"model '{model_arg}': signature '{sig_arg}'"

        def fail(reason: str) -> VerificationError:
            return VerificationError(f"{prefix} {reason}; {_DO_NOT_DEPLOY}")

        if self.policy is None:
            raise fail("cannot be checked: no trust policy configured (call use_key, ...)")
        try:
            return self._verify(self.policy, model_arg, sig_arg, fail)
        except VerificationError:
            raise
        except Exception as e:  # fail closed: nothing unexpected may let a model through
            raise fail(f"could not be verified ({one_line(e)})") from e

    def _verify(self, policy: Policy, model_arg: Path, sig_arg: Path, fail: Fail) -> str:
        allowed = self.ignore_paths
        try:
            model = check_model_dir(model_arg, error=VerificationError, ignore_paths=allowed)
        except VerificationError as e:
            reason = one_line(e).removeprefix(f"model '{model_arg}': ")
            raise fail(f"cannot be checked ({reason})") from e
        policy.check_inputs(fail)
        try:
            data = sig_arg.read_bytes()
        except FileNotFoundError as e:
            raise fail("does not exist (was the model signed?)") from e
        except OSError as e:
            raise fail(f"cannot be read ({e.strerror})") from e
        try:
            bundle = read_bundle_json(data)  # fail early, with a clear reason, on a non-bundle
            kind = material_kind(bundle)
        except ValueError as e:
            raise fail(f"is unusable: {one_line(e)}") from e
        sig_resolved = sig_arg.resolve()
        if sig_resolved.is_relative_to(model):
            rel = PurePosixPath(sig_resolved.relative_to(model).as_posix())
            if not any(rel.is_relative_to(p) for p in allowed):
                raise fail(
                    "lies inside the model directory, so it is an unsigned extra file; keep "
                    "signatures outside the model"
                )
        policy.check_material(kind, fail)
        statement = verify_with(policy.config(), model, data, allowed, fail, what=policy.what)
        policy.check_verified(bundle, fail)
        digest = digest_of(statement.resources)
        if self.expected_digest is not None and digest != self.expected_digest:
            raise fail(
                f"verifies, but for model digest {digest}, not the expected "
                f"{self.expected_digest} (another signed model was swapped in)"
            )
        return digest


def resolve_verification(
    *, public_key_path: PathArg | None = None, verification: VerificationConfig | None = None
) -> VerificationConfig:
    """Return ``verification``, or a key config for ``public_key_path``; exactly one is given.

    Lets callers (gate, deploy) take either the key shortcut or a config for any method.
    """
    if (public_key_path is None) == (verification is None):
        raise InvalidInputError(
            "pass exactly one of public_key_path (key method) and verification "
            "(a VerificationConfig for any method); got "
            + ("both" if verification is not None else "neither")
        )
    if verification is not None:
        if not isinstance(verification, VerificationConfig):
            raise InvalidInputError(
                "verification must be a kfp_mlsecops.signing.VerificationConfig, got "
                f"{type(verification).__name__}"
            )
        return verification
    return VerificationConfig().use_key(public_key_path=as_path(public_key_path, "public_key_path"))


def verify_model(
    model_dir: PathArg,
    signature_path: PathArg,
    *,
    public_key_path: PathArg,
    ignore_paths: Sequence[str] = (),
    expected_digest: str | None = None,
) -> str:
    """Verify a key-signed model against its bundle; return the verified digest.

    Shortcut for ``VerificationConfig().use_key(...)`` with ``set_ignore_paths`` and
    ``set_expected_digest``. ``ignore_paths`` (relative to the model) lists paths that may stay
    unsigned, e.g. a bundle kept inside the model folder by another tool; every path the bundle
    itself declares as ignored must be in that list. Any failure raises VerificationError; only
    a plainly wrong argument type or value raises InvalidInputError.
    """
    config = (
        VerificationConfig()
        .use_key(public_key_path=public_key_path)
        .set_ignore_paths(ignore_paths)
        .set_expected_digest(expected_digest)
    )
    return config.verify(model_dir, signature_path)
