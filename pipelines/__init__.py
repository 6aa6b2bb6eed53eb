"""Pipelines built from the kfp-mlsecops components (importing them never loads TensorFlow)."""

from kfp_mlsecops.pipelines.secure_release import make_secure_release, secure_release
from kfp_mlsecops.pipelines.secure_training import (
    PIPELINE_NAME,
    make_secure_training,
    secure_training,
)

__all__ = [
    "PIPELINE_NAME",
    "make_secure_release",
    "make_secure_training",
    "secure_release",
    "secure_training",
]
