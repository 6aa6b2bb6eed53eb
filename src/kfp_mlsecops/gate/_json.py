"""Strict JSON reading for gate inputs: no NaN/Infinity, no duplicate keys, one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kfp_mlsecops._io import is_number as is_number  # re-exported: the gate modules import it here


def one_line(error: BaseException | str, limit: int = 400) -> str:
    """Return ``error`` as one short line (whitespace collapsed, truncated)."""
    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _no_constants(token: str) -> Any:
    raise ValueError(f"non-finite number {token} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_json_object(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``path`` as one strict JSON object; ValueError/OSError with a short reason otherwise."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        obj = json.loads(text, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(obj, dict):
        raise ValueError(f"top level is a JSON {type(obj).__name__}, not an object")
    return obj
