"""Compile-time attack-test shards: a ParallelFor of shards, merged, feeding attest and gate."""

from __future__ import annotations

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from kfp_mlsecops.cli.main import main
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.pipelines import make_secure_training
from kfp_mlsecops.pipelines.compiling import PIPELINE_YAML, compile_pipeline

MERGE = "merge-attack-results"


def _pipeline(path) -> dict:
    pipeline = next(yaml.safe_load_all(path.read_text()))
    json_format.ParseDict(pipeline, pipeline_spec_pb2.PipelineSpec())  # a valid KFP spec
    return pipeline


@pytest.fixture(scope="module", params=["secure-training", "secure-release"])
def sharded(request, tmp_path_factory) -> tuple[dict, int]:
    out = tmp_path_factory.mktemp("shards") / f"{request.param}.yaml"
    count = 3 if request.param == "secure-training" else 2
    argv = ["compile", "--output", str(out), "--pipeline", request.param]
    assert main([*argv, "--attack-shards", str(count)]) == 0
    return _pipeline(out), count


def test_shards_fan_out_over_a_parallel_for_and_merge_into_attest_and_gate(sharded):
    pipeline, count = sharded
    tasks = pipeline["root"]["dag"]["tasks"]
    (loop,) = [name for name in tasks if name.startswith("for-loop-")]
    assert "attack-test" not in tasks and MERGE in tasks
    iterator = tasks[loop]["parameterIterator"]
    assert iterator["items"] == {"raw": str(list(range(count)))}
    assert tasks[loop]["iteratorPolicy"] == {"parallelismLimit": count}

    body = pipeline["components"][tasks[loop]["componentRef"]["name"]]["dag"]["tasks"]
    shard = body["attack-test"]["inputs"]["parameters"]
    assert shard["shard_count"] == {"runtimeValue": {"constant": float(count)}}
    assert shard["shard_index"] == {"componentInputParameter": iterator["itemInput"]}

    merge = tasks[MERGE]["inputs"]["artifacts"]
    collected = merge["shards"]["taskOutputArtifact"]
    assert collected["producerTask"] == loop
    outputs = pipeline["components"][tasks[loop]["componentRef"]["name"]]["outputDefinitions"]
    assert outputs["artifacts"][collected["outputArtifactKey"]]["isArtifactList"] is True
    for name in ("model", "test_data"):  # the merge checks the digests the shards recorded
        assert merge[name]["taskOutputArtifact"]["outputArtifactKey"] == name
    for consumer in ("attest-robustness", "gate"):
        results = tasks[consumer]["inputs"]["artifacts"]["results"]["taskOutputArtifact"]
        assert results == {"outputArtifactKey": "results", "producerTask": MERGE}, consumer


def test_one_shard_is_the_committed_pipeline(tmp_path):
    path = compile_pipeline(tmp_path / "one.yaml", attack_shards=1)
    assert path.read_text() == PIPELINE_YAML.read_text()


@pytest.mark.parametrize("shards", [0, 65, True, 2.0])
def test_bad_shard_counts_are_refused(shards):
    with pytest.raises(InvalidInputError, match=f"attack_shards={shards!r}: must be an integer"):
        make_secure_training(attack_shards=shards)


def test_cli_attack_shards_needs_output_and_a_positive_count(tmp_path, capsys):
    assert main(["compile", "--attack-shards", "2"]) == 2
    assert "--attack-shards need(s) --output" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compile", "--output", str(tmp_path / "x.yaml"), "--attack-shards", "0"])
