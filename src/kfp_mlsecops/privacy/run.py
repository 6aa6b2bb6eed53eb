"""Run the membership-inference test on a model and validate-data's splits; write the results.

The model is loaded as the attacks load it (:func:`~kfp_mlsecops.attacks.load_attack_model`:
a model folder's SavedModel ``1/``, a ``.keras`` file or a SavedModel folder) and wrapped in
:class:`~kfp_mlsecops.attacks.model.TFModel`, whose ``scores`` are logits or log-probabilities
whatever the model outputs, so the loss is the same cross-entropy for both.
"""

from __future__ import annotations

import os
from pathlib import Path

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.privacy.membership import cross_entropy, membership_figures
from kfp_mlsecops.privacy.results import MembershipResults
from kfp_mlsecops.signing import saved_model_digest

__all__ = ["run_membership_test"]


def run_membership_test(
    *,
    model_path: str | os.PathLike[str],
    train_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str] | None = None,
    seed: int = 0,
) -> MembershipResults:
    """Attack the model's membership privacy: training split = members, test split = not.

    Args:
        model_path: a model folder (servable layout), a ``.keras`` file or a SavedModel folder.
        train_path: validate-data's ``train.npz`` (the samples the model was trained on).
        test_path: validate-data's ``test.npz`` (held out: never seen in training).
        out_path: where to write the results JSON (None: not written).
        seed: the seed of the subsampling that balances the two sets.

    Raises InvalidInputError when an input is unusable or model and splits do not fit.

    """
    from kfp_mlsecops.attacks.loading import load_attack_model
    from kfp_mlsecops.attacks.model import TFModel
    from kfp_mlsecops.data import split_digest
    from kfp_mlsecops.data.split_io import load_split

    train = load_split(train_path)
    test = load_split(test_path)
    if (train.lower, train.upper, train.n_classes) != (test.lower, test.upper, test.n_classes):
        raise InvalidInputError(
            f"splits '{train_path}' and '{test_path}' differ in input range or class count; "
            "pass the two splits of one 'mlsecops validate' run"
        )
    model = TFModel(load_attack_model(model_path), bounds=(test.lower, test.upper))
    for name, split in (("train", train), ("test", test)):
        if model.input_shape != tuple(split.x.shape[1:]) or model.n_classes != split.n_classes:
            raise InvalidInputError(
                f"model '{model_path}' takes {model.input_shape} with {model.n_classes} classes "
                f"but the {name} split has {tuple(split.x.shape[1:])} with {split.n_classes}; "
                "pass the model trained on these splits"
            )
    figures = membership_figures(
        member_losses=cross_entropy(model.scores(train.x), train.y),
        member_labels=train.y,
        non_member_losses=cross_entropy(model.scores(test.x), test.y),
        non_member_labels=test.y,
        seed=seed,
    )
    results = MembershipResults(
        figures=figures,
        model_output=model.output_kind,
        train_data_digest=split_digest(train),
        test_data_digest=split_digest(test),
        model_digest=saved_model_digest(Path(model_path)),
    )
    if out_path is not None:
        results.write(out_path)
    return results
