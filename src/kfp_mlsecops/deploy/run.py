"""Deploy an approved model: re-check the signed approval and its evidence, render, apply."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import one_line, write_text_atomic
from kfp_mlsecops.audit import append_record, resolve_log_path
from kfp_mlsecops.constants import (
    DEPLOY_MODE_APPLY,
    DEPLOY_MODE_DRY_RUN,
    PREDICTOR_KSERVE,
    PREDICTOR_VERIFIED,
    PREDICTORS,
)
from kfp_mlsecops.deploy.apply import load_api_client
from kfp_mlsecops.deploy.manifest import render_inference_service
from kfp_mlsecops.deploy.readiness import READY
from kfp_mlsecops.deploy.rollout import roll_out
from kfp_mlsecops.deploy.storage import require_cluster_reachable, storage_uri_for
from kfp_mlsecops.deploy.verified_isvc import (
    DEFAULT_PREDICTOR_IMAGE,
    PredictorTrust,
    render_signature_configmap,
    render_verified_predictor_isvc,
)
from kfp_mlsecops.errors import (
    DeploymentError,
    InvalidInputError,
    MLSecOpsError,
    VerificationError,
)
from kfp_mlsecops.gate.release import check_release
from kfp_mlsecops.policy import load_floor
from kfp_mlsecops.signing import SigningConfig, VerificationConfig, resolve_verification

MODES = (DEPLOY_MODE_DRY_RUN, DEPLOY_MODE_APPLY)
DEFAULT_WAIT_SECONDS = float(C.DEPLOY_WAIT_SECONDS)
#: The longest wait deploy accepts (one hour; a KFP task should not hang longer on one rollout).
MAX_WAIT_SECONDS = 3600.0


@dataclass(frozen=True)
class DeployResult:
    """Outcome of :func:`run_deploy`: ``status`` is "dry-run", "created" or "patched".

    ``ready`` is True when apply waited and the new revision is Ready (``detail`` says how).
    """

    status: str
    name: str
    namespace: str
    storage_uri: str
    model_digest: str
    manifest_path: str
    ready: bool = False
    detail: str = ""


def run_deploy(
    *,
    model_dir: str | os.PathLike[str],
    model_uri: str,
    approval_path: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str],
    name: str,
    namespace: str,
    mode: str,
    manifest_path: str | os.PathLike[str],
    floor_path: str | os.PathLike[str] | None = None,
    approval_public_key_path: str | os.PathLike[str] | None = None,
    approval_verification: VerificationConfig | None = None,
    verified_digest: str | None = None,
    kube_api_client: Any = None,
    service_account: str | None = None,
    public_key_path: str | os.PathLike[str] | None = None,
    verification: VerificationConfig | None = None,
    predictor: str = PREDICTOR_VERIFIED,
    predictor_trust: PredictorTrust | None = None,
    predictor_image: str = DEFAULT_PREDICTOR_IMAGE,
    wait_timeout: float = DEFAULT_WAIT_SECONDS,
    canary_traffic_percent: int | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    audit_signing: SigningConfig | None = None,
    run_id: str = "",
    pipeline: str = "",
) -> DeployResult:
    """Deploy ``model_dir`` (served from ``model_uri``) as a KServe InferenceService.

    Nothing is deployed on a signature alone. Right before writing or applying, deploy checks
    (:func:`~kfp_mlsecops.gate.release.check_release`): the gate's signed approval at
    ``approval_path`` verifies with the GATE's key (``approval_public_key_path`` or
    ``approval_verification``, exactly one; never the model-signing key) for exactly the model's
    recomputed digest; the approved policy meets this environment's floor (``floor_path``, None:
    the built-in default); the signature and attestation files are the ones the gate approved;
    both verify again with the model trust (``verification`` or ``public_key_path``, exactly
    one); and the approved policy holds on the attested and measured numbers.
    ``verified_digest`` (the gate's output), when given, must equal the model's digest too.
    Then it writes the manifest (``dry-run``) or applies it and writes it (``apply``;
    in-cluster config, then kubeconfig, unless ``kube_api_client`` is given). Nothing is written
    or applied when a check fails.

    ``predictor="verified"`` (the default) renders a ConfigMap ``<name>-signature`` (signature,
    attestation and approval) and an InferenceService running our verified predictor
    (``predictor_image``), which verifies all three again with ``predictor_trust`` and the
    serving namespace's approval key and floor before it reports ready; the manifest then holds
    both documents, applied ConfigMap first. ``predictor="kserve"`` is the opt-out: KServe's
    TensorFlow runtime serves whatever is in storage and re-checks nothing after deploy.
    ``service_account`` (optional) is the account the predictor runs as.

    In ``apply`` mode deploy then waits up to ``wait_timeout`` seconds until the generation it
    applied is Ready (the InferenceService's ``Ready`` condition and, in RawDeployment mode,
    its predictor Deployment fully rolled out with this spec); otherwise it restores the
    previous spec and evidence ConfigMap and raises DeploymentError naming the failing
    condition (``wait_timeout=0``: apply without waiting). ``canary_traffic_percent`` (0-100)
    renders ``spec.predictor.canaryTrafficPercent``; KServe validates it in every mode but only
    Serverless (Knative) mode splits traffic: RawDeployment ignores it and replaces all pods.

    ``audit_log`` (None or "": off) is an audit log location (:mod:`kfp_mlsecops.audit`): after
    the manifest is written, one ``deploy`` record (status, digest, manifest sha256, ``run_id``,
    ``pipeline``) is appended, signed with ``audit_signing`` (required then); a rollout that
    fails (rolled back or not) is recorded with outcome ``failed`` and the error before it is
    raised. A failed append raises DeploymentError (in ``apply`` mode the service is already
    changed; the error says so).
    """
    if audit_log and not isinstance(audit_signing, SigningConfig):
        raise InvalidInputError("audit_log needs audit_signing (the audit key); pass both")
    if audit_log:
        resolve_log_path(audit_log)  # an unusable location fails before anything is applied
    if (
        isinstance(wait_timeout, bool)
        or not isinstance(wait_timeout, (int, float))
        or not (0 <= wait_timeout <= MAX_WAIT_SECONDS)
    ):
        raise InvalidInputError(
            f"deploy wait timeout {wait_timeout!r} must be a number of seconds from 0 (apply "
            f"without waiting) to {MAX_WAIT_SECONDS:g}"
        )
    if mode not in MODES:
        raise InvalidInputError(f"deploy mode {mode!r} is unknown; use one of {', '.join(MODES)}")
    trust = resolve_verification(public_key_path=public_key_path, verification=verification)
    approval_trust = _approval_trust(approval_public_key_path, approval_verification)
    if predictor not in PREDICTORS:
        raise InvalidInputError(
            f"predictor {predictor!r} is unknown; use one of {', '.join(PREDICTORS)}"
        )
    if (predictor == PREDICTOR_VERIFIED) != (predictor_trust is not None):
        raise InvalidInputError(
            "predictor_trust is required with predictor='verified' and only then; pass the "
            "signing method (and identity, issuer) the predictor verifies with"
        )
    floor = load_floor(floor_path or None)
    release = check_release(
        model_dir=model_dir,
        approval_path=approval_path,
        signature_path=signature_path,
        attestation_path=attestation_path,
        verification=trust,
        approval_verification=approval_trust,
        floor=floor,
    )
    actual = release.model_digest
    if verified_digest is not None and verified_digest != actual:
        raise VerificationError(
            f"model '{model_dir}': the gate verified digest {verified_digest!r}, but the model's "
            f"digest is {actual}; the inputs come from different runs; do not deploy"
        )
    storage_uri = storage_uri_for(model_uri)
    if mode == DEPLOY_MODE_APPLY:
        require_cluster_reachable(storage_uri)
    documents = _render(
        predictor=predictor,
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=actual,
        service_account=service_account or None,
        evidence={
            C.SIGNATURE_FILE: signature_path,
            C.ATTESTATION_FILE: attestation_path,
            C.APPROVAL_FILE: approval_path,
        },
        trust=predictor_trust,
        image=predictor_image,
        canary_traffic_percent=canary_traffic_percent,
    )
    ready, detail = False, ""
    audit = _Audit(
        audit_log, audit_signing, run_id=run_id, pipeline=pipeline, digest=actual, name=name
    )
    if mode == DEPLOY_MODE_APPLY:
        api_client = kube_api_client if kube_api_client is not None else load_api_client()
        try:
            rollout = roll_out(documents, api_client=api_client, timeout=wait_timeout)
        except DeploymentError as e:
            # The service was changed (and maybe rolled back): that is a deploy to record too.
            try:
                audit.append("failed", f"{namespace}/{name} from {storage_uri}: {one_line(e)}")
            except DeploymentError as unrecorded:
                raise DeploymentError(f"{one_line(e)}; {one_line(unrecorded)}") from e
            raise
        documents[-1] = rollout.manifest
        status = rollout.status
        ready, detail = rollout.readiness.state == READY, rollout.readiness.detail
    else:
        status = DEPLOY_MODE_DRY_RUN
    text = yaml.safe_dump_all(documents, sort_keys=True, default_flow_style=False)
    try:
        written = write_text_atomic(manifest_path, text)
    except OSError as e:
        done = "" if status == DEPLOY_MODE_DRY_RUN else f"the service was {status}, but "
        raise DeploymentError(
            f"{done}manifest '{manifest_path}' cannot be written ({e.strerror}); check the path"
        ) from e
    audit.append(status, f"{namespace}/{name} from {storage_uri} {detail}".strip(), written)
    return DeployResult(
        status=status,
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=actual,
        manifest_path=str(Path(written)),
        ready=ready,
        detail=detail,
    )


@dataclass(frozen=True)
class _Audit:
    """Appends this deploy's records to the audit log (a no-op when ``log`` is off)."""

    log: str | os.PathLike[str] | None
    signing: SigningConfig | None
    run_id: str
    pipeline: str
    digest: str
    name: str

    def append(
        self, outcome: str, message: str, document: str | os.PathLike[str] | None = None
    ) -> None:
        if not self.log or self.signing is None:
            return
        try:
            append_record(
                self.log,
                kind="deploy",
                outcome=outcome,
                message=message,
                signing=self.signing,
                run_id=self.run_id,
                pipeline=self.pipeline,
                model_digest=self.digest,
                document=document,
            )
        except MLSecOpsError as e:
            raise DeploymentError(
                f"deploy of '{self.name}' ({outcome}) is NOT in the audit log ({one_line(e)}); "
                "fix the log and re-run"
            ) from e


def _approval_trust(
    public_key_path: str | os.PathLike[str] | None, verification: VerificationConfig | None
) -> VerificationConfig:
    """Return the trust for the gate's approvals: a key path or a config, exactly one."""
    if (public_key_path is None) == (verification is None):
        raise InvalidInputError(
            "pass exactly one of approval_public_key_path and approval_verification (the gate's "
            "approval key, not the model-signing key)"
        )
    if verification is not None:
        return resolve_verification(verification=verification)
    return resolve_verification(public_key_path=public_key_path)


def _render(
    *,
    predictor: str,
    name: str,
    namespace: str,
    storage_uri: str,
    model_digest: str,
    service_account: str | None,
    evidence: dict[str, str | os.PathLike[str]],
    trust: PredictorTrust | None,
    image: str,
    canary_traffic_percent: int | None,
) -> list[dict[str, Any]]:
    """Return the documents to apply, the InferenceService last."""
    if predictor == PREDICTOR_KSERVE or trust is None:
        isvc = render_inference_service(
            service_account=service_account,
            name=name,
            namespace=namespace,
            storage_uri=storage_uri,
            model_digest=model_digest,
            canary_traffic_percent=canary_traffic_percent,
        )
        return [isvc]
    signatures = f"{name}-signature"
    config_map = render_signature_configmap(name=signatures, namespace=namespace, files=evidence)
    isvc = render_verified_predictor_isvc(
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        model_digest=model_digest,
        signature_configmap=signatures,
        trust=trust,
        image=image,
        service_account=service_account,
        canary_traffic_percent=canary_traffic_percent,
    )
    return [config_map, isvc]
