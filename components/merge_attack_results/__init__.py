from kfp_mlsecops.components.merge_attack_results.component import merge_attack_results

__all__ = ["merge_attack_results"]
