"""stratified_split: seeded, disjoint, complete, stratified."""

from __future__ import annotations

import numpy as np
import pytest

from kfp_mlsecops.data import stratified_split
from kfp_mlsecops.errors import InvalidInputError

Y = np.repeat(np.arange(4), [50, 30, 10, 2])


def test_split_is_disjoint_complete_and_stratified() -> None:
    train, test = stratified_split(Y, n_classes=4, test_fraction=0.2, seed=7)
    assert np.intersect1d(train, test).size == 0
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(Y.size))
    assert np.bincount(Y[test], minlength=4).tolist() == [10, 6, 2, 1]
    assert np.bincount(Y[train], minlength=4).tolist() == [40, 24, 8, 1]


def test_same_seed_same_split_other_seed_other_split() -> None:
    a = stratified_split(Y, n_classes=4, test_fraction=0.3, seed=1)
    b = stratified_split(Y, n_classes=4, test_fraction=0.3, seed=1)
    c = stratified_split(Y, n_classes=4, test_fraction=0.3, seed=2)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_tiny_fraction_still_puts_each_class_in_test() -> None:
    _, test = stratified_split(Y, n_classes=4, test_fraction=0.01, seed=0)
    assert set(Y[test].tolist()) == {0, 1, 2, 3}


def test_single_sample_class_stays_in_train_only() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 2])
    train, test = stratified_split(y, n_classes=3, test_fraction=0.5, seed=0)
    assert 6 in train.tolist() and 6 not in test.tolist()


@pytest.mark.parametrize("fraction", [0, 1, -0.5, 2.0, float("inf"), "0.2", None])
def test_fraction_must_be_in_open_unit_interval(fraction) -> None:
    with pytest.raises(InvalidInputError, match=r"test_fraction"):
        stratified_split(Y, n_classes=4, test_fraction=fraction, seed=0)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_seed_must_be_a_non_negative_integer(seed) -> None:
    with pytest.raises(InvalidInputError, match=r"seed"):
        stratified_split(Y, n_classes=4, test_fraction=0.2, seed=seed)
