"""The spectral scan on synthetic representations (numpy only, no model): a planted shifted,
relabelled group is flagged exactly; a natural style group (shifted, but among its own kind in
input space) and Gaussian classes are not; settings are checked."""

import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.poisoning import ScanParameters, label_disagreement, spectral_scan
from kfp_mlsecops.poisoning.spectral import separated_cluster


def _classes(rng, n=150, dims=20, classes=4):
    centres = rng.normal(0, 10, (classes, dims))
    y = np.repeat(np.arange(classes), n)
    features = centres[y] + rng.normal(0, 1, (len(y), dims))
    return features, y


def test_a_shifted_group_relabelled_from_other_classes_is_flagged_exactly():
    rng = np.random.default_rng(0)
    features, y = _classes(rng)
    inputs = features.copy()  # input space: the other classes' neighbourhoods
    poisoned = rng.choice(np.flatnonzero(y != 0), 8, replace=False)
    y[poisoned] = 0
    shift = np.zeros(features.shape[1])
    shift[:3] = 6.0
    features[poisoned] = features[y == 0][:8].mean(axis=0) + shift + rng.normal(0, 1, (8, 20))
    scans = spectral_scan(features, y, inputs)
    assert [s.suspicious for s in scans] == [True, False, False, False]
    assert scans[0].flagged == tuple(sorted(poisoned.tolist()))
    assert scans[0].label_disagreement == 1.0 and scans[0].threshold is not None
    assert all(s.flagged == () and s.threshold is None for s in scans[1:])


def test_a_natural_style_group_and_clean_classes_are_not_flagged():
    rng = np.random.default_rng(1)
    features, y = _classes(rng)
    style = np.flatnonzero(y == 1)[:12]
    features[style, :3] += 8.0  # set apart in representation space, and in input space too
    scans = spectral_scan(features, y, features)
    assert not any(s.suspicious for s in scans)
    one = scans[1]
    assert one.separation is not None and one.separation >= 2.0  # separated ...
    assert one.label_disagreement == 0.0  # ... but among its own kind: a style, not a backdoor


def test_small_classes_are_not_scored_and_bad_input_is_refused():
    rng = np.random.default_rng(2)
    features, y = _classes(rng, n=10)
    scans = spectral_scan(features, y, features)
    assert all(not s.scored and s.dims == 0 and not s.suspicious for s in scans)
    with pytest.raises(InvalidInputError, match="NaN or infinity"):
        spectral_scan(np.full((4, 2), np.nan), np.zeros(4, dtype=int), np.zeros((4, 2)))
    with pytest.raises(InvalidInputError, match="need integer class labels"):
        spectral_scan(np.zeros((4, 2)), np.zeros(4), np.zeros((4, 2)))
    with pytest.raises(InvalidInputError, match="trim=0.7: must lie strictly in"):
        ScanParameters(trim=0.7)
    with pytest.raises(
        InvalidInputError, match=r"min_class_samples=5: must be at least 2 \* min_cluster \+ 2 = 8"
    ):
        ScanParameters(min_class_samples=5)


def test_the_widest_relative_gap_and_label_disagreement_on_hand_made_values():
    z = np.array([20.0, 19.0, 18.0, 3.0, 2.0, 1.0, 0.5, 0.0, -1.0, -2.0, -3.0, 0.1])
    separation, size, middle = separated_cluster(z, max_fraction=0.5, min_cluster=3, z_floor=4.0)
    assert (separation, size, middle) == (18.0 / 4.0, 3, 10.5)
    inputs = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    labels = np.array([0, 0, 0, 1, 1, 0])
    assert label_disagreement(inputs, labels, np.array([5]), neighbours=2) == 1.0
    assert label_disagreement(inputs, labels, np.array([0, 1]), neighbours=2) == 0.0
