"""Keras files: the ``config.json`` of a ``.keras`` archive, and legacy HDF5 models.

A ``.keras`` config is code-free when every object in it is a Keras built-in. Flagged:
``Lambda`` layers (their Python code is stored marshalled or as source), serialized Python
functions (``__lambda__`` / ``function`` entries), ``module`` entries outside ``keras`` /
``keras.*`` (custom classes that a loader would import), and ``registered_name`` values of the
form ``package>Name`` (objects registered with ``register_keras_serializable``: custom code).

Legacy HDF5 files (``.h5`` / ``.hdf5``) that hold a whole model (a ``model_config`` attribute)
are flagged: the project loads only ``.keras`` with ``safe_mode``; their config is scanned too,
so a ``Lambda`` inside is named. Weights-only HDF5 files carry no code and pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kfp_mlsecops._io import no_duplicate_keys, one_line
from kfp_mlsecops.safety import report as R
from kfp_mlsecops.safety.report import Finding

_FUNCTION_CLASSES = frozenset({"__lambda__", "function"})
#: Largest config.json read (bigger ones are reported as unscannable).
MAX_CONFIG_BYTES = 64 << 20


def scan_config_json(data: bytes, where: str) -> list[Finding]:
    """Return findings for a Keras model config (JSON bytes) found at ``where``."""
    try:
        config = json.loads(data, object_pairs_hook=no_duplicate_keys)
    except (ValueError, UnicodeDecodeError) as e:
        return [
            Finding(where, R.UNSCANNABLE, f"model config is not strict JSON ({one_line(e, 160)})")
        ]
    return scan_config(config, where)


def scan_config(config: Any, where: str) -> list[Finding]:
    """Return findings for an already parsed Keras config object."""
    findings: list[Finding] = []
    for node in _objects(config):
        class_name = node.get("class_name")
        if class_name == "Lambda":
            name = (
                node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
            )
            findings.append(
                Finding(where, R.KERAS_LAMBDA, f"Lambda layer {name!r} runs arbitrary Python code")
            )
        elif class_name in _FUNCTION_CLASSES:
            findings.append(
                Finding(where, R.KERAS_CUSTOM_CODE, f"serialized Python function ({class_name})")
            )
        module = node.get("module")
        if module is not None and not (
            isinstance(module, str) and (module == "keras" or module.startswith("keras."))
        ):
            findings.append(
                Finding(
                    where,
                    R.KERAS_CUSTOM_CODE,
                    f"{class_name!r} comes from module {module!r}, not Keras (custom code)",
                )
            )
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            findings.append(
                Finding(
                    where,
                    R.KERAS_CUSTOM_CODE,
                    f"custom registered object {registered!r} (needs its Python code to load)",
                )
            )
    return _dedupe(findings)


def scan_legacy_h5(path: Path, rel: str) -> list[Finding]:
    """Return findings for an HDF5 file: a whole legacy Keras model is flagged (and scanned)."""
    try:
        import h5py

        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
    except Exception as e:  # noqa: BLE001 - an unreadable file cannot be declared safe
        return [Finding(rel, R.UNSCANNABLE, f"HDF5 file cannot be read ({one_line(e, 160)})")]
    if raw is None:
        return []  # weights only: tensors, no code
    findings = [
        Finding(
            rel,
            R.LEGACY_H5_MODEL,
            "legacy HDF5 Keras model (loaded without .keras safe_mode); save it as .keras",
        )
    ]
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return findings + scan_config_json(text.encode("utf-8"), rel)


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Yield every JSON object in ``value`` (iteratively: configs can nest deeply)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            yield item
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))
