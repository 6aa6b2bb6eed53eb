"""The certificate method: a Sigstore bundle (leaf + chain) round trip, and its tamper matrix."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _attestation_helpers as H
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sigstore_models.bundle.v1 import Bundle

from kfp_mlsecops import constants as c
from kfp_mlsecops.attestation import check_attested_numbers, create_attestation, verify_attestation
from kfp_mlsecops.errors import SigningError, VerificationError
from kfp_mlsecops.signing import VerificationConfig


def _verify(att: Any, verification: VerificationConfig | None = None) -> Any:
    return verify_attestation(
        attestation_path=att.attestation,
        expected_model_digest=att.digest,
        verification=verification or att.verification,
    )


def _expect_block(att: Any, match: str, verification: VerificationConfig | None = None) -> str:
    with pytest.raises(VerificationError, match=match) as info:
        _verify(att, verification)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"attestation '{att.attestation}' ")
    assert message.endswith("; do not deploy")
    return message


def _bundle(att: Any) -> dict[str, Any]:
    return json.loads(att.attestation.read_text())


def _der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )


def test_round_trip_with_the_model_signing_config(cert_attested: Any) -> None:
    predicate = _verify(cert_attested)
    assert predicate.model_digest == cert_attested.digest
    assert predicate.policy == H.POLICY
    check_attested_numbers(predicate, json.loads(cert_attested.results_path.read_text()))
    flat = VerificationConfig.from_method(
        "certificate",
        chain_paths=[str(p) for p in cert_attested.pki.chain],
        identity="CN=model-signer,O=Example",
    )  # the whole subject DN is an identity too
    assert _verify(cert_attested, flat).model_digest == cert_attested.digest


def test_document_is_a_model_signing_shaped_sigstore_bundle(cert_attested: Any) -> None:
    bundle = _bundle(cert_attested)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    material = bundle["verificationMaterial"]
    assert material["tlogEntries"] == []
    raw = [
        base64.b64decode(item["rawBytes"])
        for item in material["x509CertificateChain"]["certificates"]
    ]
    pki = cert_attested.pki
    assert raw == [_der(pki.leaves["email"][1]), _der(pki.intermediate), _der(pki.root)]
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == c.IN_TOTO_PAYLOAD_TYPE
    assert [set(s) for s in envelope["signatures"]] == [{"sig", "keyid"}]
    assert envelope["signatures"][0]["keyid"] == ""  # the leaf names the key, as model-signing
    Bundle.from_json(cert_attested.attestation.read_text())  # sigstore's schema accepts it
    statement = json.loads(H.bundle_payload(cert_attested.attestation))
    assert statement["predicateType"] == c.ATTESTATION_PREDICATE_TYPE
    assert statement["subject"][0]["digest"] == {
        "sha256": cert_attested.digest.removeprefix("sha256:")
    }


def test_subject_dn_identity_of_a_leaf_without_san(tmp_path: Path, pki: H.Pki) -> None:
    model = H.make_model(tmp_path / "model")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(H.results_doc(None)))
    out = tmp_path / "att.json"
    digest = create_attestation(
        model_dir=model,
        results_path=results,
        policy=H.POLICY,
        data_digest=H.DATA_DIGEST,
        attack_config=H.ATTACK_CONFIG,
        signing=H.certificate_signing(pki, "cn"),
        out_path=out,
    )
    config = VerificationConfig().use_certificate(chain_paths=pki.chain, identity=H.CN_IDENTITY)
    predicate = verify_attestation(
        attestation_path=out, expected_model_digest=digest, verification=config
    )
    assert predicate.model_digest == digest
    with pytest.raises(VerificationError, match="identity 'signer@example.com' does not match"):
        verify_attestation(
            attestation_path=out,
            expected_model_digest=digest,
            verification=VerificationConfig().use_certificate(
                chain_paths=pki.chain, identity=H.EMAIL_IDENTITY
            ),
        )


@pytest.mark.parametrize(
    ("leaf", "match"),
    [("expired", "expired on"), ("future", "is not valid before"), ("server", "codeSigning")],
)
def test_signing_refuses_a_leaf_that_could_not_sign_the_model(
    tmp_path: Path, pki: H.Pki, leaf: str, match: str
) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(H.results_doc(None)))
    out = tmp_path / "att.json"
    with pytest.raises(SigningError, match=match):
        create_attestation(
            model_dir=H.make_model(tmp_path / "model"),
            results_path=results,
            policy=H.POLICY,
            data_digest=H.DATA_DIGEST,
            attack_config=H.ATTACK_CONFIG,
            signing=H.certificate_signing(pki, leaf),
            out_path=out,
        )
    assert not out.exists()


# --- tamper matrix: each must block, with the reason it names ---


def test_wrong_certificate_chain(cert_attested: Any, other_pki: H.Pki) -> None:
    other = VerificationConfig().use_certificate(
        chain_paths=other_pki.chain, identity=H.EMAIL_IDENTITY
    )
    _expect_block(cert_attested, "does not chain to the trusted certificate chain", other)


def test_only_the_root_is_trusted_the_bundle_supplies_the_intermediate(cert_attested: Any) -> None:
    root_only = VerificationConfig().use_certificate(
        chain_paths=[cert_attested.pki.root], identity=H.EMAIL_IDENTITY
    )
    assert _verify(cert_attested, root_only).model_digest == cert_attested.digest


def test_wrong_identity(cert_attested: Any) -> None:
    other = VerificationConfig().use_certificate(
        chain_paths=cert_attested.pki.chain, identity="someone@example.com"
    )
    _expect_block(cert_attested, "identity 'someone@example.com' does not match", other)
    partial = VerificationConfig().use_certificate(
        chain_paths=cert_attested.pki.chain, identity="model-signer"
    )
    _expect_block(cert_attested, "identity 'model-signer' does not match", partial)


@pytest.mark.parametrize(
    ("leaf", "match"),
    [
        ("expired", "is signed by a certificate that expired on .*checked at verification time"),
        ("future", "is signed by a certificate that is not valid before"),
        ("server", "does not allow codeSigning"),
    ],
    ids=["expired_leaf", "not_yet_valid_leaf", "leaf_without_code_signing"],
)
def test_leaf_that_may_not_sign_now(cert_attested: Any, leaf: str, match: str) -> None:
    """Bundles made outside our signer (which refuses these leaves) with a chaining leaf."""
    key, cert = cert_attested.pki.leaves[leaf]
    payload = H.bundle_payload(cert_attested.attestation)
    chain = [cert, *cert_attested.pki.chain]
    cert_attested.attestation.write_text(H.forge_certificate_bundle(payload, key, chain))
    _expect_block(cert_attested, match)


def _edit_b64(value: str, edit: Callable[[bytearray], None]) -> str:
    raw = bytearray(base64.b64decode(value))
    edit(raw)
    return base64.b64encode(bytes(raw)).decode()


def _raise_robust_accuracy(raw: bytearray) -> None:
    index = raw.index(b"0.555")
    raw[index + 4] = ord("6")


def test_payload_edited(cert_attested: Any) -> None:
    bundle = _bundle(cert_attested)
    dsse = bundle["dsseEnvelope"]
    dsse["payload"] = _edit_b64(dsse["payload"], _raise_robust_accuracy)
    cert_attested.attestation.write_text(json.dumps(bundle))
    _expect_block(cert_attested, "invalid signature for its leaf certificate")


def test_signature_edited(cert_attested: Any) -> None:
    bundle = _bundle(cert_attested)
    signature = bundle["dsseEnvelope"]["signatures"][0]
    signature["sig"] = _edit_b64(signature["sig"], lambda raw: raw.__setitem__(-1, raw[-1] ^ 1))
    cert_attested.attestation.write_text(json.dumps(bundle))
    _expect_block(cert_attested, "invalid signature for its leaf certificate")


def test_signed_by_another_key_carrying_the_original_leaf(
    cert_attested: Any, other_keys: tuple[Path, Path]
) -> None:
    payload = H.bundle_payload(cert_attested.attestation)
    chain = [cert_attested.pki.leaves["email"][1], *cert_attested.pki.chain]
    forged = H.forge_certificate_bundle(payload, other_keys[0], chain)
    cert_attested.attestation.write_text(forged)
    _expect_block(cert_attested, "invalid signature for its leaf certificate")


def test_leaf_swapped_for_another_valid_leaf_with_the_same_identity(cert_attested: Any) -> None:
    """The CA issued 'email2' to someone else with the same SAN: the signature is not theirs."""
    bundle = _bundle(cert_attested)
    certificates = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]
    certificates[0]["rawBytes"] = base64.b64encode(
        _der(cert_attested.pki.leaves["email2"][1])
    ).decode()
    cert_attested.attestation.write_text(json.dumps(bundle))
    _expect_block(cert_attested, "invalid signature for its leaf certificate")


def test_forged_statement_signed_with_a_valid_leaf(cert_attested: Any) -> None:
    """Signed by a trusted leaf, but not our predicate: the statement check refuses it."""
    statement = json.loads(H.bundle_payload(cert_attested.attestation))
    statement["predicateType"] = "https://slsa.dev/provenance/v1"
    key, cert = cert_attested.pki.leaves["email"]
    forged = H.forge_certificate_bundle(
        json.dumps(statement).encode(), key, [cert, *cert_attested.pki.chain]
    )
    cert_attested.attestation.write_text(forged)
    _expect_block(cert_attested, "predicate type is 'https://slsa.dev/provenance/v1'")


@pytest.mark.parametrize(
    ("content", "match"),
    [("not json", "is not JSON"), ("", "is not JSON"), ("[1]", "is not a JSON object")],
)
def test_document_not_json(cert_attested: Any, content: str, match: str) -> None:
    cert_attested.attestation.write_text(content)
    _expect_block(cert_attested, match)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda b: b.update(mediaType="application/json"), "has media type 'application/json'"),
        (lambda b: b.update(note="approved"), "unsigned fields besides the bundle's \\(note\\)"),
        (
            lambda b: b["verificationMaterial"].update(timestampVerificationData={}),
            "verification material this method does not use \\(timestampVerificationData\\)",
        ),
        (
            lambda b: b["verificationMaterial"]["x509CertificateChain"].update(certificates=[]),
            "empty certificate chain",
        ),
        (lambda b: b["dsseEnvelope"]["signatures"][0].update(keyid="abc"), "keyid 'abc'"),
        (
            lambda b: b["dsseEnvelope"]["signatures"].append(b["dsseEnvelope"]["signatures"][0]),
            "holds 2 signatures",
        ),
        (lambda b: b["dsseEnvelope"].update(payloadType="text/plain"), "payloadType 'text/plain'"),
        (lambda b: b.pop("dsseEnvelope"), "is not a Sigstore bundle"),
        (
            lambda b: b["verificationMaterial"]["x509CertificateChain"]["certificates"][0].update(
                rawBytes=base64.b64encode(b"not a certificate").decode()
            ),
            "not DER X.509",
        ),
    ],
    ids=[
        "media_type",
        "unsigned_top_field",
        "unused_material",
        "empty_chain",
        "keyid_set",
        "two_signatures",
        "payload_type",
        "no_envelope",
        "certificate_garbage",
    ],
)
def test_edited_bundle(
    cert_attested: Any, edit: Callable[[dict[str, Any]], None], match: str
) -> None:
    bundle = _bundle(cert_attested)
    edit(bundle)
    cert_attested.attestation.write_text(json.dumps(bundle))
    _expect_block(cert_attested, match)


def test_upstream_model_signing_certificate_bundle_is_read_then_refused(tmp_path: Path) -> None:
    """model-signing's own certificate bundle (RSA CA, P-384 leaf): chain, identity and
    signature verify with our rules; only its statement (an OMS model manifest) is refused."""
    fixtures = H.FIXTURES
    attestation = tmp_path / "model.sig"
    attestation.write_bytes((fixtures / "v1.1.0-certificate" / "model.sig").read_bytes())
    keys = fixtures / "keys"
    config = VerificationConfig().use_certificate(
        chain_paths=[keys / "int-ca-cert.pem", keys / "ca-cert.pem"], identity="CN=intermediate-ca"
    )
    with pytest.raises(VerificationError, match="predicate type is 'https://model_signing/"):
        verify_attestation(
            attestation_path=attestation, expected_model_digest=H.DATA_DIGEST, verification=config
        )
