"""Interoperability with the reference implementation (sigstore/model-transparency), offline.

Every bundle in shared/fixtures/model-transparency verifies with the identity, key or chain its
README names, and fails when a byte of signme-1 changes, a file is added, or the expected
identity (or key, or issuer) differs. The fixtures are read-only, so each test copies one.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing import VerificationConfig

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "model-transparency"
KEYS = FIXTURES / "keys"
TRUST_CONFIG = FIXTURES / "prod_trust_config.json"
SIGSTORE_IDENTITY = "stefanb@us.ibm.com"
SIGSTORE_ISSUER = "https://sigstore.verify.ibm.com/oauth2"
CERTIFICATE_IDENTITY = "CN=intermediate-ca"
#: The bundle lives in the model folder and 'ignore-me' was excluded at signing; newer bundles
#: also declare the .git* paths. Every declared path must be approved by the caller.
UPSTREAM_IGNORED = ["model.sig", "ignore-me", ".git", ".gitattributes", ".gitignore", ".github"]

SIGSTORE_BUNDLES = ["v1.1.0-sigstore", "v1.0.1-sigstore", "v1.0.0-sigstore", "v0.3.1-sigstore"]
ALL_BUNDLES = [*SIGSTORE_BUNDLES, "v1.1.0-elliptic-key", "v1.1.0-certificate"]


def _trusted(name: str) -> VerificationConfig:
    """The trust policy the fixture README gives for bundle ``name``."""
    if name.endswith("-sigstore"):
        config = VerificationConfig().use_sigstore(
            identity=SIGSTORE_IDENTITY, issuer=SIGSTORE_ISSUER, trust_config_path=TRUST_CONFIG
        )
    elif name.endswith("-elliptic-key"):
        config = VerificationConfig().use_key(public_key_path=KEYS / "signing-key-pub.pem")
    else:
        config = VerificationConfig().use_certificate(
            chain_paths=[KEYS / "int-ca-cert.pem", KEYS / "ca-cert.pem"],
            identity=CERTIFICATE_IDENTITY,
        )
    return config.set_ignore_paths(UPSTREAM_IGNORED)


def _untrusted(name: str, other_public_key: Path) -> VerificationConfig:
    """The same policy with another signer identity (or key) expected."""
    if name.endswith("-sigstore"):
        config = VerificationConfig().use_sigstore(
            identity="someone@example.com", issuer=SIGSTORE_ISSUER, trust_config_path=TRUST_CONFIG
        )
    elif name.endswith("-elliptic-key"):
        config = VerificationConfig().use_key(public_key_path=other_public_key)
    else:
        config = VerificationConfig().use_certificate(
            chain_paths=[KEYS / "int-ca-cert.pem", KEYS / "ca-cert.pem"], identity="CN=root-ca"
        )
    return config.set_ignore_paths(UPSTREAM_IGNORED)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prove "offline": any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted during an offline verification")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def copy_of(tmp_path: Path):
    def _copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(FIXTURES / name, target)
        for path in target.iterdir():
            path.chmod(0o644)
        target.chmod(0o755)
        return target

    return _copy


def test_fixtures_are_present() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir() if p.name.startswith("v")) == sorted(
        ALL_BUNDLES
    )


@pytest.mark.parametrize("name", ALL_BUNDLES)
def test_every_upstream_bundle_verifies_offline(name: str, copy_of) -> None:
    model = copy_of(name)
    digest = _trusted(name).verify(model, model / "model.sig")
    assert digest.startswith("sha256:")
    # Unsigned content at an approved ignored path changes nothing.
    (model / "ignore-me").write_text("anything")
    assert _trusted(name).verify(model, model / "model.sig") == digest


def test_the_four_sigstore_bundles_cover_the_same_files(copy_of) -> None:
    models = [copy_of(name) for name in SIGSTORE_BUNDLES]
    digests = {_trusted(m.name).verify(m, m / "model.sig") for m in models}
    assert len(digests) == 1


@pytest.mark.parametrize("name", ALL_BUNDLES)
def test_upstream_bundle_fails_when_a_byte_of_signme_1_changes(name: str, copy_of) -> None:
    model = copy_of(name)
    target = model / "signme-1"
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match="files changed: signme-1"):
        _trusted(name).verify(model, model / "model.sig")


@pytest.mark.parametrize("name", ALL_BUNDLES)
def test_upstream_bundle_fails_when_a_file_is_added(name: str, copy_of) -> None:
    model = copy_of(name)
    (model / "signme-3").write_text("new")
    with pytest.raises(VerificationError, match="files added: signme-3"):
        _trusted(name).verify(model, model / "model.sig")


@pytest.mark.parametrize("name", ALL_BUNDLES)
def test_upstream_bundle_fails_for_another_identity(name: str, copy_of, keys) -> None:
    model = copy_of(name)
    reason = {
        "sigstore": "Certificate's SANs do not match someone@example.com",
        "key": "Key mismatch",
        "certificate": "identity 'CN=root-ca' does not match the signer certificate",
    }[name.rsplit("-", 1)[-1]]
    with pytest.raises(VerificationError, match=reason):
        _untrusted(name, keys[1]).verify(model, model / "model.sig")


@pytest.mark.parametrize("name", SIGSTORE_BUNDLES)
def test_sigstore_bundle_fails_for_another_issuer(name: str, copy_of) -> None:
    model = copy_of(name)
    config = (
        VerificationConfig()
        .use_sigstore(
            identity=SIGSTORE_IDENTITY,
            issuer="https://accounts.google.com",
            trust_config_path=TRUST_CONFIG,
        )
        .set_ignore_paths(UPSTREAM_IGNORED)
    )
    with pytest.raises(VerificationError, match="Certificate's OIDCIssuer does not match"):
        config.verify(model, model / "model.sig")


def test_unsigned_paths_must_be_approved_by_the_caller(copy_of) -> None:
    model = copy_of("v1.1.0-elliptic-key")
    config = (
        VerificationConfig()
        .use_key(public_key_path=KEYS / "signing-key-pub.pem")
        .set_ignore_paths(["model.sig"])
    )
    with pytest.raises(VerificationError, match="did not allow .*ignore-me"):
        config.verify(model, model / "model.sig")


def test_an_upstream_bundle_inside_the_model_must_be_an_approved_path(copy_of) -> None:
    model = copy_of("v1.0.0-sigstore")  # declares no ignore paths at all
    config = VerificationConfig().use_sigstore(
        identity=SIGSTORE_IDENTITY, issuer=SIGSTORE_ISSUER, trust_config_path=TRUST_CONFIG
    )
    with pytest.raises(VerificationError, match="lies inside the model directory"):
        config.verify(model, model / "model.sig")


def test_sigstore_verification_needs_a_readable_trust_config(copy_of, tmp_path: Path) -> None:
    model = copy_of("v1.1.0-sigstore")
    (tmp_path / "bad.json").write_text('{"not": "a trust config"}')
    for trust, reason in [
        (tmp_path / "absent.json", "does not exist"),
        (tmp_path / "bad.json", "is not a Sigstore ClientTrustConfig"),
    ]:
        config = (
            VerificationConfig()
            .use_sigstore(
                identity=SIGSTORE_IDENTITY, issuer=SIGSTORE_ISSUER, trust_config_path=trust
            )
            .set_ignore_paths(UPSTREAM_IGNORED)
        )
        with pytest.raises(VerificationError, match=reason):
            config.verify(model, model / "model.sig")
