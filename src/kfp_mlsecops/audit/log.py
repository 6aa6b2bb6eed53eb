"""An append-only, hash-chained and signed audit log (JSON Lines) of gate decisions and deploys.

One record per line, a JSON object with exactly these fields::

    schema, seq, time, kind, run_id, pipeline, model_digest, outcome, message,
    document, document_sha256, prev_hash, hash, signature

``seq`` counts from 1; ``prev_hash`` is the previous record's ``hash`` (:data:`GENESIS` for the
first); ``hash`` is ``sha256:`` + SHA-256 of the canonical JSON (sorted keys, no spaces) of every
field but ``hash`` and ``signature``; ``signature`` is the signing method's signed document (for
the key method a DSSE envelope) over an in-toto Statement whose one subject is the record hash.
Editing, dropping, reordering or inserting a record therefore breaks a hash, the chain or a
signature, and :func:`verify_log` names the first record that does. Records cut off the END of
the log leave a valid shorter log: compare the count and last hash :func:`verify_log` checked
with a copy kept elsewhere.

Appends: the file is opened with ``O_APPEND``, locked with ``flock`` (writers on one host or a
PVC whose filesystem honours locks are serialised, so two never chain to the same record), the
last record is read and checked, then the new line is written with ONE ``write`` and
``fsync``-ed. A crash mid-write leaves a line without its newline: :func:`verify_log` reports it
as truncated and :func:`append_record` refuses to chain onto it. Rewriting the whole file (temp
file + rename) was not chosen: it is O(size) per append and a concurrent writer's record could be
lost between read and rename. Only local paths (a PVC mount) are supported; object storage has
no append or lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE
from kfp_mlsecops._io import one_line, sha256_file, strict_json
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError, VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig

__all__ = [
    "GENESIS",
    "KINDS",
    "LOG_FILE",
    "AuditRecord",
    "append_record",
    "read_log",
    "resolve_log_path",
    "verify_log",
]

#: ``prev_hash`` of the first record.
GENESIS = "sha256:" + "0" * 64
#: What a record is about.
KINDS = ("gate_decision", "deploy")
#: The file name used when the log location is a directory (e.g. a PVC mount).
LOG_FILE = "audit.jsonl"
SCHEMA = "kfp-mlsecops/audit-record/v1"
#: predicateType of the Statement each record's signature covers.
PREDICATE_TYPE = "https://kfp-mlsecops.dev/audit-record/v1"

_CONTENT = (
    "schema",
    "seq",
    "time",
    "kind",
    "run_id",
    "pipeline",
    "model_digest",
    "outcome",
    "message",
    "document",
    "document_sha256",
    "prev_hash",
)
_FIELDS = (*_CONTENT, "hash", "signature")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class AuditRecord:
    """One record of the log (as read back; ``signature`` is not kept here)."""

    seq: int
    time: str
    kind: str
    run_id: str
    pipeline: str
    model_digest: str
    outcome: str
    message: str
    document: str
    document_sha256: str
    prev_hash: str
    hash: str


def resolve_log_path(location: str | os.PathLike[str]) -> Path:
    """Return the log file for ``location``: a file path, or ``audit.jsonl`` in a directory.

    Raises InvalidInputError for an empty location or an object-storage URI (``s3://``,
    ``gs://``, ...): only local paths, e.g. a mounted PVC, are supported.
    """
    text = os.fspath(location)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("audit log: the location is empty; pass a file or directory path")
    if _URI.match(text):
        raise InvalidInputError(
            f"audit log '{text}': object storage is not supported (no atomic append); only a "
            "local path is, e.g. a mounted PVC directory"
        )
    path = Path(text)
    return path / LOG_FILE if path.is_dir() or text.endswith(("/", os.sep)) else path


def append_record(
    location: str | os.PathLike[str],
    *,
    kind: str,
    outcome: str,
    message: str,
    signing: SigningConfig,
    run_id: str = "",
    pipeline: str = "",
    model_digest: str = "",
    document: str | os.PathLike[str] | None = None,
) -> AuditRecord:
    """Append one signed, hash-chained record to the log at ``location``; return it.

    ``kind`` is one of :data:`KINDS`; ``outcome`` the decision or deploy status; ``document``
    the file the record vouches for (its name and SHA-256 are recorded; None: none).
    ``signing`` signs the record (any method; :func:`verify_log` checks the key method).
    Raises InvalidInputError for bad arguments or a log that cannot be written, and
    VerificationError when the log's last record is damaged (nothing is appended then).
    """
    if kind not in KINDS:
        raise InvalidInputError(f"audit record kind {kind!r} is unknown; use one of {KINDS}")
    if not isinstance(signing, SigningConfig):
        raise InvalidInputError("audit log: signing must be a SigningConfig (the audit key)")
    path = resolve_log_path(location)
    doc_name, doc_hash = "", ""
    if document is not None and os.fspath(document):
        try:
            doc_name, doc_hash = Path(document).name, "sha256:" + sha256_file(document)
        except OSError as e:
            raise InvalidInputError(
                f"audit record: document '{document}' cannot be read ({e.strerror})"
            ) from e
    signer = signing.envelope_signer()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as e:
        raise InvalidInputError(
            f"audit log '{path}': cannot open it for appending ({e.strerror}); check the path"
        ) from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        seq, prev = _tail(path, fd)
        content: dict[str, Any] = {
            "schema": SCHEMA,
            "seq": seq,
            "time": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "kind": kind,
            "run_id": run_id,
            "pipeline": pipeline,
            "model_digest": model_digest,
            "outcome": outcome,
            "message": one_line(message, 1000),
            "document": doc_name,
            "document_sha256": doc_hash,
            "prev_hash": prev,
        }
        digest = _hash(content)
        try:
            signed = signer.sign(_statement(digest, seq))
        except MLSecOpsError:
            raise
        except Exception as e:  # noqa: BLE001 - any signing failure means no record
            raise InvalidInputError(
                f"audit log '{path}': signing record {seq} with {signer.describe()} failed "
                f"({one_line(e, 200)}); check the audit key"
            ) from e
        record = {**content, "hash": digest, "signature": strict_json(signed)}
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False)
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    except OSError as e:
        raise InvalidInputError(
            f"audit log '{path}': cannot append ({e.strerror}); check the disk and permissions"
        ) from e
    finally:
        os.close(fd)  # closing releases the lock
    return _record(content, digest)


def verify_log(location: str | os.PathLike[str], public_key: str | os.PathLike[str]) -> None:
    """Verify every record of the log at ``location`` against the PEM ``public_key``.

    Returns None when each line is a complete record whose hash matches its content, whose
    signature verifies with ``public_key`` over that hash, and which chains to the one before
    it (``seq`` 1, 2, ... from :data:`GENESIS`). Otherwise raises a one-line VerificationError
    naming the first bad record and why: truncated or unreadable line, edited record, missing
    or bad signature (forged, or signed with another key), wrong genesis, dropped, reordered or
    inserted record. An empty or missing log fails too.
    """
    path = resolve_log_path(location)
    verifier = VerificationConfig().use_key(public_key_path=public_key).envelope_verifier()
    lines = _lines(path)
    seqs = [_seq_of(text) for _, text in lines]
    prev: dict[str, Any] | None = None
    for index, (number, text) in enumerate(lines):
        fail = _failer(f"audit log '{path}': record at line {number}")
        if not text.endswith("\n"):
            raise fail("is truncated (no newline: an interrupted append or a cut file)")
        record = _parse(text, fail)
        fail = _failer(f"audit log '{path}': record {record['seq']} (line {number})")
        if _hash(record) != record["hash"]:
            raise fail("was edited (its content does not match its hash)")
        _check_signature(record, verifier, fail)
        expected = 1 if prev is None else prev["seq"] + 1
        if prev is None and (record["seq"] != 1 or record["prev_hash"] != GENESIS):
            raise fail(
                "is not the genesis record (seq 1 chained to GENESIS): records before it were "
                "dropped or the log does not start here"
            )
        if record["seq"] < expected:
            raise fail(f"is out of order or duplicated (expected seq {expected})")
        if record["seq"] > expected:
            if expected in seqs[index + 1 :]:
                raise fail(f"is out of order (seq {expected} comes after it)")
            raise fail(f"follows a gap: record(s) {expected}..{record['seq'] - 1} dropped")
        if prev is not None and record["prev_hash"] != prev["hash"]:
            raise fail(
                f"does not chain to record {prev['seq']} (prev_hash differs): a record was "
                "inserted or replaced"
            )
        prev = record


def _failer(where: str) -> Callable[[str], VerificationError]:
    def fail(reason: str) -> VerificationError:
        return VerificationError(f"{where} {reason}; the log cannot be trusted from here on")

    return fail


def read_log(location: str | os.PathLike[str]) -> list[AuditRecord]:
    """Return the records of the log at ``location`` WITHOUT verifying them (for display).

    Raises VerificationError for a missing log or a line that is not a record.
    """
    path = resolve_log_path(location)
    out = []
    for number, text in _lines(path):

        def fail(reason: str, number: int = number) -> VerificationError:
            return VerificationError(f"audit log '{path}': line {number} {reason}")

        record = _parse(text, fail)
        out.append(_record(record, record["hash"]))
    return out


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise VerificationError(f"audit log '{path}' does not exist; check the path") from e
    except OSError as e:
        raise VerificationError(f"audit log '{path}' cannot be read ({e.strerror})") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise VerificationError(f"audit log '{path}' is not UTF-8 text; it was damaged") from e
    lines = list(enumerate(text.splitlines(keepends=True), start=1))
    if not lines:
        raise VerificationError(f"audit log '{path}' holds no records; nothing to verify")
    return lines


def _seq_of(text: str) -> int | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) else None


def _parse(text: str, fail: Callable[[str], VerificationError]) -> dict[str, Any]:
    """Return one line as a record with every field of the right type, else raise ``fail``."""
    try:
        obj = strict_json(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise fail(f"is not a JSON record ({one_line(e, 120)})") from e
    if not isinstance(obj, dict):
        raise fail("is not a JSON object")
    if "signature" not in obj:
        raise fail("is unsigned (no signature)")
    if set(obj) != set(_FIELDS):
        missing = sorted(set(_FIELDS) - set(obj))
        extra = sorted(set(obj) - set(_FIELDS))
        raise fail(f"has the wrong fields (missing {missing}, unknown {extra})")
    if obj["schema"] != SCHEMA:
        raise fail(f"has schema {obj['schema']!r:.60}, not {SCHEMA}")
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise fail(f"has seq {seq!r:.40}, not an integer >= 1")
    texts = [k for k in _CONTENT if k != "seq" and not isinstance(obj[k], str)]
    if texts:
        raise fail(f"has non-string fields ({', '.join(texts)})")
    for key in ("hash", "prev_hash"):
        if not DIGEST_RE.fullmatch(obj[key]):
            raise fail(f"has {key} {obj[key]!r:.80}, not sha256:<64 hex>")
    if obj["kind"] not in KINDS:
        raise fail(f"has kind {obj['kind']!r:.40}, not one of {KINDS}")
    if not isinstance(obj["signature"], dict):
        raise fail("is unsigned (signature is not a signed document)")
    return obj


def _check_signature(
    record: dict[str, Any], verifier: Any, fail: Callable[[str], VerificationError]
) -> None:
    document = json.dumps(record["signature"]).encode("utf-8")
    try:
        payload = strict_json(verifier.verify(document))
    except ValueError as e:
        raise fail(f"has a bad signature ({one_line(e, 200)})") from e
    except Exception as e:  # fail closed: nothing unexpected may let a record through
        raise fail(f"has a signature that could not be checked ({one_line(e, 200)})") from e
    expected = json.loads(_statement(record["hash"], record["seq"]))
    if payload != expected:
        raise fail(
            "has a signature over another record (edited after signing, or a copied signature)"
        )


def _statement(digest: str, seq: int) -> bytes:
    """Return the in-toto Statement (canonical JSON) a record's signature covers."""
    statement = {
        "_type": C.IN_TOTO_STATEMENT_TYPE,
        "subject": [
            {"name": f"audit-record-{seq}", "digest": {"sha256": digest.removeprefix("sha256:")}}
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"seq": seq},
    }
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _hash(record: dict[str, Any]) -> str:
    content = {key: record[key] for key in _CONTENT}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _tail(path: Path, fd: int) -> tuple[int, str]:
    """Return (next seq, hash of the last record) of the locked log; refuse a damaged tail."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 1, GENESIS
    data = b"".join(_chunks(fd))
    if not data.endswith(b"\n"):
        raise VerificationError(
            f"audit log '{path}' ends in a truncated line; run 'mlsecops audit verify' and "
            "restore the log before appending"
        )
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")

    def fail(reason: str) -> VerificationError:
        return VerificationError(
            f"audit log '{path}': the last record {reason}; run 'mlsecops audit verify' and "
            "restore the log before appending"
        )

    record = _parse(last + "\n", fail)
    if _hash(record) != record["hash"]:
        raise fail("was edited (its content does not match its hash)")
    return record["seq"] + 1, record["hash"]


def _chunks(fd: int) -> Iterator[bytes]:
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        yield chunk
        offset += len(chunk)


def _record(content: dict[str, Any], digest: str) -> AuditRecord:
    return AuditRecord(**{key: content[key] for key in _CONTENT if key != "schema"}, hash=digest)
