"""The wiring the components use, run by the real KFP local runner, pushing to real Prometheus.

A probe pipeline runs the validate-data core inside `record_step` in a KFP task (a subprocess, as
on a cluster), gets the Pushgateway URL from an env var set with `task.set_env_variable` and the
run id from `dsl.PIPELINE_JOB_ID_PLACEHOLDER`; Prometheus must then hold the pushed series.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
import pytest
from kfp import dsl, local
from kfp.dsl import Artifact, Output

from kfp_mlsecops.components._image import IMAGE
from kfp_mlsecops.monitoring import PUSHGATEWAY_URL_ENV

PROBE_PIPELINE = "kfp-local-probe"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning"),
]


@dsl.component(install_kfp_package=False, base_image=IMAGE)
def validate_with_metrics(run_id: str, report_json: Output[Artifact]):
    """validate_data's core wrapped the way the components are (see the monitoring README)."""
    import tempfile
    from pathlib import Path

    from kfp_mlsecops.data import run_validate_data
    from kfp_mlsecops.monitoring import names, record_step

    scratch = Path(tempfile.mkdtemp())
    with record_step(
        "validate_data",
        pipeline="kfp-local-probe",
        run_id=run_id,
        artifacts={names.VALIDATION_REPORT_JSON: report_json.path},
    ) as record:
        run_validate_data(
            source="digits",
            train_path=scratch / "train.npz",
            test_path=scratch / "test.npz",
            report_json_path=report_json.path,
            report_md_path=scratch / "report.md",
            manifest_path=scratch / "manifest.json",
        )
    if not record.pushed:
        raise RuntimeError(f"metrics were not pushed: {record.problems}")


def test_a_kfp_local_task_pushes_with_the_env_url_and_the_pipeline_run_id(prom_stack, tmp_path):
    @dsl.pipeline(name=PROBE_PIPELINE)
    def probe():
        task = validate_with_metrics(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
        task.set_env_variable(PUSHGATEWAY_URL_ENV, prom_stack.pushgateway_url)

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    probe()
    (result,) = prom_stack.wait_for(
        f'mlsecops_data_validation_passed{{pipeline="{PROBE_PIPELINE}"}}'
    )
    assert result["value"][1] == "1"
    run_id = result["metric"]["run_id"]
    assert run_id and "{{" not in run_id
    (success,) = prom_stack.wait_for(
        f'mlsecops_step_success{{pipeline="{PROBE_PIPELINE}",run_id="{run_id}"}}'
    )
    assert success["metric"]["component"] == "validate_data" and success["value"][1] == "1"
