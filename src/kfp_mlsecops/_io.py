"""Small helpers shared by the cores: atomic writes, hashing, Markdown tables, number checks."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kfp_mlsecops.errors import InvalidInputError

_CHUNK = 1 << 20


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` via a temp file and rename: readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports and artifacts are meant to be read
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as sorted, indented JSON (stable bytes for equal content)."""
    return write_text_atomic(
        path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Render a GitHub-flavoured Markdown table; ``|`` and newlines in cells are escaped."""

    def cell(value: Any) -> str:
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def is_number(value: object) -> bool:
    """Return True for a finite int/float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def one_line(error: BaseException | str, limit: int = 400) -> str:
    """Return ``error`` as one short line (whitespace collapsed, truncated)."""
    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_line(error: BaseException, limit: int) -> str:
    """Return the first line of ``error`` (its class name when empty), cut at ``limit``."""
    text = str(error)
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]


def _no_constants(token: str) -> Any:
    raise ValueError(f"non-finite number {token} is not allowed")


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for ``json.loads``: an object, ValueError on a repeated key."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def strict_json(text: str | bytes) -> Any:
    """Parse JSON strictly (no NaN/Infinity, no duplicate keys); ValueError with a short reason."""
    try:
        return json.loads(text, parse_constant=_no_constants, object_pairs_hook=no_duplicate_keys)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at line {e.lineno})") from e


def _finite_only(token: str) -> Any:
    raise ValueError(f"non-finite number {token}")


def finite_json(text: str | bytes) -> Any:
    """Parse JSON refusing NaN/Infinity (ValueError); unlike :func:`strict_json`, keys may repeat.

    For the readers whose documents never were checked for repeated keys.
    """
    return json.loads(text, parse_constant=_finite_only)


def read_json_object(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``path`` as one strict JSON object; ValueError/OSError with a short reason otherwise."""
    obj = strict_json(Path(path).read_text(encoding="utf-8"))
    if not isinstance(obj, dict):
        raise ValueError(f"top level is a JSON {type(obj).__name__}, not an object")
    return obj


def read_json_file(path: str | os.PathLike[str], *, where: str, missing: str, fix: str) -> Any:
    """Read ``path`` as strict JSON; InvalidInputError naming ``where`` and what to do.

    ``missing`` says what to do when the file does not exist, ``fix`` when it is not strict
    JSON; an unreadable file names the error class only.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InvalidInputError(f"{where} do not exist; {missing}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{where} are unreadable ({type(e).__name__})") from e
    try:
        return strict_json(text)
    except ValueError as e:
        raise InvalidInputError(f"{where}: {e}; {fix}") from e
