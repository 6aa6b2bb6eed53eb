"""kfp-mlsecops: hardened Kubeflow Pipelines v2 components for MLSecOps.

Public entry points: ``kfp_mlsecops.components`` (the six KFP components),
``kfp_mlsecops.pipelines`` (the ``secure-training`` pipeline), ``kfp_mlsecops.errors`` and the
pure-Python cores ``data``, ``training``, ``attacks``, ``signing``, ``gate`` and ``deploy``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kfp-mlsecops")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__"]
