"""Verify a model directory against a model-signing bundle; fail closed on anything unexpected.

Returns the verified model digest or raises VerificationError; there is no boolean result and
no code path that lets an exception pass. Other methods (certificate, keyless Sigstore) would add
one ``_<method>_verifier`` builder and a public function reusing :func:`_verify_with`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from model_signing import verifying as ms_verifying

from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing._bundle import SignedStatement, read_bundle_json, signed_statement
from kfp_mlsecops.signing._contract import (
    HASH_ALGORITHM,
    as_path,
    check_model_dir,
    digest_of,
    hashing_config,
    normalize_ignore_paths,
    one_line,
)
from kfp_mlsecops.signing.keys import SUPPORTED_CURVES

_DO_NOT_DEPLOY = "do not deploy"
#: Builds the one-line VerificationError for a reason (prefix and advice filled in).
_Fail = Callable[[str], VerificationError]


def verify_model(
    model_dir: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    *,
    public_key_path: str | os.PathLike[str],
    ignore_paths: Sequence[str] = (),
) -> str:
    """Verify ``model_dir`` against the bundle at ``signature_path``; return the verified digest.

    ``ignore_paths`` (relative to the model) lists paths that may stay unsigned, e.g. a bundle
    kept inside the model folder by another tool. Every path the bundle itself declares as ignored
    must be in that list, so unsigned files are never accepted silently. Any failure (missing or
    unreadable input, bad signature, changed/added/removed file, unexpected serialization) raises
    VerificationError; only a plainly wrong argument type raises InvalidInputError.
    """
    model_arg = as_path(model_dir, "model_dir")
    sig_arg = as_path(signature_path, "signature_path")
    key_arg = as_path(public_key_path, "public_key_path")
    allowed = normalize_ignore_paths(ignore_paths)
    prefix = f"model '{model_arg}': signature '{sig_arg}'"

    def fail(reason: str) -> VerificationError:
        return VerificationError(f"{prefix} {reason}; {_DO_NOT_DEPLOY}")

    try:
        return _verify_key_signed(model_arg, sig_arg, key_arg, allowed, fail)
    except VerificationError:
        raise
    except Exception as e:  # fail closed: nothing unexpected may let a model through
        raise fail(f"could not be verified ({one_line(e)})") from e


def _verify_key_signed(
    model_arg: Path, sig_arg: Path, key_arg: Path, allowed: tuple[str, ...], fail: _Fail
) -> str:
    try:
        model = check_model_dir(model_arg, error=VerificationError, ignore_paths=allowed)
    except VerificationError as e:
        reason = one_line(e).removeprefix(f"model '{model_arg}': ")
        raise fail(f"cannot be checked ({reason})") from e
    _check_public_key(key_arg, fail)
    try:
        data = sig_arg.read_bytes()
    except FileNotFoundError as e:
        raise fail("does not exist (was the model signed?)") from e
    except OSError as e:
        raise fail(f"cannot be read ({e.strerror})") from e
    try:
        read_bundle_json(data)  # fail early, with a clear reason, on a non-bundle
    except ValueError as e:
        raise fail(f"is unusable: {one_line(e)}") from e
    sig_resolved = sig_arg.resolve()
    if sig_resolved.is_relative_to(model):
        rel = PurePosixPath(sig_resolved.relative_to(model).as_posix())
        if not any(rel.is_relative_to(p) for p in allowed):
            raise fail(
                "lies inside the model directory, so it is an unsigned extra file; keep "
                "signatures outside the model"
            )
    config = ms_verifying.Config().use_elliptic_key_verifier(public_key=key_arg)
    statement = _verify_with(config, model, data, allowed, fail, what=f"public key '{key_arg}'")
    return digest_of(statement.resources)


def _mismatch_reason(
    error: Exception, model: Path, bundle_bytes: bytes, allowed: tuple[str, ...]
) -> str:
    """Say which files differ ("files added: a; files changed: b"), else model-signing's reason.

    Model-signing reports a manifest mismatch only after the signature itself verified, so the
    signed resource list is authentic; we re-hash the model to name the differing files.
    """
    if isinstance(error, InvalidSignature):
        return "invalid signature: the bundle was edited or made with another key"
    fallback = one_line(error)
    if not str(error).startswith("Signature mismatch"):
        return fallback
    try:
        statement = signed_statement(read_bundle_json(bundle_bytes))
        signed_ignored = statement.serialization.get("ignore_paths", [])
        manifest = hashing_config([*allowed, *signed_ignored]).hash(model)
        actual = {rd.identifier: rd.digest.digest_hex for rd in manifest.resource_descriptors()}
    except Exception:  # noqa: BLE001 - only the wording of the error is at stake here
        return fallback
    expected = {name: digest for name, _, digest in statement.resources}
    parts = []
    for label, names in (
        ("files added", sorted(actual.keys() - expected.keys())),
        ("files removed", sorted(expected.keys() - actual.keys())),
        (
            "files changed",
            sorted(n for n in actual.keys() & expected.keys() if actual[n] != expected[n]),
        ),
    ):
        if names:
            shown = ", ".join(names[:10]) + (
                f" and {len(names) - 10} more" if len(names) > 10 else ""
            )
            parts.append(f"{label}: {shown}")
    return "; ".join(parts) or fallback


def _check_public_key(path: Path, fail: _Fail) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise fail(f"cannot be checked: public key '{path}' does not exist") from e
    except OSError as e:
        raise fail(f"cannot be checked: public key '{path}' cannot be read ({e.strerror})") from e
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise fail(f"cannot be checked: '{path}' is not a PEM public key") from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in SUPPORTED_CURVES:
        raise fail(
            f"cannot be checked: public key '{path}' is not ECDSA on {', '.join(SUPPORTED_CURVES)}"
        )


def _verify_with(
    config: ms_verifying.Config,
    model: Path,
    bundle_bytes: bytes,
    allowed: tuple[str, ...],
    fail: _Fail,
    *,
    what: str,
) -> SignedStatement:
    """Run model-signing on a private copy of the bundle bytes, then check the signed statement.

    Verifying a private copy means the bytes we parse afterwards are exactly the bytes that were
    verified, even if the signature file changes meanwhile.
    """
    config.set_hashing_config(hashing_config(allowed))
    with tempfile.TemporaryDirectory(prefix="kfp-mlsecops-verify-") as tmp_dir:
        copy = Path(tmp_dir, "bundle.sig")
        copy.write_bytes(bundle_bytes)
        try:
            config.verify(model, copy)
        except Exception as e:
            reason = _mismatch_reason(e, model, bundle_bytes, allowed)
            raise fail(f"does not verify against {what} ({reason})") from e
    try:
        statement = signed_statement(read_bundle_json(bundle_bytes))
    except ValueError as e:
        raise fail(f"verified but its statement is unusable ({one_line(e)})") from e
    serialization_ = statement.serialization
    expected = {"method": "files", "hash_type": HASH_ALGORITHM, "allow_symlinks": False}
    for key, value in expected.items():
        if serialization_.get(key) != value or type(serialization_.get(key)) is not type(value):
            raise fail(
                f"was made with serialization {key}={serialization_.get(key)!r}, expected {value!r}"
            )
    signed_ignored = serialization_.get("ignore_paths", [])
    if not isinstance(signed_ignored, list) or not all(isinstance(p, str) for p in signed_ignored):
        raise fail("declares malformed ignore_paths")
    unapproved = sorted({str(PurePosixPath(p)) for p in signed_ignored} - set(allowed))
    if unapproved:
        raise fail(
            f"leaves paths unsigned that the caller did not allow ({', '.join(unapproved)}); "
            "pass them in ignore_paths only if unsigned files there are acceptable"
        )
    if not statement.resources:
        raise fail("covers no file")
    return statement
