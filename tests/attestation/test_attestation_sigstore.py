"""The sigstore method, offline: a real upstream keyless bundle, and the signing pre-checks.

The bundle is model-signing's Sigstore keyless signature of a test model (see the fixture
README): a DSSE envelope holding an OMS statement. Our verifier must accept its signature, log
entry and identity, then refuse it because the statement is not a robustness attestation. Any
change to the identity, issuer or signature must fail earlier, on the signature or identity.
Signing needs the public Sigstore instance: it is only exercised up to its offline pre-checks,
plus one ``network`` test (deselected by default, not run here).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import _attestation_helpers as H
import pytest

from kfp_mlsecops.attestation import create_attestation, verify_attestation
from kfp_mlsecops.errors import SigningError, VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig

FIXTURES = H.FIXTURES
TRUST_CONFIG = FIXTURES / "prod_trust_config.json"
IDENTITY = "stefanb@us.ibm.com"
ISSUER = "https://sigstore.verify.ibm.com/oauth2"
DIGEST = "sha256:" + "ab" * 32
_OUR_TYPE = "https://kfp-mlsecops.dev/robustness/v1"


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    path = tmp_path / "model.sig"
    path.write_bytes((FIXTURES / "v1.1.0-sigstore" / "model.sig").read_bytes())
    return path


def _config(identity: str = IDENTITY, issuer: str = ISSUER) -> VerificationConfig:
    return VerificationConfig().use_sigstore(
        identity=identity, issuer=issuer, trust_config_path=TRUST_CONFIG
    )


def _block(path: Path, match: str, config: VerificationConfig | None = None) -> str:
    with pytest.raises(VerificationError, match=match) as info:
        verify_attestation(
            attestation_path=path, expected_model_digest=DIGEST, verification=config or _config()
        )
    message = str(info.value)
    assert "\n" not in message and message.endswith("; do not deploy")
    return message


def test_upstream_bundle_verifies_then_is_refused_as_not_our_predicate(upstream: Path) -> None:
    message = _block(upstream, "predicate type is 'https://model_signing/signature/v1.0'")
    assert f"not {_OUR_TYPE}" in message


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (_config(identity="someone@us.ibm.com"), "SANs do not match someone@us.ibm.com"),
        (_config(issuer="https://accounts.google.com"), "OIDCIssuer does not match"),
    ],
    ids=["wrong_identity", "wrong_issuer"],
)
def test_wrong_identity_or_issuer_fails_before_the_statement(
    upstream: Path, config: VerificationConfig, match: str
) -> None:
    message = _block(upstream, f"does not verify against Sigstore identity .*{match}", config)
    assert "predicate type" not in message


def _edit_envelope(path: Path, field: str) -> None:
    bundle = json.loads(path.read_text())
    envelope = bundle["dsseEnvelope"]
    if field == "sig":
        raw = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
        raw[10] ^= 0x01
        envelope["signatures"][0]["sig"] = base64.b64encode(bytes(raw)).decode()
    else:
        raw = bytearray(base64.b64decode(envelope["payload"]))
        index = raw.index(b"signme-1")
        raw[index + 7] = ord("3")  # the statement now names signme-3
        envelope["payload"] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(bundle))


@pytest.mark.parametrize("field", ["sig", "payload"], ids=["signature_byte", "payload_byte"])
def test_one_edited_byte_fails_on_the_signature(upstream: Path, field: str) -> None:
    _edit_envelope(upstream, field)
    message = _block(
        upstream, "does not verify against Sigstore identity .*DSSE: invalid signature"
    )
    assert "predicate type" not in message


def test_edited_log_entry_fails(upstream: Path) -> None:
    bundle = json.loads(upstream.read_text())
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    upstream.write_text(json.dumps(bundle))
    _block(upstream, "does not verify against .*invalid log entry")


def test_key_or_certificate_config_is_told_to_use_sigstore(
    upstream: Path, keys: tuple[Path, Path], pki: H.Pki
) -> None:
    match = "was made with the sigstore method, not {}; verify it with the sigstore method"
    with pytest.raises(VerificationError, match=match.format("key")):
        verify_attestation(
            attestation_path=upstream, expected_model_digest=DIGEST, public_key_path=keys[1]
        )
    certificate = VerificationConfig().use_certificate(
        chain_paths=pki.chain, identity=H.EMAIL_IDENTITY
    )
    _block(upstream, match.format("certificate"), certificate)


def test_trust_config_is_required_and_checked(upstream: Path, tmp_path: Path) -> None:
    missing = VerificationConfig().use_sigstore(
        identity=IDENTITY, issuer=ISSUER, trust_config_path=tmp_path / "absent.json"
    )
    _block(upstream, "cannot be checked: trust config '.*absent.json' does not exist", missing)
    (tmp_path / "bad.json").write_text('{"mediaType": "x"}')
    bad = VerificationConfig().use_sigstore(
        identity=IDENTITY, issuer=ISSUER, trust_config_path=tmp_path / "bad.json"
    )
    _block(upstream, "is not a Sigstore ClientTrustConfig", bad)


def test_not_a_bundle(upstream: Path) -> None:
    upstream.write_text("not json")
    _block(upstream, "is not JSON")
    upstream.write_text(
        json.dumps({"mediaType": "x", "verificationMaterial": {"tlogEntries": [1]}})
    )
    _block(upstream, "is not a usable Sigstore bundle")


def _attest_kwargs(tmp_path: Path) -> dict[str, Any]:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(H.results_doc(None)))
    return {
        "model_dir": H.make_model(tmp_path / "model"),
        "results_path": results,
        "policy": H.POLICY,
        "data_digest": H.DATA_DIGEST,
        "attack_config": H.ATTACK_CONFIG,
        "out_path": tmp_path / "att.json",
    }


@pytest.mark.parametrize(
    ("token", "match"),
    [
        ("", "identity token file '.*' is empty"),
        ("not-a-jwt", "identity token from '.*' is unusable"),
    ],
    ids=["empty_token", "malformed_token"],
)
def test_signing_refuses_an_unusable_token_offline(tmp_path: Path, token: str, match: str) -> None:
    """The token is checked before any network call; nothing is written."""
    token_file = tmp_path / "token"
    token_file.write_text(token)
    signing = SigningConfig().use_sigstore(
        identity_token_path=token_file, trust_config_path=TRUST_CONFIG
    )
    kwargs = _attest_kwargs(tmp_path)
    with pytest.raises(SigningError, match=match) as info:
        create_attestation(signing=signing, **kwargs)
    assert "not-a-jwt" not in str(info.value)  # the token itself never appears
    assert not kwargs["out_path"].exists()


@pytest.mark.network
def test_keyless_round_trip(tmp_path: Path) -> None:  # pragma: no cover - not run here
    """Needs public Sigstore; NOT run here. Run with `pytest -m network` and the same variables
    as the signing round trip: MLSECOPS_SIGSTORE_TOKEN_FILE (an OIDC token with audience
    sigstore), MLSECOPS_SIGSTORE_IDENTITY and MLSECOPS_SIGSTORE_ISSUER."""
    trust = H.FIXTURES / "prod_trust_config.json"
    kwargs = _attest_kwargs(tmp_path)
    digest = create_attestation(
        signing=SigningConfig().use_sigstore(
            identity_token_path=os.environ["MLSECOPS_SIGSTORE_TOKEN_FILE"]
        ),
        **kwargs,
    )
    config = VerificationConfig().use_sigstore(
        identity=os.environ["MLSECOPS_SIGSTORE_IDENTITY"],
        issuer=os.environ["MLSECOPS_SIGSTORE_ISSUER"],
        trust_config_path=trust,
    )
    predicate = verify_attestation(
        attestation_path=kwargs["out_path"], expected_model_digest=digest, verification=config
    )
    assert predicate.model_digest == digest
