from kfp_mlsecops.components.train.component import train

__all__ = ["train"]
