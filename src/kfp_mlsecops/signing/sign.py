"""Sign a model directory with OpenSSF model-signing (key method; other methods plug in here).

A new signing method (certificate, keyless Sigstore) adds one ``_<method>_signer`` builder and
one public ``sign_model_with_<method>`` function that reuses :func:`_sign_with`; the bundle
format, hashing config and digest stay in ``_contract`` / ``_bundle``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, cast

from model_signing import signing as ms_signing

from kfp_mlsecops.errors import InvalidInputError, SigningError
from kfp_mlsecops.signing._bundle import read_bundle_json, signed_statement
from kfp_mlsecops.signing._contract import (
    as_path,
    check_model_dir,
    digest_of,
    hashing_config,
    one_line,
)
from kfp_mlsecops.signing.keys import check_signing_key, read_password


def sign_model(
    model_dir: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    *,
    private_key_path: str | os.PathLike[str],
    password_path: str | os.PathLike[str] | None = None,
) -> str:
    """Sign every file of ``model_dir`` with an ECDSA private key; return the signed model digest.

    The signature (a Sigstore bundle holding an OMS in-toto statement) is written atomically to
    ``signature_path``, which must lie outside the model directory. Raises SigningError for an
    unusable model directory or key, InvalidInputError for a misplaced signature path.
    """
    model = check_model_dir(model_dir, error=SigningError)
    target = _signature_target(signature_path, model)
    password = read_password(password_path)
    key_path = check_signing_key(private_key_path, password)
    # model-signing types the password as str but hands it to cryptography, which needs bytes.
    try:
        config = ms_signing.Config().use_elliptic_key_signer(
            private_key=key_path, password=cast(Any, password)
        )
    except Exception as e:
        raise SigningError(
            f"private key '{key_path}' cannot be used by model-signing ({one_line(e)})"
        ) from e
    return _sign_with(config, model, target, what=f"private key '{key_path}'")


def _signature_target(signature_path: str | os.PathLike[str], model: Path) -> Path:
    target = as_path(signature_path, "signature_path")
    resolved = target.resolve()
    if resolved.is_relative_to(model):
        raise InvalidInputError(
            f"signature path '{target}' is inside the model directory '{model}'; write it "
            "outside (a file inside the model is part of what gets signed)"
        )
    if resolved.is_dir():
        raise InvalidInputError(f"signature path '{target}' is a directory; pass a file path")
    return resolved


def _sign_with(config: ms_signing.Config, model: Path, target: Path, *, what: str) -> str:
    """Sign ``model`` with a configured signer into ``target`` atomically; return the digest."""
    config.set_hashing_config(hashing_config())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise SigningError(
            f"signature path '{target}': cannot write there ({e.strerror}); pick a writable folder"
        ) from e
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            config.sign(model, tmp)
            statement = signed_statement(read_bundle_json(tmp.read_bytes()))
        except Exception as e:
            raise SigningError(
                f"model '{model}': signing with {what} failed ({one_line(e)}); check the model "
                "directory and key"
            ) from e
        if not statement.resources:
            raise SigningError(f"model '{model}': nothing was signed; check the model directory")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest_of(statement.resources)
