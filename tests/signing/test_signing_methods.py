"""Signing and verification configs: certificate checks at signing, Sigstore token checks,
building configs from method names, and what an unconfigured config does."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kfp_mlsecops.errors import InvalidInputError, SigningError, VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "model-transparency"


def _cert_config(pki, leaf: str = "email", *, key_of: str | None = None, chain=None):
    key, cert = pki.leaves[leaf]
    if key_of is not None:
        key = pki.leaves[key_of][0]
    return SigningConfig().use_certificate(
        private_key_path=key,
        certificate_path=cert,
        chain_paths=[pki.intermediate] if chain is None else chain,
    )


@pytest.mark.parametrize(
    ("leaf", "reason"),
    [
        ("expired", "expired on"),
        ("future", "is not valid before"),
        ("server", "does not allow codeSigning"),
    ],
)
def test_certificate_signing_refuses_unusable_leaves(model, tmp_path, pki, leaf, reason) -> None:
    signature = tmp_path / "m.sig"
    with pytest.raises(SigningError, match=reason) as info:
        _cert_config(pki, leaf).sign(model, signature)
    assert "\n" not in str(info.value)
    assert not signature.exists()


def test_certificate_signing_checks_key_chain_and_files(model, tmp_path, pki, other_pki) -> None:
    signature = tmp_path / "m.sig"
    with pytest.raises(SigningError, match="does not belong to private key"):
        _cert_config(pki, "email", key_of="cn").sign(model, signature)
    with pytest.raises(SigningError, match="is not in the chain"):
        _cert_config(pki, chain=[other_pki.intermediate]).sign(model, signature)
    both = tmp_path / "leaf-and-ca.pem"
    both.write_bytes(pki.leaves["email"][1].read_bytes() + pki.intermediate.read_bytes())
    with pytest.raises(SigningError, match="holds 2 certificates"):
        SigningConfig().use_certificate(
            private_key_path=pki.leaves["email"][0],
            certificate_path=both,
            chain_paths=[pki.intermediate],
        ).sign(model, signature)
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(SigningError, match="holds no PEM certificate"):
        _cert_config(pki, chain=[tmp_path / "junk.pem"]).sign(model, signature)
    with pytest.raises(SigningError, match="does not exist"):
        _cert_config(pki, chain=[tmp_path / "absent.pem"]).sign(model, signature)
    assert not signature.exists()


def test_certificate_signing_needs_an_unencrypted_key(model, tmp_path, pki) -> None:
    key = serialization.load_pem_private_key(pki.leaves["email"][0].read_bytes(), None)
    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    config = SigningConfig().use_certificate(
        private_key_path=encrypted,
        certificate_path=pki.leaves["email"][1],
        chain_paths=[pki.intermediate],
    )
    with pytest.raises(SigningError, match="the certificate method needs an unencrypted key"):
        config.sign(model, tmp_path / "m.sig")


def test_certificate_verification_checks_its_inputs(model, tmp_path, pki) -> None:
    signature = tmp_path / "m.sig"
    _cert_config(pki).sign(model, signature)
    with pytest.raises(InvalidInputError, match="chain_paths is empty"):
        VerificationConfig().use_certificate(chain_paths=[], identity=pki.email_identity)
    with pytest.raises(InvalidInputError, match="identity must be a non-empty string"):
        VerificationConfig().use_certificate(chain_paths=pki.chain, identity=" ")
    (tmp_path / "junk.pem").write_text("junk")
    config = VerificationConfig().use_certificate(
        chain_paths=[tmp_path / "junk.pem"], identity=pki.email_identity
    )
    with pytest.raises(VerificationError, match="chain file '.*junk.pem' holds no PEM"):
        config.verify(model, signature)


def test_unconfigured_configs_fail(model, tmp_path) -> None:
    with pytest.raises(SigningError, match="no signing method configured"):
        SigningConfig().sign(model, tmp_path / "m.sig")
    with pytest.raises(VerificationError, match="no trust policy configured"):
        VerificationConfig().verify(model, tmp_path / "m.sig")
    with pytest.raises(InvalidInputError, match="not sha256"):
        VerificationConfig().set_expected_digest("md5:abc")


# --- building configs from method names (CLI and KFP parameters) --------------------------------


def test_from_method_builds_each_method(tmp_path: Path) -> None:
    p = tmp_path / "x.pem"
    assert SigningConfig.from_method("key", private_key_path=p).method == "key"
    assert (
        SigningConfig.from_method(
            "certificate", private_key_path=p, certificate_path=p, chain_paths=[p]
        ).method
        == "certificate"
    )
    assert SigningConfig.from_method("sigstore", identity_token_path=p).method == "sigstore"
    # Empty strings (KFP parameter defaults) count as not given.
    key_only = SigningConfig.from_method(
        "key", private_key_path=p, certificate_path="", chain_paths=[""]
    )
    assert key_only == SigningConfig().use_key(private_key_path=p)
    v = VerificationConfig.from_method("certificate", chain_paths=[p], identity="CN=x")
    assert v == VerificationConfig().use_certificate(chain_paths=[p], identity="CN=x")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"method": "pgp"}, "signing method 'pgp' is unknown; use one of key, certificate"),
        ({"method": "key"}, "needs private_key_path"),
        ({"method": "key", "private_key_path": "k", "identity_token_path": "t"}, "does not use"),
        ({"method": "certificate", "private_key_path": "k"}, "needs private_key_path, cert"),
        ({"method": "sigstore", "private_key_path": "k"}, "does not use private_key_path"),
    ],
)
def test_signing_from_method_refuses_wrong_options(kwargs, reason) -> None:
    method = kwargs.pop("method")
    with pytest.raises(InvalidInputError, match=reason):
        SigningConfig.from_method(method, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"method": "key", "identity": "x"}, "does not use identity"),
        ({"method": "certificate", "chain_paths": ["c"]}, "needs chain_paths and identity"),
        ({"method": "sigstore", "identity": "a", "issuer": "b"}, "needs identity, issuer and"),
        ({"method": "certificate", "identity": "a", "issuer": "b", "chain_paths": ["c"]}, "issuer"),
    ],
)
def test_verification_from_method_refuses_wrong_options(kwargs, reason) -> None:
    method = kwargs.pop("method")
    with pytest.raises(InvalidInputError, match=reason):
        VerificationConfig.from_method(method, **kwargs)


# --- Sigstore keyless signing: everything that can be checked offline -----------------------------


def _jwt(**claims: object) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{part('sig')}"


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "https://issuer.example",
        "sub": "system:serviceaccount:ml:pipeline-runner",
        "aud": "sigstore",
        "iat": now - 10,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "is empty"),
        ("not-a-jwt", "is unusable"),
        (_jwt(**_claims(aud="kubernetes")), "is unusable"),
        (_jwt(**_claims(exp=int(time.time()) - 3600)), "is unusable"),
    ],
)
def test_sigstore_signing_checks_the_token_offline(model, tmp_path, token, reason) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(token)
    config = SigningConfig().use_sigstore(identity_token_path=token_file)
    with pytest.raises(SigningError, match=reason) as info:
        config.sign(model, tmp_path / "m.sig")
    assert token == "" or token not in str(info.value)  # never echo the token
    assert not (tmp_path / "m.sig").exists()


def test_sigstore_signing_needs_exactly_one_token_source(model, tmp_path) -> None:
    for config in (
        SigningConfig().use_sigstore(),
        SigningConfig().use_sigstore(
            identity_token_path=tmp_path / "t", use_ambient_credentials=True
        ),
    ):
        with pytest.raises(SigningError, match="exactly one token source"):
            config.sign(model, tmp_path / "m.sig")


def test_sigstore_signing_without_network_fails_cleanly(model, tmp_path, no_network) -> None:
    token = _jwt(**_claims())
    (tmp_path / "token").write_text(token + "\n")
    config = SigningConfig().use_sigstore(
        identity_token_path=tmp_path / "token",
        trust_config_path=FIXTURES / "prod_trust_config.json",
    )
    assert token not in repr(config)  # the config holds the token's path only
    with pytest.raises(SigningError, match="Sigstore signing cannot start") as info:
        config.sign(model, tmp_path / "m.sig")
    assert token not in str(info.value)
    assert not (tmp_path / "m.sig").exists()


@pytest.mark.network
def test_sigstore_keyless_sign_and_verify_roundtrip(model, tmp_path) -> None:
    """Needs public Sigstore; NOT run here. Run with `pytest -m network` and set
    MLSECOPS_SIGSTORE_TOKEN_FILE (an OIDC token with audience sigstore), MLSECOPS_SIGSTORE_IDENTITY
    and MLSECOPS_SIGSTORE_ISSUER (what the token's certificate will say)."""
    token_file = os.environ["MLSECOPS_SIGSTORE_TOKEN_FILE"]
    signature = tmp_path / "m.sig"
    digest = SigningConfig().use_sigstore(identity_token_path=token_file).sign(model, signature)
    config = VerificationConfig().use_sigstore(
        identity=os.environ["MLSECOPS_SIGSTORE_IDENTITY"],
        issuer=os.environ["MLSECOPS_SIGSTORE_ISSUER"],
        trust_config_path=FIXTURES / "prod_trust_config.json",
    )
    assert config.verify(model, signature) == digest
    (model / "provenance.json").write_text("{}")
    with pytest.raises(VerificationError, match="files changed: provenance.json"):
        config.verify(model, signature)
