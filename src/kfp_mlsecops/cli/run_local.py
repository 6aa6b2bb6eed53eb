"""``mlsecops run``: a whole pipeline on this machine with kfp.local.

``secure-training`` (validate, train, then the release chain) by default; ``secure-release``
(import a model trained elsewhere, validate its evaluation data, then the same chain) when the
arguments name a ``model_uri``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli._progress import TaskProgress
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["PIPELINE_TASKS", "LocalRun", "run_pipeline_locally"]

_CHAIN = ("attack-test", "attest-robustness", "sign-model", "gate", "deploy")
#: The tasks of each pipeline (local task names), in the order they report.
PIPELINE_TASKS = {
    "secure-training": ("validate-data", "train", *_CHAIN),
    "secure-release": ("importer", "importer-2", "validate-data", "import-model", *_CHAIN),
}
#: The task that merges attack-test shards (``attack_shards`` > 1).
_MERGE = "merge-attack-results"
#: Report artifacts a person wants to open, by (task folder, artifact name).
_REPORTS = {
    "validation report": ("validate-data", "report"),
    "robustness report (HTML)": ("attack-test", "html_report"),
    "robustness report": ("attack-test", "report"),
    "robustness results": ("attack-test", "results"),
    "robustness attestation": ("attest-robustness", "attestation"),
    "gate decision": ("gate", "decision"),
    "gate report": ("gate", "report"),
    "signed approval": ("gate", "approval"),
    "InferenceService manifest": ("deploy", "manifest"),
}


@dataclass
class LocalRun:
    """What a local run produced: where, which tasks ran, the decision and the first error."""

    run_dir: Path
    log_path: Path
    task_root: Path | None
    statuses: dict[str, str]
    error: tuple[str, str] | None
    seconds: float
    keys_generated: bool
    decision: dict[str, Any] | None = None
    reports: dict[str, Path] = field(default_factory=dict)
    tasks: tuple[str, ...] = PIPELINE_TASKS["secure-training"]

    @property
    def succeeded(self) -> bool:
        """True when every task finished with SUCCESS."""
        return all(self.statuses.get(t) == "SUCCESS" for t in self.tasks)

    @property
    def blocked_by_gate(self) -> bool:
        """True when the gate task failed (fail closed: it raises to block)."""
        return self.statuses.get("gate") == "FAILURE"


def run_pipeline_locally(
    *,
    output_dir: Path,
    arguments: dict[str, Any],
    private_key: Path | None = None,
    public_key: Path | None = None,
    approval_key: Path | None = None,
    approval_public_key: Path | None = None,
    policy: Path | None = None,
    signing_method: str = C.SIGNING_METHOD_KEY,
    verbose: bool = False,
    console: TextIO | None = None,
    attack_shards: int = 1,
    audit_log: Path | None = None,
) -> LocalRun:
    """Run a pipeline with ``SubprocessRunner(use_venv=False)`` under ``output_dir``.

    ``secure-release`` when ``arguments`` hold ``model_uri`` (a model trained elsewhere, with
    ``data_uri``), else ``secure-training``.

    Key method: without keys a throwaway ECDSA P-256 pair is generated in the run folder. Other
    methods: the pipeline is compiled for ``signing_method`` and ``arguments`` carry its
    options (paths, ``signer_identity``, ...). The gate's approval key pair
    (``approval_key``/``approval_public_key``) is a throwaway pair too when not given.
    ``policy`` is the policy floor file compiled into the pipeline (None: the built-in default
    floor, which is said on ``console``). Pipeline task output goes to ``pipeline.log``;
    ``console`` gets one line per task. ``attack_shards`` > 1 compiles attack-test as that many
    shards (``dsl.ParallelFor``, which kfp.local runs) merged by ``merge-attack-results``, whose
    reports the run lists. ``audit_log`` (None: off) is the audit log gate and deploy append
    to, signed with the approval key (one machine runs both tasks here).
    """
    from kfp import local

    from kfp_mlsecops.pipelines import make_secure_release, make_secure_training
    from kfp_mlsecops.policy import load_floor
    from kfp_mlsecops.signing import generate_key_pair

    console = console or sys.stdout
    floor = load_floor(policy)  # a bad file fails here, before anything runs
    release = "model_uri" in arguments
    make = make_secure_release if release else make_secure_training
    pipeline = make(
        signing_method,
        policy_path=str(policy.resolve()) if policy is not None else "",
        attack_shards=attack_shards,
    )
    tasks = PIPELINE_TASKS[pipeline.name]
    reports = dict(_REPORTS)
    if attack_shards > 1:  # the shards run as attack-test; the merge writes what it wrote
        at = tasks.index("attack-test") + 1
        tasks = (*tasks[:at], _MERGE, *tasks[at:])
        reports = {k: (_MERGE if t == "attack-test" else t, a) for k, (t, a) in reports.items()}
    if signing_method != C.SIGNING_METHOD_KEY and (private_key or public_key):
        raise InvalidInputError(
            f"keys: --private-key/--public-key belong to the key method, not {signing_method!r}; "
            "pass the method's options as pipeline arguments"
        )
    if (private_key is None) != (public_key is None):
        raise InvalidInputError(
            "keys: give both --private-key and --public-key, or neither for a throwaway pair"
        )
    if (approval_key is None) != (approval_public_key is None):
        raise InvalidInputError(
            "approval keys: give both --approval-key and --approval-public-key, or neither for "
            "a throwaway pair"
        )
    for key in (private_key, public_key, approval_key, approval_public_key):
        if key is not None and not key.is_file():
            raise InvalidInputError(f"key file '{key}': not found; check the path")

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    run_dir = output_dir.resolve() / f"run-{stamp}"
    run_dir.mkdir(parents=True)
    keys_generated = signing_method == C.SIGNING_METHOD_KEY and private_key is None
    if keys_generated:
        private_key = run_dir / "throwaway-keys" / C.SIGNING_KEY_FILE
        public_key = run_dir / "throwaway-keys" / C.VERIFY_KEY_FILE
        generate_key_pair(private_key, public_key)
        console.write(
            f"Generated a THROWAWAY signing key pair for this run in {private_key.parent}\n"
            "  (demo only: on a cluster the key comes from a Kubernetes Secret)\n"
        )

    if approval_key is None or approval_public_key is None:
        approval_key = run_dir / "throwaway-keys" / "approval-private-key.pem"
        approval_public_key = run_dir / "throwaway-keys" / "approval-public-key.pem"
        generate_key_pair(approval_key, approval_public_key)
        keys_generated = True
        console.write(
            f"Generated a THROWAWAY approval key pair for the gate in {approval_key.parent}\n"
            "  (demo only: on a cluster it is the Secret mlsecops-approval-key)\n"
        )
    console.write(_floor_line(floor, policy))
    for warning in _preflight(floor, arguments, pipeline):
        console.write(f"warning: {warning}; the gate will block this run\n")
    arguments = {
        **arguments,
        "approval_key_path": str(approval_key.resolve()),
        "approval_public_key_path": str(approval_public_key.resolve()),
    }
    if audit_log is not None:
        from kfp_mlsecops.audit import resolve_log_path

        resolve_log_path(audit_log)  # refuse a URI before anything runs
        arguments["audit_log_path"] = str(audit_log.resolve())
        arguments["audit_key_path"] = str(approval_key.resolve())
        console.write(
            f"Audit log: {audit_log} (check: mlsecops audit verify --log {audit_log} "
            f"--public-key {approval_public_key})\n"
        )
    if private_key is not None and public_key is not None:
        arguments = {
            **arguments,
            "private_key_path": str(private_key.resolve()),
            "public_key_path": str(public_key.resolve()),
        }
    pipeline_root = run_dir / "pipeline-root"
    log_path = run_dir / "pipeline.log"
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=False,
    )
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log, warnings.catch_warnings():
        # kfp.local warns that the project image and display names are not used locally: expected.
        warnings.filterwarnings("ignore", module=r"kfp\.local\..*")
        with TaskProgress(log, console, total=len(tasks), verbose=verbose) as progress:
            pipeline(**arguments)
    seconds = time.monotonic() - started

    task_roots = sorted(pipeline_root.glob(f"{pipeline.name}-*"))
    task_root = task_roots[-1] if task_roots else None
    result = LocalRun(
        run_dir=run_dir,
        log_path=log_path,
        task_root=task_root,
        statuses=progress.statuses,
        error=progress.last_error,
        seconds=seconds,
        keys_generated=keys_generated,
        tasks=tasks,
    )
    if task_root is not None:
        for label, (task, artifact) in reports.items():
            path = task_root / task / artifact
            if path.is_file() and result.statuses.get(task) in ("SUCCESS", "FAILURE"):
                result.reports[label] = path
        decision_path = result.reports.get("gate decision")
        if decision_path is not None:
            try:
                result.decision = json.loads(decision_path.read_text())
            except (OSError, ValueError):
                result.decision = None
        if result.statuses.get("train") == "SUCCESS":
            # The extras load TensorFlow in this process: keep its C++ INFO/WARNING lines (the
            # pipeline's tasks already log to pipeline.log) off the console, unless the user set it.
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            privacy = _membership_step(task_root, run_dir / C.PRIVACY_RESULTS_FILE, console)
            if privacy is not None:
                result.reports["membership inference"] = privacy
            poisoning = _poisoning_step(task_root, run_dir / C.POISONING_RESULTS_FILE, console)
            if poisoning is not None:
                result.reports["poisoning scan"] = poisoning
            explanations = _explanations_step(
                task_root, run_dir / C.EXPLANATIONS_RESULTS_FILE, console
            )
            if explanations is not None:
                result.reports["saliency sanity check"] = explanations
    return result


def _membership_step(task_root: Path, out: Path, console: TextIO) -> Path | None:
    """Run the membership-inference test on the trained model; write ``out`` (the run folder's).

    An extra step after the pipeline (the compiled pipelines are unchanged): the training split
    are members, the test split non-members. It never changes the run's outcome; when it fails,
    no file is written and ``mlsecops check`` fails its privacy control for missing evidence.
    A model trained elsewhere (secure-release) has no training split here: not run.
    """
    from kfp_mlsecops.errors import MLSecOpsError
    from kfp_mlsecops.privacy import run_membership_test

    console.write("[extra] membership-inference ...\n")
    try:
        results = run_membership_test(
            model_path=task_root / "train" / "model",
            train_path=task_root / "validate-data" / "train_data",
            test_path=task_root / "validate-data" / "test_data",
            out_path=out,
            seed=0,
        )
    except MLSecOpsError as e:
        console.write(f"      membership-inference: error: {' '.join(str(e).split())}\n")
        return None
    console.write(f"      membership-inference: {results.summary()}\n")
    return out


def _poisoning_step(task_root: Path, out: Path, console: TextIO) -> Path | None:
    """Scan the training split for a backdoor through the trained model; write ``out``.

    An extra step after the pipeline, like the membership-inference one: it never changes the
    run's outcome (a suspicious result is reported, and ``mlsecops check`` fails its control);
    when it fails, no file is written and the control fails for missing evidence.
    """
    from kfp_mlsecops.errors import MLSecOpsError
    from kfp_mlsecops.poisoning import run_poisoning_scan

    console.write("[extra] poisoning scan ...\n")
    try:
        results = run_poisoning_scan(
            model_path=task_root / "train" / "model",
            train_path=task_root / "validate-data" / "train_data",
            out_path=out,
        )
    except MLSecOpsError as e:
        console.write(f"      poisoning scan: error: {' '.join(str(e).split())}\n")
        return None
    console.write(f"      poisoning scan: {results.summary()}\n")
    return out


def _explanations_step(task_root: Path, out: Path, console: TextIO) -> Path | None:
    """Run the saliency sanity check on the trained model and the test split; write ``out``.

    An extra step after the pipeline, like the poisoning scan: it never changes the run's
    outcome (a failed check is reported; ``mlsecops check`` reports its informational control);
    when it fails to run, no file is written and the control fails for missing evidence.
    """
    from kfp_mlsecops.errors import MLSecOpsError
    from kfp_mlsecops.explanations import run_explanations_check

    console.write("[extra] saliency sanity check ...\n")
    try:
        results = run_explanations_check(
            model_path=task_root / "train" / "model",
            test_path=task_root / "validate-data" / "test_data",
            out_path=out,
        )
    except MLSecOpsError as e:
        console.write(f"      saliency sanity check: error: {' '.join(str(e).split())}\n")
        return None
    console.write(f"      saliency sanity check: {results.summary()}\n")
    return out


def _floor_line(floor: Any, policy: Path | None) -> str:
    """Say which policy floor applies (and that it is the built-in one when no file was given)."""
    spec = (
        f"clean >= {floor.min_clean_accuracy:g}, robust >= {floor.min_robust_accuracy:g} at "
        f"eps >= {floor.min_robust_epsilon:g} of the input range, tier >= {floor.min_tier}, "
        f">= {floor.min_samples} samples"
    )
    if policy is None:
        return (
            f"No --policy given: the BUILT-IN default floor applies ({floor.label}: {spec}); "
            "run parameters can only tighten it\n"
        )
    return f"Policy floor: {floor.label} ({floor.environment}) from {policy}: {spec}\n"


def _preflight(floor: Any, arguments: dict[str, Any], pipeline: Any) -> list[str]:
    """Say, before anything runs, which run parameters fall short of the floor.

    Only a warning: the gate enforces the floor (and says so in its decision).
    """
    from kfp_mlsecops.policy import Policy, evaluation_violations, tighten

    defaults = {name: spec.default for name, spec in pipeline.component_spec.inputs.items()}
    values = {**defaults, **arguments}
    try:
        run = Policy(
            min_clean_accuracy=values["min_clean_accuracy"],
            min_robust_accuracy=values["min_robust_accuracy"],
            robust_attack=values["robust_attack"],
            robust_epsilon=values["robust_epsilon"],
            allow_masking_flags=tuple(values["allow_masking_flags"] or ()),
        )
        span = (float(values["value_min"]), float(values["value_max"]))
        effective = tighten(run, floor, input_range=span).policy
        tier = values["attack_tier"]
        names = C.TIER_ATTACKS.get(tier, ())
        params = {
            name: {"steps": values["pgd_steps"], "restarts": 1} if name == "pgd" else {}
            for name in names
        }
        found = evaluation_violations(
            floor,
            tier=tier,
            attack_params=params,
            n_samples=floor.min_samples,  # the split size is known only after validation
            epsilons=[float(e) for e in values["epsilons"]],
            robust_epsilon=effective.robust_epsilon,
            robust_attack=effective.robust_attack,
        )
    except Exception:  # noqa: BLE001 - a preflight never stops a run; the gate decides
        return []
    # reliable-tier budgets come from the attack defaults, not run parameters: not checked here
    return [v for v in found if tier == C.TIER_FAST or "attack '" not in v]
