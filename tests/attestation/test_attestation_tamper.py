"""Tamper matrix: every edited, forged or mismatched attestation must fail verification."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _attestation_helpers as H
import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.attestation import check_attested_numbers, verify_attestation
from kfp_mlsecops.errors import VerificationError


def _verify(attested: Any, **overrides: Any) -> Any:
    kwargs = {
        "attestation_path": attested.attestation,
        "public_key_path": attested.public_key,
        "expected_model_digest": attested.digest,
    }
    kwargs.update(overrides)
    return verify_attestation(**kwargs)


def _expect_block(attested: Any, match: str, **overrides: Any) -> None:
    with pytest.raises(VerificationError, match=match) as info:
        _verify(attested, **overrides)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("; do not deploy")


def _envelope(attested: Any) -> dict[str, Any]:
    return json.loads(attested.attestation.read_text())


def _write(attested: Any, envelope: Any) -> None:
    attested.attestation.write_text(json.dumps(envelope))


def _edit_statement(attested: Any, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    statement = H.decode_statement(attested.attestation)
    edit(statement)
    return statement


def _forge(attested: Any, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the statement and re-sign it with the RIGHT key (a signed but wrong statement)."""
    statement = _edit_statement(attested, edit)
    payload = json.dumps(statement).encode()
    attested.attestation.write_text(H.sign_payload(payload, attested.private_key))


def test_clean_attestation_verifies(attested: Any) -> None:
    assert _verify(attested).model_digest == attested.digest


def test_payload_edited(attested: Any) -> None:
    def raise_accuracy(statement: dict[str, Any]) -> None:
        statement["predicate"]["results"][c.CLEAN_ACCURACY] = 0.99

    envelope = _envelope(attested)
    statement = _edit_statement(attested, raise_accuracy)
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    _write(attested, envelope)
    _expect_block(attested, "invalid signature")


def test_one_payload_byte_changed(attested: Any) -> None:
    envelope = _envelope(attested)
    raw = bytearray(base64.b64decode(envelope["payload"]))
    index = raw.index(b"0.555")
    raw[index + 4] = ord("6")  # 0.555 -> 0.556 robust accuracy
    envelope["payload"] = base64.b64encode(bytes(raw)).decode()
    _write(attested, envelope)
    _expect_block(attested, "invalid signature")


def test_signature_edited(attested: Any) -> None:
    envelope = _envelope(attested)
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[-1] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    _write(attested, envelope)
    _expect_block(attested, "invalid signature")


def test_wrong_public_key(attested: Any, other_keys: tuple[Path, Path]) -> None:
    _expect_block(attested, "signed by another key", public_key_path=other_keys[1])


def test_signed_by_another_key_with_our_keyid(attested: Any, other_keys: tuple[Path, Path]) -> None:
    """An attacker signs with their key and copies our keyid: the signature still fails."""
    ours = _envelope(attested)["signatures"][0]["keyid"]
    forged = json.loads(
        H.sign_payload(base64.b64decode(_envelope(attested)["payload"]), other_keys[0])
    )
    forged["signatures"][0]["keyid"] = ours
    _write(attested, forged)
    _expect_block(attested, "invalid signature")


def test_attestation_of_another_model(attested: Any, tmp_path: Path) -> None:
    from kfp_mlsecops.signing import model_digest

    other = H.make_model(tmp_path / "other", content=b"other weights")
    _expect_block(
        attested,
        "is about model sha256:.* not the signed model",
        expected_model_digest=model_digest(other),
    )


def test_forged_subject_digest_signed_with_right_key(attested: Any) -> None:
    def swap(statement: dict[str, Any]) -> None:
        statement["subject"][0]["digest"]["sha256"] = "0" * 64

    _forge(attested, swap)  # the subject is checked before the predicate's own model digest
    _expect_block(attested, "is about model sha256:0000.* not the signed model")

    def swap_both(statement: dict[str, Any]) -> None:
        statement["subject"][0]["digest"]["sha256"] = "0" * 64
        statement["predicate"]["results"].pop(c.MODEL_DIGEST)

    _forge(attested, swap_both)
    _expect_block(attested, "is about model sha256:0000")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"), "statement type"),
        (lambda s: s.update(predicateType="https://slsa.dev/provenance/v1"), "predicate type"),
        (lambda s: s["subject"].append(dict(s["subject"][0], name="x")), "2 subjects"),
        (lambda s: s.update(subject=[]), "not a valid in-toto Statement"),
        (lambda s: s["subject"][0]["digest"].update(sha512="ab" * 64), "exactly one sha256"),
        (lambda s: s["subject"][0].pop("annotations"), "is not declared as"),
        (lambda s: s["subject"][0].update(uri="file:///x"), "fields other than"),
        (lambda s: s["predicate"].pop("data_digest"), "missing \\['data_digest'\\]"),
        (lambda s: s["predicate"].update(note="x"), "unknown \\['note'\\]"),
        (lambda s: s.update(extra=1), "not a valid in-toto Statement"),
        (
            lambda s: s["predicate"]["results"].update(schema="x/v1"),
            f"are not {c.ROBUSTNESS_SCHEMA}",
        ),
        (
            lambda s: s["predicate"]["results"].update(model_digest="sha256:" + "1" * 64),
            "computed for model",
        ),
        (lambda s: s["predicate"].update(data_digest="md5:x"), "data_digest is not sha256"),
        (lambda s: s["predicate"].update(policy=[1]), "policy is not a JSON object"),
    ],
    ids=[
        "statement_type",
        "predicate_type",
        "two_subjects",
        "no_subject",
        "extra_digest_algorithm",
        "no_digest_annotation",
        "subject_uri",
        "predicate_missing_field",
        "predicate_unknown_field",
        "statement_unknown_field",
        "results_schema",
        "results_other_model",
        "data_digest_md5",
        "policy_not_object",
    ],
)
def test_signed_but_wrong_statement(
    attested: Any, edit: Callable[[dict[str, Any]], None], match: str
) -> None:
    _forge(attested, edit)
    _expect_block(attested, match)


def test_signed_payload_that_is_not_json(attested: Any) -> None:
    attested.attestation.write_text(H.sign_payload(b"not json {", attested.private_key))
    _expect_block(attested, "payload is not strict JSON")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("not json", "is not JSON"),
        ("", "is not JSON"),
        ("[]", "is not a JSON object"),
        (
            '{"payload": "e30=", "payloadType": "application/vnd.in-toto+json"}',
            "missing signatures",
        ),
    ],
)
def test_unreadable_envelope(attested: Any, content: str, match: str) -> None:
    attested.attestation.write_text(content)
    _expect_block(attested, match)


def test_binary_garbage(attested: Any) -> None:
    attested.attestation.write_bytes(b"\xff\xfe\x00garbage")
    _expect_block(attested, "is not JSON")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda e: e.update(signatures=[]), "holds 0 signatures"),
        (lambda e: e.update(signatures=e["signatures"] * 2), "holds 2 signatures"),
        (lambda e: e.update(signatures={}), "holds 0 signatures"),
        (lambda e: e.update(payloadType="application/json"), "payloadType 'application/json'"),
        (lambda e: e.update(payloadType=None), "payloadType None"),
        (lambda e: e.update(comment="approved by security"), "unsigned fields"),
        (lambda e: e["signatures"][0].update(cert="x"), "exactly the fields keyid and sig"),
        (lambda e: e["signatures"][0].pop("keyid"), "exactly the fields keyid and sig"),
        (lambda e: e["signatures"][0].update(keyid=""), "no keyid"),
        (lambda e: e["signatures"][0].update(sig=""), "has no signature"),
        (lambda e: e["signatures"][0].update(sig="!!notbase64"), "signature is not base64"),
        (lambda e: e.update(payload=e["payload"] + "\n"), "payload is not base64"),
        (lambda e: e.pop("payload"), "missing payload"),
    ],
    ids=[
        "no_signature",
        "two_signatures",
        "signatures_object",
        "payload_type_json",
        "payload_type_null",
        "unsigned_top_field",
        "unsigned_signature_field",
        "no_keyid_field",
        "empty_keyid",
        "empty_sig",
        "sig_not_base64",
        "payload_newline",
        "no_payload",
    ],
)
def test_edited_envelope(attested: Any, edit: Callable[[dict[str, Any]], None], match: str) -> None:
    envelope = _envelope(attested)
    edit(envelope)
    _write(attested, envelope)
    _expect_block(attested, match)


def test_non_canonical_base64_payload(attested: Any) -> None:
    """Unused base64 bits set: decodes to the signed bytes, but two spellings are refused."""
    statement = H.decode_statement(attested.attestation)
    payload = json.dumps(statement).encode()
    payload += b" " * ((1 - len(payload)) % 3)  # length 1 mod 3: base64 ends in "=="
    envelope = json.loads(H.sign_payload(payload, attested.private_key))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = envelope["payload"]
    assert value.endswith("==")
    last = alphabet[alphabet.index(value[-3]) | 1]
    envelope["payload"] = value[:-3] + last + "=="
    assert base64.b64decode(envelope["payload"]) == payload
    _write(attested, envelope)
    _expect_block(attested, "payload is not canonical base64")


def test_payload_type_changed_and_resigned(attested: Any) -> None:
    """Same statement signed under another payloadType (PAE binds it): refused before the sig."""
    payload = base64.b64decode(_envelope(attested)["payload"])
    attested.attestation.write_text(
        H.sign_payload(payload, attested.private_key, payload_type="application/json")
    )
    _expect_block(attested, "payloadType")


def test_missing_attestation(attested: Any) -> None:
    attested.attestation.unlink()
    _expect_block(attested, "does not exist")


def test_missing_or_bad_public_key(attested: Any, tmp_path: Path) -> None:
    _expect_block(attested, "does not exist", public_key_path=tmp_path / "absent.pem")
    _expect_block(attested, "not a PEM public key", public_key_path=attested.attestation)
    _expect_block(attested, "not a PEM public key", public_key_path=attested.private_key)


@pytest.mark.parametrize("expected", ["", "sha256:ABC", "4ee82cb5" * 8, None])
def test_malformed_expected_digest(attested: Any, expected: Any) -> None:
    _expect_block(attested, "expected model digest", expected_model_digest=expected)


def test_predicate_numbers_differ_from_gated_results(attested: Any) -> None:
    predicate = _verify(attested)
    gated = json.loads(attested.results_path.read_text())
    gated[c.ATTACKS][0][c.ROBUST_ACCURACY] = math.nextafter(0.555, 1.0)  # one ulp away
    with pytest.raises(VerificationError, match=r"differ .*\(attacks\).*; do not deploy$"):
        check_attested_numbers(predicate, gated)


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r.update(clean_accuracy=0.99),
        lambda r: r.update(n_samples=201),
        lambda r: r.pop("wall_time_s"),
        lambda r: r.update(extra=True),
        lambda r: r.update(n_samples=True),
        lambda r: r[c.WORST_CASE].reverse() or r[c.WORST_CASE].append({"epsilon": 0.05}),
    ],
    ids=[
        "clean_accuracy",
        "n_samples",
        "wall_time_removed",
        "extra_key",
        "bool_for_int",
        "worst_case_edited",
    ],
)
def test_any_change_to_gated_results_blocks(
    attested: Any, edit: Callable[[dict[str, Any]], None]
) -> None:
    predicate = _verify(attested)
    gated = json.loads(attested.results_path.read_text())
    edit(gated)
    with pytest.raises(VerificationError, match="differ"):
        check_attested_numbers(predicate, gated)


def test_equal_numbers_in_other_spelling_pass(attested: Any) -> None:
    """1.0 and 1 are the same JSON number; key order and whitespace do not matter."""
    predicate = _verify(attested)
    gated = json.loads(attested.results_path.read_text())
    gated[c.CLEAN_ACCURACY] = 1  # attested as 1.0
    gated[c.N_SAMPLES] = 200.0
    check_attested_numbers(predicate, dict(reversed(list(gated.items()))))


def test_check_refuses_non_predicate_and_non_json(attested: Any) -> None:
    predicate = _verify(attested)
    with pytest.raises(VerificationError, match="AttestationPredicate"):
        check_attested_numbers(predicate.results, predicate.results)  # type: ignore[arg-type]
    with pytest.raises(VerificationError, match="not a JSON object"):
        check_attested_numbers(predicate, [1])  # type: ignore[arg-type]
    with pytest.raises(VerificationError, match="not plain JSON"):
        check_attested_numbers(predicate, {"x": float("nan")})
