"""The in-toto Statement v1 about a model: build it, and read a verified one back.

Two predicate types use it: the robustness attestation (``constants.ATTESTATION_PREDICATE_TYPE``,
parsed into :class:`AttestationPredicate` here) and the gate's approval
(``constants.APPROVAL_PREDICATE_TYPE``, whose predicate the gate's typed reader parses).

The Statement is built and schema-checked with ``in-toto-attestation`` (the in-toto project's
reference Python bindings of the Statement/ResourceDescriptor protobufs, also used by
model-signing). Its JSON is written in RFC 8785 canonical form, so the signed bytes are stable.
Protobuf holds predicate numbers as doubles, hence the canonical form: ``200`` and ``200.0`` are
the same JSON number, and the predicate read back from the payload keeps the original text.

``parse_statement`` must only see payload bytes whose signature has been verified.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE as _DIGEST
from kfp_mlsecops._fields import HEX64_RE
from kfp_mlsecops._io import one_line, strict_json
from kfp_mlsecops.attestation import predicate as P
from kfp_mlsecops.attestation._json import canonical
from kfp_mlsecops.attestation.predicate import AttestationPredicate

_SUBJECT_KEYS = {"name", "digest", "annotations"}


def build_payload(
    *,
    model_name: str,
    digest_hex: str,
    predicate: dict[str, Any],
    predicate_type: str = C.ATTESTATION_PREDICATE_TYPE,
) -> bytes:
    """Return the canonical JSON bytes of the Statement naming the model and carrying ``predicate``.

    Raises ValueError when in-toto-attestation rejects the Statement or protobuf changed a value.
    """
    subject = ResourceDescriptor(
        name=model_name,
        digest={"sha256": digest_hex},
        annotations={C.ATTESTATION_DIGEST_ANNOTATION: C.MODEL_DIGEST_DEFINITION},
    )
    statement = Statement([subject.pb], predicate_type, predicate)
    statement.validate()
    document = json_format.MessageToDict(statement.pb)
    if canonical(document.get("predicate")) != canonical(predicate):
        raise ValueError("the predicate changed when stored in the Statement (a value JSON lacks)")
    return canonical(document)


def parse_statement(payload: bytes) -> AttestationPredicate:
    """Read a verified payload as our robustness Statement; ValueError says what is wrong."""
    name, digest, predicate = read_statement(payload, C.ATTESTATION_PREDICATE_TYPE)
    return parse_predicate(predicate, name=name, digest=digest)


def read_statement(payload: bytes, predicate_type: str) -> tuple[str, str, object]:
    """Read a verified payload as an in-toto Statement of ``predicate_type`` about one model.

    Returns ``(model name, model digest as sha256:<hex>, predicate)``; ValueError says what is
    wrong (not strict JSON, not a valid Statement, another statement or predicate type, not
    exactly one subject carrying our model digest).
    """
    try:
        document = strict_json(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"payload is not strict JSON ({one_line(e, 160)})") from e
    if not isinstance(document, dict):
        raise ValueError("payload is not a JSON object (not an in-toto Statement)")
    try:  # the in-toto schema: known fields only, right types, subject digests present
        message = json_format.ParseDict(document, statement_pb2.Statement())
        Statement.copy_from_pb(message).validate()
    except (json_format.ParseError, ValueError, TypeError) as e:
        raise ValueError(f"payload is not a valid in-toto Statement ({one_line(e, 160)})") from e
    if document.get("_type") != C.IN_TOTO_STATEMENT_TYPE:
        raise ValueError(f"statement type is {document.get('_type')!r}, not in-toto Statement v1")
    if document.get("predicateType") != predicate_type:
        raise ValueError(
            f"predicate type is {document.get('predicateType')!r}, not {predicate_type}"
        )
    name, digest = _subject(document.get("subject"))
    return name, digest, document.get("predicate")


def _subject(subjects: object) -> tuple[str, str]:
    if not isinstance(subjects, list) or len(subjects) != 1:
        count = len(subjects) if isinstance(subjects, list) else 0
        raise ValueError(f"statement names {count} subjects; exactly one (the model) is required")
    subject = subjects[0]
    if not isinstance(subject, dict) or set(subject) - _SUBJECT_KEYS:
        raise ValueError("subject has fields other than name, digest and annotations")
    name, digest = subject.get("name"), subject.get("digest")
    if not isinstance(name, str) or not name:
        raise ValueError("subject has no name")
    if not isinstance(digest, dict) or set(digest) != {"sha256"}:
        raise ValueError("subject digest must hold exactly one sha256 entry")
    if not isinstance(digest["sha256"], str) or not HEX64_RE.fullmatch(digest["sha256"]):
        raise ValueError("subject sha256 digest is not 64 lowercase hex digits")
    annotations = subject.get("annotations")
    if annotations != {C.ATTESTATION_DIGEST_ANNOTATION: C.MODEL_DIGEST_DEFINITION}:
        raise ValueError(
            f"subject digest is not declared as {C.MODEL_DIGEST_DEFINITION} (annotation "
            f"{C.ATTESTATION_DIGEST_ANNOTATION})"
        )
    return name, C.MODEL_DIGEST_PREFIX + digest["sha256"]


def parse_predicate(predicate: object, *, name: str, digest: str) -> AttestationPredicate:
    """Read a verified robustness predicate about ``digest``; ValueError says what is wrong."""
    if not isinstance(predicate, dict):
        raise ValueError("statement has no predicate object")
    keys = set(predicate)
    if keys != set(P.PREDICATE_KEYS):
        missing = sorted(set(P.PREDICATE_KEYS) - keys)
        extra = sorted(keys - set(P.PREDICATE_KEYS))
        raise ValueError(f"predicate fields differ from v1 (missing {missing}, unknown {extra})")
    for key in (P.RESULTS, P.POLICY, P.ATTACK_CONFIG, P.LIBRARY_VERSIONS):
        if not isinstance(predicate[key], dict):
            raise ValueError(f"predicate {key} is not a JSON object")
    versions = predicate[P.LIBRARY_VERSIONS]
    if not all(isinstance(v, str) for v in versions.values()):
        raise ValueError("predicate library_versions holds a non-string version")
    data_digest = predicate[P.DATA_DIGEST]
    if not isinstance(data_digest, str) or not _DIGEST.fullmatch(data_digest):
        raise ValueError("predicate data_digest is not sha256:<64 hex>")
    results = predicate[P.RESULTS]
    if results.get(C.SCHEMA) != C.ROBUSTNESS_SCHEMA:
        raise ValueError(f"predicate results are not {C.ROBUSTNESS_SCHEMA} results")
    if C.MODEL_DIGEST in results and results[C.MODEL_DIGEST] != digest:
        raise ValueError(
            f"predicate results were computed for model {results[C.MODEL_DIGEST]!r}, not for "
            f"the subject {digest}"
        )
    return AttestationPredicate(
        model_name=name,
        model_digest=digest,
        results=results,
        policy=predicate[P.POLICY],
        data_digest=data_digest,
        attack_config=predicate[P.ATTACK_CONFIG],
        library_versions=versions,
    )
