"""The kfp-mlsecops components, importable without TensorFlow.

Each is a thin ``@dsl.component`` over a pure-Python core in ``kfp_mlsecops.<area>``.
"""

from kfp_mlsecops.components.attack_test import attack_test
from kfp_mlsecops.components.attest_robustness import attest_robustness
from kfp_mlsecops.components.deploy import deploy
from kfp_mlsecops.components.gate import gate
from kfp_mlsecops.components.import_model import import_model
from kfp_mlsecops.components.merge_attack_results import merge_attack_results
from kfp_mlsecops.components.sign_model import sign_model
from kfp_mlsecops.components.train import train
from kfp_mlsecops.components.validate_data import validate_data

__all__ = [
    "attack_test",
    "attest_robustness",
    "deploy",
    "gate",
    "import_model",
    "merge_attack_results",
    "sign_model",
    "train",
    "validate_data",
]
