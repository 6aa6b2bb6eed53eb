"""The contract shared by signing and verification: hashing config, model checks, digest.

Sign and verify are separate modules; this is the only code they share. Nothing here signs or
verifies anything: it says how a model directory is hashed and how our model digest is computed
(``_bundle`` says how the signed statement inside an OpenSSF Model Signing bundle is read).

Our model digest is NOT the subject digest model-signing writes into the statement. That subject
digest is SHA-256 over the file digests alone (in path order), so it does not bind file names:
renaming the only file of a model, or renaming files without changing their order, keeps it. Ours
hashes the sorted (path, algorithm, hex digest) triples of the same manifest: SHA-256 over the
tag line ``kfp-mlsecops/model-digest/v1`` followed by one line per triple, each line being
``json.dumps([path, algorithm, hexdigest], ensure_ascii=False)`` (UTF-8, newline-terminated),
written as ``sha256:<hex>``. It is computed from the signed resource list after verification and
from a fresh hash of the directory in :func:`model_digest`; both agree whenever verification
passes with no ignored paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final, Union

from kfp_mlsecops._fields import DIGEST_RE as _DIGEST_RE
from kfp_mlsecops._io import one_line
from kfp_mlsecops.constants import MODEL_DIGEST_PREFIX, SAVEDMODEL_VERSION_DIR
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError

if TYPE_CHECKING:
    from model_signing import hashing

HASH_ALGORITHM: Final = "sha256"
#: Bytes read per call while hashing a file (model-signing's default; does not affect digests).
HASH_CHUNK_SIZE: Final = 1 << 20
#: Files hashed at once: as many threads as concurrent.futures would pick (CPUs + 4, at most
#: 32), so small and big files all progress together (does not affect digests).
HASH_MAX_WORKERS: Final = min(32, (os.cpu_count() or 1) + 4)

_DIGEST_DOMAIN = b"kfp-mlsecops/model-digest/v1\n"

#: A manifest entry: (POSIX path relative to the model root, hash algorithm, hex digest).
Resource = tuple[str, str, str]
#: A path argument of the public API.
PathArg = Union[str, "os.PathLike[str]"]


def as_path(value: object, what: str) -> Path:
    """Return ``value`` as a Path, or raise InvalidInputError when it is not path-like."""
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise InvalidInputError(
            f"{what} must be a path (str or os.PathLike), got {type(value).__name__}"
        )
    path = Path(value)
    if not str(value):
        raise InvalidInputError(f"{what} is empty; pass a path")
    return path


def opt_path(value: PathArg | None) -> PathArg | None:
    """Return ``value``, or None when it is None or an empty/blank string (an unset option)."""
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def as_text(value: object, what: str) -> str:
    """Return ``value`` when it is a non-blank string, else raise InvalidInputError."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string; pass the expected {what}")
    return value


def check_options(
    kind: str, method: str, given: Mapping[str, bool], allowed: Sequence[str]
) -> None:
    """Refuse an option that ``method`` does not use (InvalidInputError)."""
    extra = sorted(name for name, is_set in given.items() if is_set and name not in allowed)
    if extra:
        raise InvalidInputError(
            f"{kind} method {method!r} does not use {', '.join(extra)}; drop it"
        )


def is_valid_digest(value: object) -> bool:
    """Return True when ``value`` is a ``sha256:<64 lowercase hex>`` string."""
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None


def normalize_ignore_paths(paths: Sequence[str]) -> tuple[str, ...]:
    """Validate relative ignore paths (no '..', not absolute, not '.'); return them normalized."""
    if isinstance(paths, (str, bytes)) or not isinstance(paths, Sequence):
        raise InvalidInputError(
            f"ignore_paths must be a list of relative paths, got {type(paths).__name__}"
        )
    result = []
    for raw in paths:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidInputError(f"ignore_paths entry {raw!r} must be a non-empty string")
        pure = PurePosixPath(raw)
        if pure.is_absolute() or ".." in pure.parts or str(pure) == ".":
            raise InvalidInputError(
                f"ignore_paths entry {raw!r} must be a path inside the model (relative, no '..')"
            )
        result.append(str(pure))
    return tuple(sorted(set(result)))


def hashing_config(ignore_paths: Sequence[str] = ()) -> hashing.Config:
    """Return the one hashing configuration used on both sides, with every default made explicit.

    Files are hashed one by one with SHA-256, symlinks are refused, and ``.git*`` paths are NOT
    ignored (model-signing's default would let anything hide under ``.git/``).

    Why per-file SHA-256 and not a faster mode: the upstream ``model_signing`` CLI always
    re-hashes per file with SHA-256, so only this mode keeps our signatures verifiable by it
    (and by any OMS verifier). Shard serialization would parallelize inside one big file and
    BLAKE3 is several times faster, but the upstream CLI rejects both, and model-signing's own
    inference of a sharded config crashes; bench/signing.py measures each mode. Read size and
    worker count do not change the manifest: files are read in 1 MiB chunks by up to
    ``HASH_MAX_WORKERS`` threads at once (hashlib releases the GIL), so every file of a
    multi-file model progresses concurrently and the cores stay busy whatever the file sizes.
    """
    from model_signing import hashing  # imported here: listing signing methods stays cheap

    return (
        hashing.Config()
        .set_ignored_paths(paths=list(ignore_paths), ignore_git_paths=False)
        .use_file_serialization(
            hashing_algorithm=HASH_ALGORITHM,
            chunk_size=HASH_CHUNK_SIZE,
            max_workers=HASH_MAX_WORKERS,
            allow_symlinks=False,
        )
        .set_allow_symlinks(False)
    )


def check_model_dir(
    model_dir: object,
    *,
    error: type[MLSecOpsError],
    ignore_paths: Sequence[str] = (),
) -> Path:
    """Return the resolved model directory or raise ``error`` naming what is wrong with it.

    Refuses: a missing path, a non-directory, any symlink or special file inside, and a directory
    with no regular file outside ``ignore_paths``.
    """
    given = as_path(model_dir, "model_dir")
    if not given.exists():
        raise error(f"model directory '{given}' does not exist; pass the model artifact's path")
    if not given.is_dir():
        raise error(f"model '{given}' is not a directory; pass the model artifact's directory")
    root = given.resolve()
    ignored = [PurePosixPath(p) for p in ignore_paths]
    n_files = 0

    def _unreadable(e: OSError) -> None:
        raise error(f"model '{given}': cannot list '{e.filename}' ({e.strerror}); fix permissions")

    for dirpath, dirnames, filenames in os.walk(root, onerror=_unreadable, followlinks=False):
        for name in sorted(dirnames + filenames):
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise error(
                    f"model '{given}': '{rel}' is a symlink; replace it with the real file "
                    "(symlinks are refused so the signature covers real bytes)"
                )
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise error(
                    f"model '{given}': '{rel}' is not a regular file or directory; remove it"
                )
            if stat.S_ISREG(mode) and not any(
                PurePosixPath(rel).is_relative_to(i) for i in ignored
            ):
                n_files += 1
    if n_files == 0:
        raise error(f"model directory '{given}' has no files; pass the directory holding the model")
    return root


def digest_of(resources: Iterable[Resource]) -> str:
    """Return our ``sha256:<hex>`` digest of a manifest's (path, algorithm, hex digest) triples."""
    hasher = hashlib.sha256(_DIGEST_DOMAIN)
    for triple in sorted(resources):
        hasher.update(json.dumps(list(triple), ensure_ascii=False).encode("utf-8") + b"\n")
    return MODEL_DIGEST_PREFIX + hasher.hexdigest()


def saved_model_digest(model_dir: str | os.PathLike[str]) -> str | None:
    """Return :func:`model_digest` of a model folder holding a SavedModel version, else None.

    The privacy, poisoning and explanation results bind themselves to it, so a check can tell
    they were computed on the model the run signed.
    """
    if not (Path(model_dir) / SAVEDMODEL_VERSION_DIR).is_dir():
        return None
    return model_digest(model_dir)


def model_digest(model_dir: str | os.PathLike[str]) -> str:
    """Return the ``sha256:<hex>`` digest of a model directory, hashed as signing hashes it.

    Every regular file counts (``.git*`` too); symlinks and special files are refused. Renaming,
    adding, removing or changing any file changes the digest; empty directories do not count.
    Raises InvalidInputError when the directory is unusable.
    """
    root = check_model_dir(model_dir, error=InvalidInputError)
    try:
        manifest = hashing_config().hash(root)
        resources = [
            (rd.identifier, rd.digest.algorithm, rd.digest.digest_hex)
            for rd in manifest.resource_descriptors()
        ]
    except Exception as e:
        raise InvalidInputError(f"model '{model_dir}': cannot hash it ({one_line(e)})") from e
    return digest_of(resources)


def check_trust_config(path: Path, *, error: type[MLSecOpsError]) -> None:
    """Parse a Sigstore ClientTrustConfig JSON file offline; raise ``error`` naming the file."""
    from sigstore.models import ClientTrustConfig

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise error(f"trust config '{path}' does not exist; mount the trust config") from e
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"trust config '{path}' cannot be read ({one_line(e, 120)})") from e
    try:
        ClientTrustConfig.from_json(text)
    except Exception as e:
        raise error(
            f"trust config '{path}' is not a Sigstore ClientTrustConfig ({one_line(e, 120)})"
        ) from e
