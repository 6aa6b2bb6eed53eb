"""The import_model component."""

from kfp_mlsecops.components.import_model.component import import_model

__all__ = ["import_model"]
