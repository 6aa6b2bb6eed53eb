"""Running model-signing's verification and checking the signed statement it vouches for.

Used by :mod:`.verify` only. Verification runs on a private copy of the bundle bytes, so the
statement we read afterwards is exactly the one that was verified.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from model_signing import verifying as ms_verifying

from kfp_mlsecops.signing._bundle import SignedStatement, read_bundle_json, signed_statement
from kfp_mlsecops.signing._contract import HASH_ALGORITHM, hashing_config, one_line
from kfp_mlsecops.signing.method import Fail


def verify_with(
    config: ms_verifying.Config,
    model: Path,
    bundle_bytes: bytes,
    allowed: tuple[str, ...],
    fail: Fail,
    *,
    what: str,
) -> SignedStatement:
    """Run model-signing on a private copy of the bundle bytes, then check the signed statement."""
    config.set_hashing_config(hashing_config(allowed))
    with tempfile.TemporaryDirectory(prefix="kfp-mlsecops-verify-") as tmp_dir:
        copy = Path(tmp_dir, "bundle.sig")
        copy.write_bytes(bundle_bytes)
        try:
            config.verify(model, copy)
        except Exception as e:
            reason = mismatch_reason(e, model, bundle_bytes, allowed)
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


def mismatch_reason(
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
