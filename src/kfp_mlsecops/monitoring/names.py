"""Names of the pipeline metrics, their labels, the Pushgateway grouping keys and the env variable.

Every metric a pipeline step pushes is listed in :data:`PIPELINE_METRICS` with its help text and
label names; :class:`~kfp_mlsecops.monitoring.samples.Sample` refuses anything else. The
Pushgateway adds the grouping-key labels (``job``, ``pipeline``, ``run_id``, ``component``) to
every series of a push, so they are not metric labels here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ARTIFACT_KINDS",
    "CLEAN_ACCURACY",
    "DATA_VALIDATION_FINDINGS",
    "DATA_VALIDATION_PASSED",
    "GATE_BLESSED",
    "GRADIENT_MASKING_FLAGGED",
    "GATE_DECISION",
    "GATE_DECISION_JSON",
    "GATE_POLICY_MIN_CLEAN_ACCURACY",
    "GATE_POLICY_MIN_ROBUST_ACCURACY",
    "GROUPING_KEYS",
    "JOB",
    "LABEL_ATTACK",
    "LABEL_CHECK",
    "LABEL_COMPONENT",
    "LABEL_CONTROL",
    "LABEL_EPSILON",
    "LABEL_FLAG",
    "LABEL_PASSED",
    "LABEL_PIPELINE",
    "LABEL_RUN_ID",
    "LABEL_SEVERITY",
    "PIPELINE_METRICS",
    "PUSHGATEWAY_URL_ENV",
    "ROBUSTNESS_RESULTS_JSON",
    "ROBUST_ACCURACY",
    "STEP_DURATION_SECONDS",
    "STEP_END_TIMESTAMP_SECONDS",
    "STEP_SUCCESS",
    "VALIDATION_REPORT_JSON",
    "MetricSpec",
]

#: Environment variable holding the Pushgateway URL; pushing is off when it is unset or empty.
PUSHGATEWAY_URL_ENV = "MLSECOPS_PUSHGATEWAY_URL"
#: The ``job`` grouping key of every push.
JOB = "mlsecops-pipeline"

# --- labels --------------------------------------------------------------------------------------
LABEL_PIPELINE = "pipeline"
LABEL_RUN_ID = "run_id"
LABEL_COMPONENT = "component"
#: Grouping keys of a push besides ``job``: one Pushgateway group per pipeline run and step.
GROUPING_KEYS = (LABEL_PIPELINE, LABEL_RUN_ID, LABEL_COMPONENT)
LABEL_CHECK = "check"
LABEL_SEVERITY = "severity"
LABEL_PASSED = "passed"
LABEL_ATTACK = "attack"
LABEL_EPSILON = "epsilon"
LABEL_CONTROL = "control"
LABEL_FLAG = "flag"

# --- metric names --------------------------------------------------------------------------------
STEP_DURATION_SECONDS = "mlsecops_step_duration_seconds"
STEP_SUCCESS = "mlsecops_step_success"
STEP_END_TIMESTAMP_SECONDS = "mlsecops_step_end_timestamp_seconds"
DATA_VALIDATION_PASSED = "mlsecops_data_validation_passed"
DATA_VALIDATION_FINDINGS = "mlsecops_data_validation_findings"
CLEAN_ACCURACY = "mlsecops_clean_accuracy"
ROBUST_ACCURACY = "mlsecops_robust_accuracy"
GRADIENT_MASKING_FLAGGED = "mlsecops_gradient_masking_flagged"
GATE_BLESSED = "mlsecops_gate_blessed"
GATE_DECISION = "mlsecops_gate_decision"
GATE_POLICY_MIN_CLEAN_ACCURACY = "mlsecops_gate_policy_min_clean_accuracy"
GATE_POLICY_MIN_ROBUST_ACCURACY = "mlsecops_gate_policy_min_robust_accuracy"

# --- artifact kinds record_step can turn into metrics ---------------------------------------------
VALIDATION_REPORT_JSON = "validation_report"
ROBUSTNESS_RESULTS_JSON = "robustness_results"
GATE_DECISION_JSON = "gate_decision"
ARTIFACT_KINDS = (VALIDATION_REPORT_JSON, ROBUSTNESS_RESULTS_JSON, GATE_DECISION_JSON)


@dataclass(frozen=True)
class MetricSpec:
    """A pipeline metric: its help text and label names (all are gauges)."""

    help: str
    labels: tuple[str, ...] = ()


#: Every metric a pipeline step may push.
PIPELINE_METRICS: dict[str, MetricSpec] = {
    STEP_DURATION_SECONDS: MetricSpec("Wall time of the pipeline step in seconds."),
    STEP_SUCCESS: MetricSpec("1 if the pipeline step finished without error, else 0."),
    STEP_END_TIMESTAMP_SECONDS: MetricSpec("Unix time at which the pipeline step ended."),
    DATA_VALIDATION_PASSED: MetricSpec("1 if every error-severity data check passed, else 0."),
    DATA_VALIDATION_FINDINGS: MetricSpec(
        "Data validation findings by check, severity and outcome (skipped counts as not passed).",
        (LABEL_CHECK, LABEL_SEVERITY, LABEL_PASSED),
    ),
    CLEAN_ACCURACY: MetricSpec("Accuracy on the clean test split (0..1)."),
    ROBUST_ACCURACY: MetricSpec(
        "Accuracy under attack at an L-inf budget epsilon (0..1); attack=worst_case is the "
        "per-sample worst case over every attack run.",
        (LABEL_ATTACK, LABEL_EPSILON),
    ),
    GRADIENT_MASKING_FLAGGED: MetricSpec(
        "1 if the gradient-masking diagnostic was raised for the model, else 0.", (LABEL_FLAG,)
    ),
    GATE_BLESSED: MetricSpec("1 if the gate blessed (approved) the model, else 0."),
    GATE_DECISION: MetricSpec("1 if the gate control passed, else 0.", (LABEL_CONTROL,)),
    GATE_POLICY_MIN_CLEAN_ACCURACY: MetricSpec("The gate policy's minimum clean accuracy."),
    GATE_POLICY_MIN_ROBUST_ACCURACY: MetricSpec(
        "The gate policy's minimum robust accuracy for its attack and epsilon.",
        (LABEL_ATTACK, LABEL_EPSILON),
    ),
}
