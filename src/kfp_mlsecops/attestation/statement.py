"""Sign and verify any in-toto Statement about one model, with any signing method.

The robustness attestation (:mod:`.create`, :mod:`.verify`) and the gate's signed approval
(:mod:`kfp_mlsecops.gate.approval`) are both Statements whose one subject is the model (our model
digest) and whose predicate type says what is claimed. Both are signed by the signing method's
Statement signer (:meth:`~kfp_mlsecops.signing.SigningConfig.envelope_signer`) and verified by
its Statement verifier (:meth:`~kfp_mlsecops.signing.VerificationConfig.envelope_verifier`), so
every signing method serves every use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE as _DIGEST
from kfp_mlsecops._io import one_line, write_text_atomic
from kfp_mlsecops.attestation._statement import build_payload, read_statement
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError, SigningError, VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig
from kfp_mlsecops.signing.method import EnvelopeSigner

__all__ = ["sign_statement", "verify_statement"]


def sign_statement(
    *,
    model_name: str,
    model_digest: str,
    predicate_type: str,
    predicate: dict[str, Any],
    signing: SigningConfig | EnvelopeSigner,
    out_path: str | os.PathLike[str],
    what: str = "statement",
) -> None:
    """Sign a Statement about the model ``model_digest`` and write it atomically to ``out_path``.

    ``signing`` is the :class:`~kfp_mlsecops.signing.SigningConfig` to sign with (any method).
    Raises InvalidInputError for a bad digest, predicate or path and SigningError when signing
    fails; nothing is written then.
    """
    if not isinstance(model_digest, str) or not _DIGEST.fullmatch(model_digest):
        raise InvalidInputError(f"{what}: model digest {model_digest!r:.80} is not sha256:<hex>")
    signer = signing.envelope_signer() if isinstance(signing, SigningConfig) else signing
    try:
        payload = build_payload(
            model_name=model_name,
            digest_hex=model_digest.removeprefix(C.MODEL_DIGEST_PREFIX),
            predicate=predicate,
            predicate_type=predicate_type,
        )
    except ValueError as e:
        raise InvalidInputError(f"{what}: the Statement is invalid ({e}); check the inputs") from e
    try:
        document = signer.sign(payload)
    except MLSecOpsError:
        raise
    except Exception as e:  # noqa: BLE001 - any signing failure means no statement
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        raise SigningError(
            f"{what}: signing with {signer.describe()} failed ({detail}); check the signing inputs"
        ) from e
    try:
        write_text_atomic(out_path, document.decode("utf-8"))
    except OSError as e:
        raise InvalidInputError(
            f"{what} path '{out_path}': cannot write there ({e.strerror}); pick a writable path"
        ) from e


def verify_statement(
    *,
    path: str | os.PathLike[str],
    verification: VerificationConfig,
    predicate_type: str,
    expected_model_digest: str,
    what: str = "statement",
) -> tuple[str, Any]:
    """Verify the signed Statement at ``path``; return ``(model name, predicate)``.

    The signature must verify under ``verification`` (the same trust rules as model
    signatures), the predicate type must be ``predicate_type`` and the one subject must be
    ``expected_model_digest``. Any failure raises a one-line VerificationError ending in
    "do not deploy"; nothing unexpected lets a statement through.
    """
    where = Path(path)

    def fail(reason: str) -> VerificationError:
        return VerificationError(f"{what} '{where}' {one_line(reason)}; do not deploy")

    if not isinstance(expected_model_digest, str) or not _DIGEST.fullmatch(expected_model_digest):
        raise fail(
            f"cannot be checked: expected model digest {expected_model_digest!r:.80} is not "
            "sha256:<hex>"
        )
    if not isinstance(verification, VerificationConfig):
        raise InvalidInputError(f"{what}: verification must be a VerificationConfig")
    try:
        verifier = verification.envelope_verifier()
    except VerificationError as e:
        raise fail(str(e)) from e
    try:
        document = where.read_bytes()
    except FileNotFoundError as e:
        raise fail("does not exist") from e
    except OSError as e:
        raise fail(f"cannot be read ({e.strerror})") from e
    try:
        name, digest, predicate = read_statement(verifier.verify(document), predicate_type)
    except ValueError as e:
        raise fail(str(e)) from e
    except Exception as e:  # fail closed: nothing unexpected may let a statement through
        raise fail(f"could not be verified ({type(e).__name__}: {e})") from e
    if digest != expected_model_digest:
        raise fail(
            f"is about model {digest}, not the signed model {expected_model_digest} (a statement "
            "about another model)"
        )
    return name, predicate
