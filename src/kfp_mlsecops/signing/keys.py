"""ECDSA key pairs for the key signing method: generate them, load a signing key strictly."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kfp_mlsecops.errors import InvalidInputError, SigningError
from kfp_mlsecops.signing._contract import as_path

#: Curves model-signing 1.1.1 accepts for key signing (it maps each to its SHA-2 size).
SUPPORTED_CURVES = ("secp256r1", "secp384r1", "secp521r1")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file atomically; fail if ``path`` already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)  # atomic, and refuses to replace an existing file
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links: exclusive create instead
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    finally:
        Path(tmp).unlink(missing_ok=True)


def generate_key_pair(
    private_key_path: str | os.PathLike[str], public_key_path: str | os.PathLike[str]
) -> None:
    """Generate an ECDSA P-256 key pair as PEM files (private key mode 0600, unencrypted PKCS#8).

    Refuses to overwrite either file (InvalidInputError); keep the private key in a secret store.
    """
    private = as_path(private_key_path, "private_key_path")
    public = as_path(public_key_path, "public_key_path")
    if private.resolve() == public.resolve():
        raise InvalidInputError(f"private and public key paths are both '{private}'; pass two")
    for path in (private, public):
        if path.exists() or path.is_symlink():
            raise InvalidInputError(f"key file '{path}' already exists; pick a new path")
    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        _write_new(private, private_pem, 0o600)
    except FileExistsError as e:
        raise InvalidInputError(f"key file '{private}' already exists; pick a new path") from e
    try:
        _write_new(public, public_pem, 0o644)
    except BaseException as e:
        private.unlink(missing_ok=True)  # never leave half a key pair
        if isinstance(e, FileExistsError):
            raise InvalidInputError(f"key file '{public}' already exists; pick a new path") from e
        raise


def read_password(password_path: str | os.PathLike[str] | None) -> bytes | None:
    """Return the key password from a file (one trailing newline stripped), or None."""
    if password_path is None:
        return None
    path = as_path(password_path, "password_path")
    try:
        password = path.read_bytes()
    except OSError as e:
        raise SigningError(
            f"password file '{path}' cannot be read ({e.strerror}); mount the key password secret"
        ) from e
    password = password.removesuffix(b"\n").removesuffix(b"\r")
    if not password:
        raise SigningError(f"password file '{path}' is empty; write the key password into it")
    return password


def check_signing_key(private_key_path: str | os.PathLike[str], password: bytes | None) -> Path:
    """Load the private key once to fail early with a clear SigningError; return its path."""
    path = as_path(private_key_path, "private_key_path")
    load_signing_key(path, password)
    return path


def load_signing_key(
    path: Path, password: bytes | None, *, encrypted_advice: str = "pass password_path"
) -> ec.EllipticCurvePrivateKey:
    """Return the ECDSA private key at ``path`` or raise a one-line SigningError saying why not.

    ``encrypted_advice`` is what the error tells the user when the key is encrypted and no
    password was given.
    """
    where = f"private key '{path}'"
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise SigningError(f"{where} does not exist; mount the signing key secret") from e
    except OSError as e:
        raise SigningError(f"{where} cannot be read ({e.strerror}); check the file") from e
    try:
        key = serialization.load_pem_private_key(data, password)
    except TypeError as e:
        if password is None:
            raise SigningError(f"{where} is encrypted; {encrypted_advice}") from e
        raise SigningError(f"{where} is not encrypted; drop password_path") from e
    except ValueError as e:
        if _is_public_key(data):
            raise SigningError(f"{where} is a public key; pass the private key") from e
        if password is not None and b"ENCRYPTED" in data:
            raise SigningError(f"{where} cannot be decrypted; check the password") from e
        raise SigningError(f"{where} is not a PEM private key; pass an ECDSA PEM key") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        kind = type(key).__name__.removeprefix("_").removesuffix("PrivateKey") or "non-ECDSA"
        raise SigningError(
            f"{where} is an {kind} key; the key method needs ECDSA ({', '.join(SUPPORTED_CURVES)})"
        )
    if key.curve.name not in SUPPORTED_CURVES:
        raise SigningError(
            f"{where} uses curve {key.curve.name}; use one of {', '.join(SUPPORTED_CURVES)}"
        )
    return key


def _is_public_key(data: bytes) -> bool:
    try:
        serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        return False
    return True
