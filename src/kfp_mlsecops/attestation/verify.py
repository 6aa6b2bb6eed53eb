"""Verify a robustness attestation and check it attests the numbers the gate is gating on.

Both functions return normally or raise VerificationError (one line ending in "do not deploy");
nothing unexpected lets an attestation through.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import one_line
from kfp_mlsecops.attestation._json import canonical
from kfp_mlsecops.attestation._statement import parse_predicate
from kfp_mlsecops.attestation.predicate import AttestationPredicate
from kfp_mlsecops.attestation.statement import verify_statement
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.signing import VerificationConfig, resolve_verification

_DO_NOT_DEPLOY = "do not deploy"


def verify_attestation(
    *,
    attestation_path: str | os.PathLike[str],
    expected_model_digest: str,
    public_key_path: str | os.PathLike[str] | None = None,
    verification: VerificationConfig | None = None,
) -> AttestationPredicate:
    """Verify the attestation's signature and that its subject is the expected model.

    Trust exactly one of ``public_key_path`` (key method) or ``verification``, the
    :class:`~kfp_mlsecops.signing.VerificationConfig` that verifies the model: the attestation
    must be signed with the same method and pass the same trust policy (key; CA chain, code
    signing, validity now and identity; or Sigstore identity, issuer and trust config, offline).
    ``expected_model_digest`` is the digest returned by verifying the model signature
    (``sha256:<hex>``). Returns the parsed predicate; raises VerificationError on any failure
    (unreadable or non-JSON file, another method, edited payload or signature, untrusted
    signer, another subject, wrong statement or predicate type, malformed predicate) and
    InvalidInputError when both or neither of the trust arguments are given.
    """
    path = _path(attestation_path, "attestation_path")
    verification = resolve_verification(public_key_path=public_key_path, verification=verification)
    pinned = verification.expected_digest
    if pinned is not None and pinned != expected_model_digest:
        raise _failure(
            path,
            f"cannot be checked: the verification config pins model {pinned}, but "
            f"expected_model_digest is {expected_model_digest!r:.80}",
        )
    name, predicate = verify_statement(
        path=path,
        verification=verification,
        predicate_type=C.ATTESTATION_PREDICATE_TYPE,
        expected_model_digest=expected_model_digest,
        what="attestation",
    )
    try:
        return parse_predicate(predicate, name=name, digest=expected_model_digest)
    except ValueError as e:
        raise _failure(path, str(e)) from e


def _failure(path: Path, reason: str) -> VerificationError:
    return VerificationError(f"attestation '{path}' {one_line(reason)}; {_DO_NOT_DEPLOY}")


def check_attested_numbers(predicate: AttestationPredicate, results: dict[str, Any]) -> None:
    """Raise VerificationError unless the attested results equal ``results`` exactly.

    Both sides are compared in RFC 8785 canonical JSON: every key and value must match, numbers
    as the same IEEE-754 double (``1`` equals ``1.0``; ``0.9`` does not equal ``0.90000001``).
    """

    def fail(reason: str) -> VerificationError:
        return VerificationError(f"attestation check: {one_line(reason)}; {_DO_NOT_DEPLOY}")

    if not isinstance(predicate, AttestationPredicate):
        raise fail(f"expected a verified AttestationPredicate, got {type(predicate).__name__}")
    if not isinstance(results, dict):
        raise fail(f"the gated results are a {type(results).__name__}, not a JSON object")
    try:
        attested, gated = canonical(predicate.results), canonical(results)
    except ValueError as e:
        raise fail(f"the results are not plain JSON ({e})") from e
    if attested == gated:
        return
    keys = sorted(set(predicate.results) | set(results))
    differing = [
        key
        for key in keys
        if key not in predicate.results
        or key not in results
        or canonical(predicate.results[key]) != canonical(results[key])
    ]
    raise fail(
        "the attested results differ from the results being gated on "
        f"({', '.join(differing[:10]) or 'content'}); gate only on attested numbers"
    )


def _path(value: object, what: str) -> Path:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or not str(value):
        raise InvalidInputError(f"{what} must be a non-empty path, got {value!r:.80}")
    return Path(value)
