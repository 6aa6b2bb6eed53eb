"""Run the saliency sanity check on a model and its test split; write the results.

The model is loaded as the attacks and the poisoning scan load it
(:func:`~kfp_mlsecops.attacks.load_attack_model`: a model folder's SavedModel ``1/``, a
``.keras`` file or a SavedModel folder). A model folder holds no ``.keras`` file (the servable
layout allows only the SavedModel), so the weights randomized are the SavedModel's own
variables, restored in memory: the folder on disk is never written. The samples are a seeded
draw from the test split (data the model did not train on).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.explanations.results import ExplanationsResults
from kfp_mlsecops.explanations.saliency import SaliencyMethod
from kfp_mlsecops.explanations.sanity import (
    DEFAULT_GATING,
    SanityParameters,
    saliency_sanity_check,
)
from kfp_mlsecops.signing import saved_model_digest

__all__ = ["run_explanations_check"]


def run_explanations_check(
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str] | None = None,
    parameters: SanityParameters | None = None,
    methods: Mapping[str, SaliencyMethod] | None = None,
    gating: Collection[str] = DEFAULT_GATING,
) -> ExplanationsResults:
    """Check that the model's saliency maps change when its weights are randomized.

    Args:
        model_path: a model folder (servable layout), a ``.keras`` file or a SavedModel folder.
        test_path: validate-data's ``test.npz`` (the samples are drawn from it).
        out_path: where to write the results JSON (None: not written).
        parameters: the check's settings (None: the defaults).
        methods: saliency methods by name (None: gradient and gradient x input).
        gating: the methods whose verdict is the check's (default: gradient).

    Raises InvalidInputError when an input is unusable or model and split do not fit.

    """
    from kfp_mlsecops.attacks.loading import load_model_for_split
    from kfp_mlsecops.data import split_digest
    from kfp_mlsecops.data.split_io import load_split

    p = parameters or SanityParameters()
    test = load_split(test_path)
    model = load_model_for_split(
        model_path, test.x, test_path, fix="pass the model trained on this data"
    )
    count = min(p.n_samples, len(test.x))
    if count < 2:
        raise InvalidInputError(f"the split '{test_path}' has {len(test.x)} samples; need >= 2")
    rows = np.sort(np.random.default_rng(p.seed).choice(len(test.x), count, replace=False))
    x = np.asarray(test.x[rows], dtype=np.float32)
    results = ExplanationsResults(
        methods=saliency_sanity_check(model, x, methods=methods, gating=gating, seed=p.seed),
        parameters=p,
        n_samples=count,
        test_data_digest=split_digest(test),
        model_digest=saved_model_digest(Path(model_path)),
    )
    if out_path is not None:
        results.write(out_path)
    return results
