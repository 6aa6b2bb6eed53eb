"""map_similarity: per-sample Spearman of absolute maps (no model needed)."""

import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.explanations import gradient, gradient_x_input, map_similarity


def test_identical_maps_are_fully_similar_and_reversed_ranks_count_as_similar():
    maps = np.random.default_rng(0).random((8, 4, 4, 1))
    same = map_similarity(maps, maps)
    assert (same.similarity, same.rank_correlation, same.n_compared) == (1.0, 1.0, 8)
    reversed_ranks = map_similarity(maps, 1.0 / (1.0 + maps))  # monotone decreasing
    assert reversed_ranks.similarity == pytest.approx(1.0)
    assert reversed_ranks.rank_correlation == pytest.approx(-1.0)


def test_independent_maps_are_dissimilar():
    rng = np.random.default_rng(1)
    score = map_similarity(rng.random((64, 8, 8)), rng.random((64, 8, 8)))
    assert score.similarity < 0.15 and abs(score.rank_correlation) < 0.05


def test_constant_maps():
    rng = np.random.default_rng(2)
    original = rng.random((4, 10))
    randomized = original.copy()
    randomized[0] = 0.0  # a dead randomized map holds no ranking: correlation 0
    original[1] = 3.0  # a constant original map cannot be compared: left out
    score = map_similarity(original, randomized)
    assert score.n_compared == 3 and score.similarity == pytest.approx(2 / 3)
    with pytest.raises(InvalidInputError, match="every saliency map of the trained model is"):
        map_similarity(np.ones((3, 5)), rng.random((3, 5)))


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (np.ones((2, 3)), np.ones((2, 4)), "need the same non-empty"),
        (np.ones((0, 3)), np.ones((0, 3)), "need the same non-empty"),
        (np.array([[1.0, np.nan]]), np.ones((1, 2)), "NaN or infinity"),
    ],
)
def test_unusable_maps_are_refused(a, b, message):
    with pytest.raises(InvalidInputError, match=message):
        map_similarity(a, b)


def test_methods_are_absolute_gradients_and_gradient_times_input():
    g = np.array([[-2.0, 1.0, 0.5]])
    x = np.array([[0.0, -3.0, 2.0]])
    assert gradient(g, x).tolist() == [[2.0, 1.0, 0.5]]
    assert gradient_x_input(g, x).tolist() == [[0.0, 3.0, 1.0]]
