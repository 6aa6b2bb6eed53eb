from kfp_mlsecops.components.attack_test.component import attack_test

__all__ = ["attack_test"]
