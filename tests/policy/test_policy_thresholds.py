"""policy.thresholds: the run Policy (the gate re-exports it) and the shared is_number."""

from __future__ import annotations

import pytest

from kfp_mlsecops import _io
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.gate import Policy as GatePolicy
from kfp_mlsecops.policy import Policy


def test_gate_reexports_the_same_policy():
    assert GatePolicy is Policy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, True),
        (0.5, True),
        (True, False),
        (float("nan"), False),
        (float("inf"), False),
        ("1", False),
        (None, False),
    ],
)
def test_is_number(value, expected):
    assert _io.is_number(value) is expected


def test_policy_validates_as_before():
    policy = Policy(0.9, 0.5, "pgd", 0.1, allow_masking_flags=["degenerate_gradients"])
    assert policy.allow_masking_flags == ("degenerate_gradients",)
    assert policy.to_dict()["allow_masking_flags"] == ["degenerate_gradients"]
    with pytest.raises(InvalidInputError, match=r"min_clean_accuracy=1.5 must be a number"):
        Policy(1.5, 0.5, "pgd", 0.1)
    with pytest.raises(InvalidInputError, match=r"robust_attack='' must be a non-empty"):
        Policy(0.9, 0.5, "", 0.1)
    with pytest.raises(InvalidInputError, match=r"robust_epsilon=-1 must be a finite"):
        Policy(0.9, 0.5, "pgd", -1)
    with pytest.raises(InvalidInputError, match=r"unknown flag id\(s\) \['x'\]"):
        Policy(0.9, 0.5, "pgd", 0.1, allow_masking_flags=["x"])
