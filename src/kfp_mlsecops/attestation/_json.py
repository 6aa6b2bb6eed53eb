"""Strict JSON for attestation inputs and payloads, and the canonical form numbers are compared in.

Strict means: no NaN/Infinity, no duplicate keys (two readers could disagree on which one wins).
The canonical form is RFC 8785 (JCS), via the ``rfc8785`` package: keys sorted, no whitespace,
every number written as the IEEE-754 double it denotes, so ``200`` and ``200.0`` are equal and any
other change to a number is not.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785


def _no_constants(token: str) -> Any:
    raise ValueError(f"non-finite number {token} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def strict_loads(data: bytes | str) -> Any:
    """Parse JSON strictly; ValueError (UnicodeDecodeError included) when it is not."""
    try:
        return json.loads(data, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at line {e.lineno})") from e


def canonical(value: Any) -> bytes:
    """Return the RFC 8785 canonical bytes of ``value``; ValueError when it is not plain JSON.

    Refused: non-string keys, NaN/Infinity, integers beyond 2**53 (not exact as JSON numbers),
    and any type JSON cannot hold.
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as e:
        raise ValueError(str(e)) from e
    except TypeError as e:  # an object JSON cannot hold (a set, a Path, ...)
        raise ValueError(str(e)) from e
