"""Choosing the method: the model's configs, exactly one trust argument, no method mix-ups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import _attestation_helpers as H
import pytest

from kfp_mlsecops.attestation import create_attestation, verify_attestation
from kfp_mlsecops.errors import InvalidInputError, SigningError, VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig, model_digest

_FIXTURES = H.FIXTURES


def _create(tmp_path: Path, **trust: Any) -> Path:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(H.results_doc(None)))
    out = tmp_path / "out" / "att.json"
    create_attestation(
        model_dir=H.make_model(tmp_path / "model"),
        results_path=results,
        policy=H.POLICY,
        data_digest=H.DATA_DIGEST,
        attack_config=H.ATTACK_CONFIG,
        out_path=out,
        **trust,
    )
    return out


def _block(path: Path, digest: str, match: str, **trust: Any) -> str:
    with pytest.raises(VerificationError, match=match) as info:
        verify_attestation(attestation_path=path, expected_model_digest=digest, **trust)
    message = str(info.value)
    assert "\n" not in message and message.endswith("; do not deploy")
    return message


def test_key_method_through_the_model_configs(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    out = _create(tmp_path, signing=SigningConfig.from_method("key", private_key_path=keys[0]))
    digest = model_digest(tmp_path / "model")
    for trust in (
        {"verification": VerificationConfig().use_key(public_key_path=keys[1])},
        {"verification": VerificationConfig.from_method("key", public_key_path=str(keys[1]))},
        {"public_key_path": keys[1]},  # the key shortcut reads the same envelope
    ):
        predicate = verify_attestation(attestation_path=out, expected_model_digest=digest, **trust)
        assert predicate.model_digest == digest
    pinned = VerificationConfig().use_key(public_key_path=keys[1]).set_expected_digest(digest)
    assert verify_attestation(
        attestation_path=out, expected_model_digest=digest, verification=pinned
    )


@pytest.mark.parametrize("which", ["both", "neither"])
def test_create_needs_exactly_one_signer(
    tmp_path: Path, keys: tuple[Path, Path], which: str
) -> None:
    trust: dict[str, Any] = {}
    if which == "both":
        trust = {
            "private_key_path": keys[0],
            "signing": SigningConfig().use_key(private_key_path=keys[0]),
        }
    with pytest.raises(InvalidInputError, match=f"exactly one of private_key_path .* got {which}$"):
        _create(tmp_path, **trust)
    assert not (tmp_path / "out" / "att.json").exists()


@pytest.mark.parametrize(
    ("trust", "error", "match"),
    [
        (
            {"signing": "key"},
            InvalidInputError,
            "signing must be a kfp_mlsecops.signing.SigningConfig",
        ),
        ({"signing": SigningConfig()}, SigningError, "has no method; call use_key"),
        ({"password_path": "pw", "signing": None}, InvalidInputError, "exactly one of"),
    ],
    ids=["not_a_config", "unconfigured", "password_alone"],
)
def test_create_refuses_unusable_signing_arguments(
    tmp_path: Path, trust: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        _create(tmp_path, **trust)


def test_password_path_belongs_to_the_key_shortcut(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    with pytest.raises(InvalidInputError, match="password_path goes with private_key_path"):
        _create(
            tmp_path,
            signing=SigningConfig().use_key(private_key_path=keys[0]),
            password_path=tmp_path / "pw",
        )


@pytest.mark.parametrize("which", ["both", "neither"])
def test_verify_needs_exactly_one_trust_argument(attested: Any, which: str) -> None:
    trust: dict[str, Any] = {}
    if which == "both":
        trust = {
            "public_key_path": attested.public_key,
            "verification": VerificationConfig().use_key(public_key_path=attested.public_key),
        }
    with pytest.raises(InvalidInputError, match=f"exactly one of public_key_path .* got {which}$"):
        verify_attestation(
            attestation_path=attested.attestation, expected_model_digest=attested.digest, **trust
        )


def test_verify_refuses_an_unconfigured_or_foreign_config(attested: Any) -> None:
    _block(
        attested.attestation,
        attested.digest,
        "cannot be checked: no trust policy configured",
        verification=VerificationConfig(),
    )
    with pytest.raises(
        InvalidInputError, match="must be a kfp_mlsecops.signing.VerificationConfig"
    ):
        verify_attestation(
            attestation_path=attested.attestation,
            expected_model_digest=attested.digest,
            verification=str(attested.public_key),  # type: ignore[arg-type]
        )


def test_verify_refuses_a_config_pinned_to_another_model(attested: Any) -> None:
    other = "sha256:" + "1" * 64
    config = VerificationConfig().use_key(public_key_path=attested.public_key)
    _block(
        attested.attestation,
        attested.digest,
        f"the verification config pins model {other}",
        verification=config.set_expected_digest(other),
    )


def test_key_envelope_checked_with_certificate_or_sigstore_config(
    attested: Any, pki: H.Pki
) -> None:
    certificate = VerificationConfig().use_certificate(
        chain_paths=pki.chain, identity=H.EMAIL_IDENTITY
    )
    _block(
        attested.attestation,
        attested.digest,
        "was made with the key method, not certificate; verify it with the key method",
        verification=certificate,
    )
    sigstore = VerificationConfig().use_sigstore(
        identity="signer@example.com",
        issuer="https://issuer.example.com",
        trust_config_path=_FIXTURES / "prod_trust_config.json",
    )
    _block(
        attested.attestation,
        attested.digest,
        "was made with the key method, not sigstore",
        verification=sigstore,
    )


def test_certificate_bundle_checked_with_key_or_sigstore_config(
    cert_attested: Any, keys: tuple[Path, Path]
) -> None:
    for trust in (
        {"public_key_path": keys[1]},
        {"verification": VerificationConfig().use_key(public_key_path=keys[1])},
    ):
        _block(
            cert_attested.attestation,
            cert_attested.digest,
            "was made with the certificate method, not key; verify it with the certificate method",
            **trust,
        )
    sigstore = VerificationConfig().use_sigstore(
        identity=H.EMAIL_IDENTITY,
        issuer="https://issuer.example.com",
        trust_config_path=_FIXTURES / "prod_trust_config.json",
    )
    _block(
        cert_attested.attestation,
        cert_attested.digest,
        "was made with the certificate method, not sigstore",
        verification=sigstore,
    )


def test_certificate_inputs_are_checked_before_the_document(
    cert_attested: Any, tmp_path: Path
) -> None:
    missing = VerificationConfig().use_certificate(
        chain_paths=[tmp_path / "absent.pem"], identity=H.EMAIL_IDENTITY
    )
    _block(
        cert_attested.attestation,
        cert_attested.digest,
        "cannot be checked: chain file '.*absent.pem' does not exist",
        verification=missing,
    )
    not_pem = VerificationConfig().use_certificate(
        chain_paths=[cert_attested.results_path], identity=H.EMAIL_IDENTITY
    )
    _block(
        cert_attested.attestation,
        cert_attested.digest,
        "holds no PEM certificate",
        verification=not_pem,
    )


def test_backends_hold_no_secret(tmp_path: Path, keys: tuple[Path, Path], pki: H.Pki) -> None:
    """The signing backends keep paths only: their repr names files, never key bytes."""
    password = tmp_path / "password"
    password.write_text("s3cret-password\n")
    configs = [
        SigningConfig().use_key(private_key_path=keys[0], password_path=password),
        H.certificate_signing(pki),
        SigningConfig().use_sigstore(identity_token_path=tmp_path / "token"),
    ]
    key_text = keys[0].read_text()
    for config in configs:
        text = repr(config.envelope_signer()) + config.envelope_signer().describe()
        assert "s3cret" not in text and "PRIVATE KEY" not in text
        assert key_text.splitlines()[1] not in text
