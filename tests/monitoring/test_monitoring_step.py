"""record_step: times the step, records success or failure, never changes the step's outcome."""

from __future__ import annotations

import logging
import shutil
import socket

import pytest

from kfp_mlsecops.errors import GateRejected
from kfp_mlsecops.monitoring import PUSHGATEWAY_URL_ENV, Sample, record_step, redact_url
from kfp_mlsecops.monitoring import names as n

GROUP = {"pipeline": "secure-training", "run_id": "run-1"}


def _closed_port_url() -> str:
    """A loopback URL nobody listens on (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _value(record, name: str) -> float:
    (value,) = [s.value for s in record.samples if s.name == name]
    return value


@pytest.fixture(autouse=True)
def _no_gateway_from_the_environment(monkeypatch):
    monkeypatch.delenv(PUSHGATEWAY_URL_ENV, raising=False)


def test_without_a_gateway_it_records_but_does_not_push(artifacts):
    with record_step(
        "validate_data", **GROUP, artifacts={n.VALIDATION_REPORT_JSON: artifacts.report_passed}
    ) as record:
        record.add(Sample(n.CLEAN_ACCURACY, 0.5))
    assert record.gateway is None and not record.pushed and record.problems == []
    assert _value(record, n.STEP_SUCCESS) == 1.0
    assert _value(record, n.STEP_DURATION_SECONDS) >= 0.0
    assert _value(record, n.DATA_VALIDATION_PASSED) == 1.0
    assert _value(record, n.CLEAN_ACCURACY) == 0.5


def test_the_step_exception_propagates_unchanged_and_success_is_zero(artifacts, tmp_path):
    decision = tmp_path / "decision.json"
    error = GateRejected("gate blocked model 'm'; do not deploy")
    with pytest.raises(GateRejected) as info:
        with record_step("gate", **GROUP, artifacts={n.GATE_DECISION_JSON: decision}) as record:
            shutil.copyfile(artifacts.decision_blocked, decision)  # the gate writes, then raises
            raise error
    assert info.value is error
    assert _value(record, n.STEP_SUCCESS) == 0.0
    assert _value(record, n.GATE_BLESSED) == 0.0
    assert record.problems == []


def test_a_failed_step_that_wrote_no_artifact_is_not_a_recording_problem(tmp_path):
    with pytest.raises(RuntimeError):
        with record_step(
            "attack_test", **GROUP, artifacts={n.ROBUSTNESS_RESULTS_JSON: tmp_path / "none.json"}
        ) as record:
            raise RuntimeError("attack failed")
    assert record.problems == []
    assert _value(record, n.STEP_SUCCESS) == 0.0


def test_a_successful_step_without_its_artifact_is_logged(tmp_path, caplog):
    with record_step(
        "attack_test", **GROUP, artifacts={n.ROBUSTNESS_RESULTS_JSON: tmp_path / "none.json"}
    ) as record:
        pass
    (problem,) = record.problems
    assert "robustness_results not turned into metrics" in problem and "do not exist" in problem
    assert [r.getMessage() for r in caplog.records] == [problem]


def test_an_unknown_artifact_kind_is_logged_not_raised(tmp_path):
    with record_step("train", **GROUP, artifacts={"model": tmp_path}) as record:
        pass
    assert len(record.problems) == 1 and "unknown artifact kind 'model'" in record.problems[0]


def test_an_unreachable_gateway_logs_one_stderr_line_without_credentials(capfd):
    url = _closed_port_url().replace("http://", "http://robot:s3cr3t@") + "/push"
    logging.getLogger("kfp_mlsecops.monitoring").propagate = False  # only lastResort -> stderr
    try:
        with record_step("sign_model", **GROUP, pushgateway=url) as record:
            outcome = "signed"
    finally:
        logging.getLogger("kfp_mlsecops.monitoring").propagate = True
    assert outcome == "signed" and not record.pushed
    err = capfd.readouterr().err
    assert err.count("\n") == 1, err
    assert "push failed, step outcome unchanged" in err and "unreachable" in err
    assert "s3cr3t" not in err and "robot" not in err
    assert redact_url(url) in err


def test_the_environment_variable_turns_pushing_on_and_the_empty_argument_off(monkeypatch):
    url = _closed_port_url()
    monkeypatch.setenv(PUSHGATEWAY_URL_ENV, url)
    with record_step("train", **GROUP) as from_env:
        pass
    with record_step("train", **GROUP, pushgateway="") as off:
        pass
    assert from_env.gateway == url and len(from_env.problems) == 1
    assert off.gateway is None and off.problems == []


@pytest.mark.parametrize(
    ("group", "what"),
    [
        ({"pipeline": "secure-training", "run_id": ""}, "run id"),
        ({"pipeline": "gs://bucket/hunter2", "run_id": "r"}, "pipeline"),
    ],
)
def test_a_bad_grouping_key_is_logged_and_nothing_is_pushed(group, what):
    with record_step("gate", **group, pushgateway=_closed_port_url()) as record:
        pass
    (problem,) = record.problems
    assert f"{what}: not a metric label value" in problem and "hunter2" not in problem
    assert not record.pushed


@pytest.mark.parametrize(
    "url", ["ftp://host:21", "http://host:9091/?token=abc", "http://host:notaport"]
)
def test_an_unusable_url_is_logged_and_its_query_is_never_shown(url):
    with record_step("gate", **GROUP, pushgateway=url) as record:
        pass
    (problem,) = record.problems
    assert "Pushgateway URL" in problem and "abc" not in problem
