from kfp_mlsecops.components.sign_model.component import sign_model

__all__ = ["sign_model"]
