"""``mlsecops attack``: attack a saved model and write the figures as JSON.

On a raw NPZ (``x``, ``y``) it is a stand-alone evaluation tool; with ``--results`` on a
validate-data split it is the attack-test step (the component's core and results document).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import write_json_atomic, write_text_atomic
from kfp_mlsecops.attacks.epsilons import validate_epsilons
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError

__all__ = [
    "ATTACK_CLI_SCHEMA",
    "load_npz",
    "parse_epsilon_keys",
    "run_attack",
    "summary_line",
]

ATTACK_CLI_SCHEMA = "kfp-mlsecops/attack-cli/v1"

Progress = Callable[[str, int, int], None]


def parse_epsilon_keys(text: str) -> list[tuple[str, float]]:
    """Parse ``"0.1,0.20"`` into ``[("0.1", 0.1), ("0.20", 0.2)]``, keeping each key as written.

    Raises InvalidInputError for an empty entry, a non-number, a negative or non-finite value, or
    two entries with the same value (``0.1`` and ``0.10``).
    """
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise InvalidInputError(f"--eps {text!r}: empty entry; give numbers such as 0.1,0.2")
    pairs: list[tuple[str, float]] = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise InvalidInputError(f"--eps {text!r}: {part!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"--eps {text!r}: {part!r} must be a finite number >= 0")
        twin = next((key for key, seen in pairs if seen == value), None)
        if twin is not None:
            raise InvalidInputError(f"--eps {text!r}: {twin!r} and {part!r} are the same epsilon")
        pairs.append((part, value))
    return pairs


def load_npz(
    path: str | os.PathLike[str], *, lower: float, upper: float
) -> tuple[np.ndarray, np.ndarray]:
    """Load ``x`` and ``y`` from an NPZ (no pickles) and check them against ``[lower, upper]``.

    ``x`` may be 2-D (tabular), 3-D (images without a channel axis, one is added) or 4-D; ``y``
    holds one integer class index per row. Returns ``(x as float32, y as int64)``.
    """
    where = f"--data '{path}'"
    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(f"{where}: file not found; pass an .npz with arrays x and y")
    try:
        with np.load(source, allow_pickle=False) as npz:
            missing = sorted({C.NPZ_X, C.NPZ_Y} - set(npz.files))
            if missing:
                raise InvalidInputError(
                    f"{where}: missing array(s) {', '.join(missing)}; save x and y with np.savez"
                )
            x, y = np.asarray(npz[C.NPZ_X]), np.asarray(npz[C.NPZ_Y])
    except MLSecOpsError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        detail = " ".join(str(e).split())[:200]
        raise InvalidInputError(
            f"{where}: not a readable NPZ without pickles ({type(e).__name__}: {detail})"
        ) from e
    return _check_x(x, where=where, lower=lower, upper=upper), _check_y(y, len(x), where=where)


def run_attack(
    *,
    model_path: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    epsilons: str,
    tier: str,
    json_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str] | None = None,
    max_samples: int = 0,
    batch_size: int = 256,
    lower: float = 0.0,
    upper: float = 1.0,
    seed: int = 0,
    pgd_steps: int = 20,
    results_path: str | os.PathLike[str] | None = None,
    report_path: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Attack the model at every epsilon, write the summary JSON (and HTML report), return it.

    ``robust_accuracy`` and each ``per_attack`` entry are keyed by the epsilons as written in
    ``epsilons``; ``robust_accuracy`` is the per-sample worst case over the tier's attacks.
    ``results`` holds the full robustness results. Outputs are written atomically.

    Step mode (``results_path`` given): the attack-test step itself. ``data_path`` must be a
    validate-data split (its range and class count are used, not ``lower``/``upper``) and the
    component's core writes the results document ``attest`` and ``gate`` read (and the
    Markdown report at ``report_path``).
    """
    started = time.perf_counter()
    if tier not in C.TIERS:
        raise InvalidInputError(f"--tier {tier!r}: must be one of {', '.join(C.TIERS)}")
    if results_path is not None:
        return _run_step(
            model_path=model_path,
            data_path=data_path,
            epsilons=epsilons,
            tier=tier,
            json_path=json_path,
            html_path=html_path,
            results_path=results_path,
            report_path=report_path,
            max_samples=max_samples,
            batch_size=batch_size,
            seed=seed,
            pgd_steps=pgd_steps,
            progress=progress,
            started=started,
        )
    if report_path is not None:
        raise InvalidInputError("--report goes with --results (the attack-test step mode)")
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise InvalidInputError(f"--lower {lower:g} --upper {upper:g}: need finite lower < upper")
    keys = parse_epsilon_keys(epsilons)
    validate_epsilons([value for _, value in keys], lower=lower, upper=upper)
    x, y = load_npz(data_path, lower=lower, upper=upper)
    from kfp_mlsecops.attacks import evaluate_arrays

    model = _load_model(model_path, lower=lower, upper=upper)
    results: dict[str, Any] = evaluate_arrays(
        model=model,
        x=x,
        y=y,
        lower=lower,
        upper=upper,
        epsilons=[value for _, value in keys],
        tier=tier,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
        progress=progress,
    )
    doc = _summary(results, keys, model_path=model_path, data_path=data_path)
    doc["wall_time_s"] = round(time.perf_counter() - started, 3)
    if html_path is not None:
        from kfp_mlsecops.attacks.html_report import compute_examples, render_html_report

        examples = None
        if x.ndim == 4 and max(value for _, value in keys) > 0:
            examples = compute_examples(
                model, x, y, lower=lower, upper=upper, epsilon=max(v for _, v in keys), seed=seed
            )
        write_text_atomic(html_path, render_html_report(results, examples=examples))
    write_json_atomic(json_path, doc)
    return doc


def _run_step(
    *,
    model_path: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    epsilons: str,
    tier: str,
    json_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str] | None,
    results_path: str | os.PathLike[str],
    report_path: str | os.PathLike[str] | None,
    max_samples: int,
    batch_size: int,
    seed: int,
    pgd_steps: int,
    progress: Progress | None,
    started: float,
) -> dict[str, Any]:
    """Run the attack-test step on a validate-data split with the component's own core."""
    from kfp_mlsecops.attacks.html_report import run_attack_report
    from kfp_mlsecops.attacks.report import run_attack_test
    from kfp_mlsecops.data.split_io import load_split

    keys = parse_epsilon_keys(epsilons)
    try:
        load_split(data_path)
    except InvalidInputError as e:
        raise InvalidInputError(
            f"--data '{data_path}': --results needs a validate-data split ({e})"
        ) from e
    if not Path(model_path).exists():
        raise InvalidInputError(f"--model '{model_path}': not found; pass the model folder")
    common: dict[str, Any] = {
        "model_path": model_path,
        "test_path": data_path,
        "results_path": results_path,
        "epsilons": [value for _, value in keys],
        "tier": tier,
        "pgd_steps": pgd_steps,
        "batch_size": batch_size,
        "max_samples": max_samples,
        "seed": seed,
    }
    report = report_path if report_path is not None else Path(results_path).with_suffix(".md")
    if html_path is not None:
        results = run_attack_report(**common, report_md_path=report, html_report_path=html_path)
    else:
        results = run_attack_test(**common, report_md_path=report, progress=progress)
    doc = _summary(results, keys, model_path=model_path, data_path=data_path)
    doc["wall_time_s"] = round(time.perf_counter() - started, 3)
    write_json_atomic(json_path, doc)
    return doc


def summary_line(doc: dict[str, Any], json_path: str | os.PathLike[str]) -> str:
    """Return the one-line summary printed after a run."""
    robust = ", ".join(f"eps={k}: {v:.4f}" for k, v in doc[C.ROBUST_ACCURACY].items())
    raised = [f["id"] for f in doc["masking"] if f.get("flagged") is True]
    flags = "RAISED " + ", ".join(raised) if raised else "none"
    return (
        f"{doc['tier']} tier on {doc[C.N_SAMPLES]} samples: clean {doc[C.CLEAN_ACCURACY]:.4f}; "
        f"worst-case robust {robust}; masking flags: {flags}; {doc['wall_time_s']:.1f} s; "
        f"wrote {json_path}"
    )


def _summary(
    results: dict[str, Any],
    keys: list[tuple[str, float]],
    *,
    model_path: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
) -> dict[str, Any]:
    def by_key(rows: list[dict[str, Any]]) -> dict[str, float]:
        found = {float(row[C.EPSILON]): float(row[C.ROBUST_ACCURACY]) for row in rows}
        out: dict[str, float] = {}
        for key, value in keys:
            match = [eps for eps in found if math.isclose(eps, value, rel_tol=0, abs_tol=1e-12)]
            if len(match) != 1:
                raise InvalidInputError(f"results have no single entry for epsilon {key}")
            out[key] = found[match[0]]
        return out

    per_attack: dict[str, list[dict[str, Any]]] = {}
    norms: dict[str, str] = {}
    for row in results[C.ATTACKS]:
        per_attack.setdefault(row[C.ATTACK], []).append(row)
        norms[row[C.ATTACK]] = row[C.NORM]
    return {
        C.SCHEMA: ATTACK_CLI_SCHEMA,
        "model": str(model_path),
        "data": str(data_path),
        "tier": results.get("tier"),
        C.N_SAMPLES: results[C.N_SAMPLES],
        C.EPSILONS: [key for key, _ in keys],
        C.CLEAN_ACCURACY: results[C.CLEAN_ACCURACY],
        C.ROBUST_ACCURACY: by_key(results[C.WORST_CASE]),
        "per_attack": {
            name: {C.NORM: norms[name], C.ROBUST_ACCURACY: by_key(rows)}
            for name, rows in per_attack.items()
        },
        "masking": results.get("masking", []),
        "input_range": results.get("input_range"),
        "model_output": results.get("model_output"),
        "results": results,
    }


def _load_model(path: str | os.PathLike[str], *, lower: float, upper: float) -> Any:
    """Load the model and wrap it for attacks (logits resolved once, reused by every step)."""
    source = Path(path)
    if not source.exists():
        raise InvalidInputError(
            f"--model '{path}': not found; pass a .keras file or a SavedModel folder"
        )
    from kfp_mlsecops.attacks import TFModel, load_attack_model

    try:
        return TFModel(load_attack_model(source), bounds=(lower, upper))
    except MLSecOpsError:
        raise
    except Exception as e:  # noqa: BLE001 - any load failure means an unusable model
        detail = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        raise InvalidInputError(
            f"--model '{path}': cannot be loaded ({detail}); pass a .keras file or a SavedModel "
            "folder"
        ) from e


def _check_x(x: np.ndarray, *, where: str, lower: float, upper: float) -> np.ndarray:
    if x.dtype == object or not (
        np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
    ):
        raise InvalidInputError(f"{where}: x has dtype {x.dtype}; store numbers")
    if x.ndim not in (2, 3, 4) or len(x) == 0:
        raise InvalidInputError(
            f"{where}: x is shaped {x.shape}; need (N, features), (N, H, W) or (N, H, W, C), N >= 1"
        )
    values = x.astype(np.float32)
    if not np.isfinite(values).all():
        raise InvalidInputError(f"{where}: x has NaN or infinite values; clean them first")
    low, high = float(values.min()), float(values.max())
    if low < lower or high > upper:
        raise InvalidInputError(
            f"{where}: x spans [{low:g}, {high:g}], outside --lower {lower:g} --upper {upper:g}; "
            "pass the data's valid range with --lower/--upper or rescale x"
        )
    return values[..., np.newaxis] if values.ndim == 3 else values


def _check_y(y: np.ndarray, n: int, *, where: str) -> np.ndarray:
    if y.shape != (n,):
        raise InvalidInputError(
            f"{where}: y is shaped {y.shape}; need one class index per row of x ({n},)"
        )
    if y.dtype == bool or not (
        np.issubdtype(y.dtype, np.integer)
        or (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))
    ):
        raise InvalidInputError(f"{where}: y ({y.dtype}) must hold integer class indices")
    labels = y.astype(np.int64)
    if labels.min() < 0:
        raise InvalidInputError(f"{where}: y has negative labels; use class indices 0..K-1")
    return labels
