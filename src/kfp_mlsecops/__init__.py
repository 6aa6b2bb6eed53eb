"""kfp-mlsecops: hardened Kubeflow Pipelines v2 components for MLSecOps.

Public entry points: ``kfp_mlsecops.components`` (the KFP components, one package each),
``kfp_mlsecops.pipelines`` (the ``secure-training`` and ``secure-release`` pipelines),
``kfp_mlsecops.errors`` and the pure-Python cores (``data``, ``training``, ``attacks``,
``signing``, ``gate``, ``deploy``, ...); the ``mlsecops`` CLI is ``kfp_mlsecops.cli``.
"""

from kfp_mlsecops._version import __version__

__all__ = ["__version__"]
