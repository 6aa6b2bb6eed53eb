"""Deploy an approved model to KServe: name checks, storage URI mapping, manifest, apply.

:func:`run_deploy` acts only on the gate's signed approval: right before writing or touching
the cluster it re-checks the approval, the model digest and layout, the signature and the
robustness attestation (:func:`kfp_mlsecops.gate.check_release`); the Kubernetes client is
imported only on the apply path. :func:`render_inference_service` renders
KServe's TensorFlow runtime; :func:`render_verified_predictor_isvc` the verified predictor
(``mlsecops serve`` as a custom container, trust chosen with :class:`PredictorTrust`), which
``run_deploy(predictor="verified")`` deploys together with its signature ConfigMap. In ``apply``
mode deploy waits until the applied generation is Ready and rolled out
(:mod:`~kfp_mlsecops.deploy.readiness` judges it from the status documents,
:mod:`~kfp_mlsecops.deploy.rollout` talks to the API) and restores the previous spec when not.
"""

from __future__ import annotations

from kfp_mlsecops.deploy.apply import apply_config_map, apply_inference_service, load_api_client
from kfp_mlsecops.deploy.manifest import render_inference_service
from kfp_mlsecops.deploy.names import validate_namespace, validate_service_name
from kfp_mlsecops.deploy.run import DeployResult, run_deploy
from kfp_mlsecops.deploy.storage import require_cluster_reachable, storage_uri_for
from kfp_mlsecops.deploy.verified_isvc import (
    DEFAULT_PREDICTOR_IMAGE,
    PredictorTrust,
    predictor_args,
    render_signature_configmap,
    render_verified_predictor_isvc,
)

__all__ = [
    "DEFAULT_PREDICTOR_IMAGE",
    "DeployResult",
    "PredictorTrust",
    "apply_config_map",
    "apply_inference_service",
    "load_api_client",
    "predictor_args",
    "render_inference_service",
    "render_signature_configmap",
    "render_verified_predictor_isvc",
    "require_cluster_reachable",
    "run_deploy",
    "storage_uri_for",
    "validate_namespace",
    "validate_service_name",
]
