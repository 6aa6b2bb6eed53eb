"""Deploy a blessed model to KServe: name checks, storage URI mapping, manifest, apply.

:func:`run_deploy` re-checks the gate blessing and the model digest, and verifies the model
signature and the robustness attestation again right before writing or touching the cluster; the
Kubernetes client is imported only on the apply path.
"""

from __future__ import annotations

from kfp_mlsecops.deploy.apply import apply_inference_service, load_api_client
from kfp_mlsecops.deploy.manifest import render_inference_service
from kfp_mlsecops.deploy.names import validate_namespace, validate_service_name
from kfp_mlsecops.deploy.run import DeployResult, run_deploy
from kfp_mlsecops.deploy.storage import require_cluster_reachable, storage_uri_for

__all__ = [
    "DeployResult",
    "apply_inference_service",
    "load_api_client",
    "render_inference_service",
    "require_cluster_reachable",
    "run_deploy",
    "storage_uri_for",
    "validate_namespace",
    "validate_service_name",
]
