from kfp_mlsecops.components.deploy.component import deploy

__all__ = ["deploy"]
