"""Deploy test helpers: every deploy runs on a copy of the real, approved release chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _release import Release

from kfp_mlsecops.deploy import PredictorTrust

REMOTE_URI = "minio://mlpipeline/v2/artifacts/run-1/model"


def deploy_kwargs(release: Release, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        model_dir=release.model,
        model_uri=REMOTE_URI,
        approval_path=release.approval,
        verified_digest=release.digest,
        signature_path=release.signature,
        attestation_path=release.attestation,
        public_key_path=release.public_key,
        approval_public_key_path=release.approval_public_key,
        name="mnist",
        namespace="kubeflow-user",
        mode="dry-run",
        manifest_path=tmp_path / "deploy" / "isvc.yaml",
        predictor_trust=PredictorTrust.from_method("key"),
    )
    args.update(overrides)
    if args.get("predictor") == "kserve" and "predictor_trust" not in overrides:
        args["predictor_trust"] = None
    return args
