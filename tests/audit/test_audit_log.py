"""The audit log: a genuine log verifies; each kind of tampering names the first bad record."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kfp_mlsecops.audit import GENESIS, append_record, read_log, resolve_log_path, verify_log
from kfp_mlsecops.audit.log import _hash
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.signing import SigningConfig, generate_key_pair


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("audit-keys")
    out = {}
    for name in ("audit", "other"):
        generate_key_pair(root / f"{name}.pem", root / f"{name}.pub")
        out[name], out[f"{name}_pub"] = root / f"{name}.pem", root / f"{name}.pub"
    return out


def _sign(keys: dict[str, Path], name: str = "audit") -> SigningConfig:
    return SigningConfig().use_key(private_key_path=keys[name])


@pytest.fixture
def log(tmp_path: Path, keys: dict[str, Path]) -> Path:
    """A genuine log of four records (gate decisions and deploys)."""
    doc = tmp_path / "approval.json"
    doc.write_text("{}\n")
    path = tmp_path / "audit.jsonl"
    for outcome, kind in (
        ("approved", "gate_decision"),
        ("dry-run", "deploy"),
        ("blocked", "gate_decision"),
        ("approved", "gate_decision"),
    ):
        append_record(
            path,
            kind=kind,
            outcome=outcome,
            message=f"{kind} {outcome}",
            signing=_sign(keys),
            run_id="run-1",
            pipeline="secure-training",
            model_digest="sha256:" + "ab" * 32,
            document=doc,
        )
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines))


def _bad(path: Path, keys: dict[str, Path], match: str) -> str:
    with pytest.raises(VerificationError, match=match) as info:
        verify_log(path, keys["audit_pub"])
    message = str(info.value)
    assert "\n" not in message and message.endswith("the log cannot be trusted from here on")
    return message


def test_genuine_log_verifies_and_reads_back(log: Path, keys: dict[str, Path]) -> None:
    assert verify_log(log, keys["audit_pub"]) is None
    records = read_log(log)
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:], strict=False))
    assert records[1].kind == "deploy" and records[2].outcome == "blocked"
    assert records[0].document == "approval.json"
    assert records[0].document_sha256.startswith("sha256:")


def test_a_directory_holds_audit_jsonl(tmp_path: Path, keys: dict[str, Path]) -> None:
    pvc = tmp_path / "pvc"
    pvc.mkdir()
    append_record(pvc, kind="deploy", outcome="created", message="m", signing=_sign(keys))
    assert (pvc / "audit.jsonl").is_file()
    verify_log(pvc, keys["audit_pub"])


@pytest.mark.parametrize("uri", ["s3://bucket/audit.jsonl", "gs://bucket/log", "minio://b/l"])
def test_object_storage_is_refused_in_one_line(uri: str) -> None:
    with pytest.raises(InvalidInputError, match="only a local path is"):
        resolve_log_path(uri)


def test_edited_field_is_named(log: Path, keys: dict[str, Path]) -> None:
    lines = _lines(log)
    lines[1] = lines[1].replace('"outcome":"dry-run"', '"outcome":"created"')
    _write(log, lines)
    _bad(log, keys, r"record 2 \(line 2\) was edited")


def test_edit_with_a_recomputed_hash_fails_the_signature(log: Path, keys: dict[str, Path]) -> None:
    lines = _lines(log)
    record = json.loads(lines[2])
    record["outcome"] = "approved"
    record["hash"] = _hash(record)
    lines[2] = json.dumps(record) + "\n"
    _write(log, lines)
    _bad(log, keys, r"record 3 \(line 3\) has a signature over another record")


def test_dropped_record_is_named(log: Path, keys: dict[str, Path]) -> None:
    lines = _lines(log)
    del lines[1]
    _write(log, lines)
    _bad(log, keys, r"record 3 \(line 2\) follows a gap: record\(s\) 2..2 dropped")


def test_dropped_first_record_is_a_wrong_genesis(log: Path, keys: dict[str, Path]) -> None:
    _write(log, _lines(log)[1:])
    _bad(log, keys, r"record 2 \(line 1\) is not the genesis record")


def test_swapped_records_are_named(log: Path, keys: dict[str, Path]) -> None:
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    _bad(log, keys, r"record 3 \(line 2\) is out of order \(seq 2 comes after it\)")


def test_duplicated_record_is_named(log: Path, keys: dict[str, Path]) -> None:
    lines = _lines(log)
    _write(log, [*lines[:2], lines[1], *lines[2:]])
    _bad(log, keys, r"record 2 \(line 3\) is out of order or duplicated \(expected seq 3\)")


_B64 = base64.b64encode(b"\x30" * 70).decode("ascii")


def _forged(after: dict, seq: int) -> dict:
    forged = {**after, "seq": seq, "prev_hash": after["hash"], "outcome": "approved"}
    forged["message"] = "forged approval"
    forged["hash"] = _hash(forged)
    return forged


def test_inserted_record_with_a_valid_chain_but_a_bad_signature(
    log: Path, keys: dict[str, Path]
) -> None:
    records = [json.loads(line) for line in _lines(log)]
    forged = _forged(records[1], 3)  # a valid hash chain: the rest is re-numbered and re-chained
    envelope = forged["signature"]
    forged["signature"] = {**envelope, "signatures": [{**envelope["signatures"][0], "sig": _B64}]}
    tail, prev = [], forged
    for record in records[2:]:
        moved = {**record, "seq": prev["seq"] + 1, "prev_hash": prev["hash"]}
        moved["hash"] = _hash(moved)
        tail.append(moved)
        prev = moved
    _write(log, [json.dumps(r) + "\n" for r in (*records[:2], forged, *tail)])
    _bad(log, keys, r"record 3 \(line 3\) has a bad signature \(has an invalid signature")


def test_inserted_record_without_a_signature(log: Path, keys: dict[str, Path]) -> None:
    records = [json.loads(line) for line in _lines(log)]
    forged = _forged(records[-1], 5)
    del forged["signature"]
    _write(log, [*_lines(log), json.dumps(forged) + "\n"])
    _bad(log, keys, r"record at line 5 is unsigned \(no signature\)")


def test_inserted_record_reusing_another_signature(log: Path, keys: dict[str, Path]) -> None:
    records = [json.loads(line) for line in _lines(log)]
    forged = _forged(records[-1], 5)  # signature copied from record 4: it covers record 4
    _write(log, [*_lines(log), json.dumps(forged) + "\n"])
    _bad(log, keys, r"record 5 \(line 5\) has a signature over another record")


def test_truncated_last_line_is_named(log: Path, keys: dict[str, Path]) -> None:
    data = log.read_bytes()
    log.write_bytes(data[:-40])
    _bad(log, keys, r"record at line 4 is truncated")
    with pytest.raises(VerificationError, match="ends in a truncated line"):
        append_record(log, kind="deploy", outcome="created", message="m", signing=_sign(keys))


def test_resigned_with_another_key_is_named(
    tmp_path: Path, log: Path, keys: dict[str, Path]
) -> None:
    forged = tmp_path / "forged.jsonl"
    for record in read_log(log):
        append_record(
            forged,
            kind=record.kind,
            outcome=record.outcome,
            message=record.message,
            signing=_sign(keys, "other"),
        )
    _bad(forged, keys, r"record 1 \(line 1\) has a bad signature \(was signed by another key")
    verify_log(forged, keys["other_pub"])


def test_append_refuses_an_edited_last_record(log: Path, keys: dict[str, Path]) -> None:
    lines = _lines(log)
    lines[-1] = lines[-1].replace('"outcome":"approved"', '"outcome":"blocked"')
    _write(log, lines)
    with pytest.raises(VerificationError, match="the last record was edited"):
        append_record(log, kind="deploy", outcome="created", message="m", signing=_sign(keys))


def test_missing_and_empty_logs_fail(tmp_path: Path, keys: dict[str, Path]) -> None:
    with pytest.raises(VerificationError, match="does not exist"):
        verify_log(tmp_path / "none.jsonl", keys["audit_pub"])
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(VerificationError, match="holds no records"):
        verify_log(tmp_path / "empty.jsonl", keys["audit_pub"])


def test_bad_arguments_are_refused(tmp_path: Path, keys: dict[str, Path]) -> None:
    with pytest.raises(InvalidInputError, match="kind 'train' is unknown"):
        append_record(tmp_path / "l", kind="train", outcome="x", message="m", signing=_sign(keys))
    with pytest.raises(InvalidInputError, match="signing must be a SigningConfig"):
        append_record(
            tmp_path / "l", kind="deploy", outcome="x", message="m", signing=keys["audit"]
        )
