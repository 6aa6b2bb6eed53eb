"""Strict field checks for the JSON documents the package writes and reads back.

Each check returns the value or raises ValueError naming the field (``what``) and the rule it
broke; the document readers turn that into a one-line InvalidInputError saying how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import is_number

__all__ = [
    "DIGEST_RE",
    "HEX64_RE",
    "boolean",
    "digest",
    "document",
    "expected",
    "integer",
    "json_object",
    "nonempty_list",
    "number",
    "optional_digest",
    "rate",
    "text",
]

#: A SHA-256 as 64 lowercase hex digits (in-toto and Sigstore digest maps).
HEX64_RE = re.compile(r"[0-9a-f]{64}")
#: A content digest as the package writes it.
DIGEST_RE = re.compile(rf"sha256:{HEX64_RE.pattern}")


def json_object(
    value: object, what: str, keys: Set[str], optional: Set[str] | None = None
) -> dict[str, Any]:
    """Return ``value`` if it is an object with all ``keys`` and nothing beyond ``optional``."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    missing = sorted(set(keys) - set(value))
    if missing:
        raise ValueError(f"{what} lacks {', '.join(repr(k) for k in missing)}")
    unknown = sorted(set(value) - set(keys) - set(optional or ()))
    if unknown:
        raise ValueError(f"{what} has unknown key(s) {', '.join(repr(k) for k in unknown)}")
    return value


def number(value: object, what: str, low: float | None = None, high: float | None = None) -> float:
    """Return ``value`` as a float: a finite JSON number (no bool), within the given bounds."""
    if not is_number(value):
        raise ValueError(f"{what}={value!r} must be a finite number (not a string or bool)")
    result = float(value)  # type: ignore[arg-type]
    if low is not None and high is not None:
        if not low <= result <= high:
            raise ValueError(f"{what}={value!r} must be in [{low:g}, {high:g}]")
    elif low is not None and result < low:
        raise ValueError(f"{what}={value!r} must be >= {low:g}")
    elif high is not None and result > high:
        raise ValueError(f"{what}={value!r} must be <= {high:g}")
    return result


def rate(value: object, what: str) -> float:
    """Return ``value`` as a float in [0, 1]."""
    return number(value, what, 0.0, 1.0)


def integer(value: object, what: str, low: int, below: int | None = None) -> int:
    """Return ``value`` if it is an integer (no bool) >= ``low`` and below ``below``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{what}={value!r} must be an integer >= {low}")
    if below is not None and value >= below:
        raise ValueError(f"{what}={value!r} must be below {below}")
    return value


def boolean(value: object, what: str) -> bool:
    """Return ``value`` if it is true or false."""
    if not isinstance(value, bool):
        raise ValueError(f"{what}={value!r} must be true or false")
    return value


def text(value: object, what: str) -> str:
    """Return ``value`` if it is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}={value!r} must be a non-empty string")
    return value


def nonempty_list(value: object, what: str) -> list[Any]:
    """Return ``value`` if it is a non-empty list."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{what} must be a non-empty list")
    return value


def digest(value: object, what: str) -> str:
    """Return ``value`` if it is ``sha256:<64 lowercase hex>``."""
    if not isinstance(value, str) or not DIGEST_RE.fullmatch(value):
        raise ValueError(f"{what}={value!r} is not 'sha256:<64 hex>'")
    return value


def optional_digest(obj: dict[str, Any], key: str) -> str | None:
    """Return ``obj[key]`` checked as a digest, or None when ``obj`` lacks ``key``."""
    return digest(obj[key], key) if key in obj else None


def document(
    value: object, schema: str, keys: Set[str], optional: Set[str] | None = None
) -> dict[str, Any]:
    """Return ``value`` if it is a document of ``schema`` with ``keys`` (see :func:`json_object`).

    The schema is checked first, so a different document is named as such before its keys are.
    """
    if isinstance(value, dict) and value.get(C.SCHEMA) != schema:
        raise ValueError(f"schema is {value.get(C.SCHEMA)!r}, expected {schema!r}")
    return json_object(value, "the document", keys, optional)


def expected(obj: dict[str, Any], key: str, want: object) -> None:
    """Raise unless ``obj[key]`` is ``want`` (a fixed value such as a method's name)."""
    if obj[key] != want:
        raise ValueError(f"{key}={obj[key]!r}, expected {want!r}")
