"""Create the signed robustness attestation of a model (after attack_test, signed as the model)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE
from kfp_mlsecops._io import strict_json
from kfp_mlsecops.attestation import predicate as P
from kfp_mlsecops.attestation._json import canonical
from kfp_mlsecops.attestation.statement import sign_statement
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.signing import SigningConfig, model_digest
from kfp_mlsecops.signing.method import EnvelopeSigner

PathArg = str | os.PathLike[str]


def create_attestation(
    *,
    model_dir: PathArg,
    results_path: PathArg,
    policy: dict[str, Any],
    data_digest: str,
    attack_config: dict[str, Any],
    out_path: PathArg,
    private_key_path: PathArg | None = None,
    password_path: PathArg | None = None,
    signing: SigningConfig | None = None,
) -> str:
    """Sign an in-toto Statement binding the robustness results to the model; return its digest.

    The subject is the model (directory name, ``sha256`` of :func:`~kfp_mlsecops.signing.
    model_digest`); the predicate holds the results JSON as written by attack_test, ``policy``,
    ``data_digest``, ``attack_config`` and library versions. Sign with exactly one of
    ``private_key_path`` (key method; ``password_path`` for an encrypted key) or ``signing``,
    the :class:`~kfp_mlsecops.signing.SigningConfig` that signs the model: the attestation is
    signed with the same method and material (a DSSE envelope for ``key``, a Sigstore bundle for
    ``certificate`` and ``sigstore``). The document is written atomically to ``out_path``,
    which must lie outside the model directory. Raises InvalidInputError for unusable inputs
    (including results computed for another model) and SigningError when signing fails.
    """
    signer = _signer(private_key_path, password_path, signing)
    return _create(
        signer,
        model_dir=_path(model_dir, "model_dir"),
        results_path=_path(results_path, "results_path"),
        policy=policy,
        data_digest=data_digest,
        attack_config=attack_config,
        out_path=_path(out_path, "out_path"),
    )


def _signer(
    private_key_path: PathArg | None,
    password_path: PathArg | None,
    signing: SigningConfig | None,
) -> EnvelopeSigner:
    """Return the signing backend for exactly one of the key shortcut or a SigningConfig."""
    if (private_key_path is None) == (signing is None):
        raise InvalidInputError(
            "create_attestation needs exactly one of private_key_path (key method) or signing "
            f"(a SigningConfig); got {'both' if signing is not None else 'neither'}"
        )
    if signing is None:
        password = None if password_path is None else _path(password_path, "password_path")
        key = SigningConfig().use_key(
            private_key_path=_path(private_key_path, "private_key_path"), password_path=password
        )
        return key.envelope_signer()
    if password_path is not None:
        raise InvalidInputError(
            "password_path goes with private_key_path; with signing, pass it to "
            "SigningConfig.use_key"
        )
    if not isinstance(signing, SigningConfig):
        raise InvalidInputError(
            f"signing must be a kfp_mlsecops.signing.SigningConfig, got {type(signing).__name__}"
        )
    return signing.envelope_signer()


def _create(
    signer: EnvelopeSigner,
    *,
    model_dir: Path,
    results_path: Path,
    policy: dict[str, Any],
    data_digest: str,
    attack_config: dict[str, Any],
    out_path: Path,
) -> str:
    """Build, sign and write the attestation with any signing backend."""
    digest = model_digest(model_dir)
    target = _target(out_path, model_dir.resolve())
    results = _results(results_path, digest)
    predicate = {
        P.RESULTS: results,
        P.POLICY: _json_object(policy, "policy"),
        P.DATA_DIGEST: _data_digest(data_digest),
        P.ATTACK_CONFIG: _json_object(attack_config, "attack_config"),
        P.LIBRARY_VERSIONS: P.library_versions(),
    }
    sign_statement(
        model_name=model_dir.resolve().name,
        model_digest=digest,
        predicate_type=C.ATTESTATION_PREDICATE_TYPE,
        predicate=predicate,
        signing=signer,
        out_path=target,
        what=f"attestation of model '{model_dir}'",
    )
    return digest


def _path(value: object, what: str) -> Path:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or not str(value):
        raise InvalidInputError(f"{what} must be a non-empty path, got {value!r}")
    return Path(value)


def _target(out_path: Path, model: Path) -> Path:
    resolved = out_path.resolve()
    if resolved.is_relative_to(model):
        raise InvalidInputError(
            f"attestation path '{out_path}' is inside the model directory '{model}'; write it "
            "outside (a file inside the model changes the model digest it attests)"
        )
    if resolved.is_dir():
        raise InvalidInputError(f"attestation path '{out_path}' is a directory; pass a file path")
    return resolved


def _results(path: Path, digest: str) -> dict[str, Any]:
    where = f"robustness results '{path}'"
    try:
        results = strict_json(path.read_bytes())
    except FileNotFoundError as e:
        raise InvalidInputError(f"{where} do not exist; run attack_test first") from e
    except OSError as e:
        raise InvalidInputError(f"{where} cannot be read ({e.strerror}); check the file") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{where} are not strict JSON ({e}); rerun attack_test") from e
    if not isinstance(results, dict) or results.get(C.SCHEMA) != C.ROBUSTNESS_SCHEMA:
        raise InvalidInputError(
            f"{where} are not {C.ROBUSTNESS_SCHEMA} results; pass attack_test's results JSON"
        )
    attested_for = results.get(C.MODEL_DIGEST)
    if attested_for is not None and attested_for != digest:
        raise InvalidInputError(
            f"{where} were computed for model {attested_for!r}, not for this model ({digest}); "
            "rerun attack_test on this model"
        )
    _json_object(results, where)
    return results


def _json_object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise InvalidInputError(f"{what} must be a non-empty JSON object, got {value!r:.80}")
    try:
        canonical(value)
    except ValueError as e:
        raise InvalidInputError(
            f"{what} is not plain JSON ({e}); pass strings, numbers, lists"
        ) from e
    return value


def _data_digest(value: object) -> str:
    if not isinstance(value, str) or not DIGEST_RE.fullmatch(value):
        raise InvalidInputError(
            f"data_digest {value!r:.80} is not sha256:<64 hex>; pass validate_data's dataset digest"
        )
    return value
