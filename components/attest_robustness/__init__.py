from kfp_mlsecops.components.attest_robustness.component import attest_robustness

__all__ = ["attest_robustness"]
