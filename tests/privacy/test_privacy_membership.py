"""The membership-inference figures on hand-made scores: exact advantage, AUC, low-FPR support,
balancing and the loss from logits or probabilities (numpy only, no model)."""

import math

import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.privacy import attack_metrics, chance_advantage, cross_entropy, membership_figures
from kfp_mlsecops.privacy.membership import balanced_indices, class_calibrated


def test_advantage_auc_and_threshold_are_exact_on_a_hand_made_case():
    # members' losses 0,1,2,3; non-members' 1.5,2.5,4,5.
    m = attack_metrics("loss", np.array([0.0, 1, 2, 3]), np.array([1.5, 2.5, 4, 5]))
    # threshold 1: TPR 2/4, FPR 0/4 -> 0.5 (also 0.5 at 2 and 3; the first is kept)
    assert m.advantage == 0.5 and m.threshold == 1.0
    # pairs member < non-member: 4 + 4 + 3 + 2 = 13 of 16
    assert m.auc == 13 / 16


def test_ties_count_half_and_identical_sets_give_no_advantage():
    m = attack_metrics("loss", np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 2.0]))
    # each member 1.0 vs non-members (1, 2, 2): 0.5 + 1 + 1; member 2.0: 0 + 0.5 + 0.5
    assert m.auc == pytest.approx(6 / 9)
    same = attack_metrics("loss", np.arange(10.0), np.arange(10.0))
    assert same.advantage == 0.0 and same.threshold is None and same.auc == 0.5


def test_perfect_separation_and_a_reversed_score():
    perfect = attack_metrics("loss", np.zeros(200), np.ones(200))
    assert perfect.advantage == 1.0 and perfect.auc == 1.0
    reversed_ = attack_metrics("loss", np.ones(200), np.zeros(200))  # members have higher loss
    assert reversed_.advantage == 0.0 and reversed_.auc == 0.0


def test_tpr_at_low_fpr_is_reported_only_when_one_false_positive_is_allowed():
    rng = np.random.default_rng(0)
    members = np.concatenate([np.full(30, -1.0), rng.uniform(0, 1, 70)])  # 30 sure members
    others = rng.uniform(0, 1, 100)
    one, tenth = attack_metrics("loss", members, others).low_fpr
    assert (one.fpr, one.max_false_positives, one.supported) == (0.01, 1, True)
    assert one.true_positives is not None and one.true_positives >= 30
    assert one.tpr == one.true_positives / 100
    assert (tenth.max_false_positives, tenth.supported, tenth.tpr) == (0, False, None)
    big = attack_metrics("loss", rng.uniform(0, 1, 1000), rng.uniform(0, 1, 1000))
    assert [p.max_false_positives for p in big.low_fpr] == [10, 1]
    assert all(p.supported for p in big.low_fpr)


def test_sets_are_balanced_with_the_seed():
    a = balanced_indices(1437, 360, seed=3)
    b = balanced_indices(1437, 360, seed=3)
    c = balanced_indices(1437, 360, seed=4)
    assert len(a[0]) == len(a[1]) == 360
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    assert np.array_equal(a[1], np.arange(360)) and len(set(a[0].tolist())) == 360
    with pytest.raises(InvalidInputError, match="non-members: no samples"):
        balanced_indices(5, 0, seed=0)

    figures = membership_figures(
        member_losses=np.zeros(50),
        member_labels=np.zeros(50, dtype=int),
        non_member_losses=np.ones(20),
        non_member_labels=np.zeros(20, dtype=int),
        seed=0,
    )
    assert (figures.n_members, figures.n_non_members) == (20, 20)
    assert (figures.available_members, figures.available_non_members) == (50, 20)
    assert figures.advantage == 1.0


def test_class_calibration_removes_a_per_class_offset():
    # class 1 is harder (every loss +10); members are 0.1 below non-members in both classes.
    losses = np.array([0.0, 0.2, 10.0, 10.2])
    labels = np.array([0, 0, 1, 1])
    calibrated = class_calibrated(losses, labels)
    assert np.allclose(calibrated, [-0.1, 0.1, -0.1, 0.1])
    raw = attack_metrics("loss", losses[[0, 2]], losses[[1, 3]])
    fixed = attack_metrics("cal", calibrated[[0, 2]], calibrated[[1, 3]])
    assert raw.advantage == 0.5 and fixed.advantage == 1.0


def test_cross_entropy_is_the_same_from_logits_and_log_probabilities():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    labels = np.array([0, 2])
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    want = -log_probs[np.arange(2), labels]
    assert np.allclose(cross_entropy(logits, labels), want)
    assert np.allclose(cross_entropy(log_probs, labels), want)
    with pytest.raises(InvalidInputError, match="labels must lie in 0..2"):
        cross_entropy(logits, np.array([0, 3]))


def test_chance_advantage_is_the_one_sided_ks_critical_value():
    assert chance_advantage(360) == pytest.approx(math.sqrt(-math.log(0.01)) / math.sqrt(360))
    assert 0.11 < chance_advantage(360) < 0.12
    assert chance_advantage(461) < 0.1 < chance_advantage(460)  # the mlsvs default's size
