"""policy.floor: the strict PolicyFloor reader, its built-in default and its canonical digest."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
import yaml

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.policy import BUILTIN, PolicyFloor, load_floor

PROD = """\
apiVersion: kfp-mlsecops.dev/v1
kind: PolicyFloor
metadata:
  name: prod              # required, lowercase DNS-1123 label
  environment: prod
  version: 3
spec:
  min_clean_accuracy: 0.90
  min_robust_accuracy: 0.50
  min_robust_epsilon: 0.05
  robust_attacks: [worst_case]
  min_tier: fast
  min_attack_budget:
    pgd: {steps: 20, restarts: 1}
    apgd_ce: {n_iter: 100, restarts: 1}
    apgd_t: {n_iter: 30, n_targets: 9}
    square: {n_queries: 1000}
  min_samples: 300
  waivable_masking_flags: []
  evidence:
    inflation: 0.10
    detection_probability: 0.99
    max_unreproduced: 0
"""


def _doc() -> dict[str, Any]:
    return yaml.safe_load(PROD)


def _write(tmp_path: Path, text: str | bytes, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _load_doc(tmp_path: Path, doc: Any) -> PolicyFloor:
    return load_floor(_write(tmp_path, yaml.safe_dump(doc, sort_keys=False)))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def test_the_documented_example_loads(tmp_path):
    path = _write(tmp_path, PROD)
    floor = load_floor(path)
    assert (floor.name, floor.environment, floor.version) == ("prod", "prod", 3)
    assert floor.min_clean_accuracy == 0.9 and isinstance(floor.min_clean_accuracy, float)
    assert floor.min_robust_epsilon == 0.05
    assert floor.robust_attacks == ("worst_case",)
    assert floor.min_tier == "fast"
    assert dict(floor.min_attack_budget["apgd_t"]) == {"n_iter": 30, "n_targets": 9}
    assert floor.min_samples == 300
    assert floor.waivable_masking_flags == ()
    assert floor.evidence.inflation == 0.1 and floor.evidence.max_unreproduced == 0
    assert floor.source == str(path)
    assert floor.label == "policy 'prod' v3"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", floor.digest)


def test_min_attack_budget_is_optional_and_read_only(tmp_path):
    doc = _doc()
    del doc["spec"]["min_attack_budget"]
    floor = _load_doc(tmp_path, doc)
    assert dict(floor.min_attack_budget) == {}
    assert floor.to_dict()["spec"]["min_attack_budget"] == {}
    full = load_floor(_write(tmp_path, PROD, "full.yaml"))
    with pytest.raises(TypeError):
        full.min_attack_budget["pgd"]["steps"] = 1  # type: ignore[index]
    hash(full)  # frozen and hashable despite the mapping


# --- one rejection per schema rule -------------------------------------------------------------

REJECTIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown top key", _set("status", {}), "unknown key(s) status; remove them"),
    ("missing top key", _drop("spec"), "missing spec; add it"),
    ("apiVersion", _set("apiVersion", "v2"), "apiVersion='v2' must be kfp-mlsecops.dev/v1"),
    ("kind", _set("kind", "Policy"), "kind='Policy' must be PolicyFloor"),
    ("metadata type", _set("metadata", "prod"), "metadata must be a mapping, not a string"),
    ("unknown metadata key", _set("metadata.labels", {}), "unknown key(s) metadata.labels"),
    ("missing metadata key", _drop("metadata.version"), "missing metadata.version; add it"),
    ("name case", _set("metadata.name", "Prod"), "metadata.name='Prod' must be a lowercase DNS"),
    ("name length", _set("metadata.name", "a" * 64), "must be a lowercase DNS-1123 label"),
    ("name type", _set("metadata.name", 7), "metadata.name=7 must be a lowercase DNS-1123"),
    ("environment empty", _set("metadata.environment", ""), "metadata.environment='' must be"),
    ("environment spaces", _set("metadata.environment", " prod"), "must not start or end"),
    ("version zero", _set("metadata.version", 0), "metadata.version=0 must be an integer >= 1"),
    ("version bool", _set("metadata.version", True), "metadata.version=True must be an integer"),
    ("version float", _set("metadata.version", 1.5), "metadata.version=1.5 must be an integer"),
    ("version string", _set("metadata.version", "3"), "metadata.version='3' must be an integer"),
    (
        "version huge",
        _set("metadata.version", 2**53),
        "metadata.version=9007199254740992 must be an integer <= 9007199254740991",
    ),
    ("unknown spec key", _set("spec.min_acc", 0.5), "unknown key(s) spec.min_acc; remove them"),
    ("missing spec key", _drop("spec.min_samples"), "missing spec.min_samples; add it"),
    ("spec type", _set("spec", [1]), "spec must be a mapping, not a list"),
    ("clean range", _set("spec.min_clean_accuracy", 1.5), "spec.min_clean_accuracy=1.5 must be"),
    ("clean bool", _set("spec.min_clean_accuracy", True), "spec.min_clean_accuracy=True must"),
    ("robust string", _set("spec.min_robust_accuracy", "0.5"), "spec.min_robust_accuracy='0.5'"),
    ("robust negative", _set("spec.min_robust_accuracy", -0.1), "must be a number in [0, 1]"),
    ("epsilon negative", _set("spec.min_robust_epsilon", -0.01), "spec.min_robust_epsilon=-0.01"),
    ("epsilon above 1", _set("spec.min_robust_epsilon", 2), "spec.min_robust_epsilon=2 must be"),
    ("attacks string", _set("spec.robust_attacks", "worst_case"), "must be a list of names"),
    ("attacks worst", _set("spec.robust_attacks", ["pgd"]), "must include 'worst_case'"),
    ("attacks unknown", _set("spec.robust_attacks", ["worst_case", "cw"]), "unknown value(s)"),
    ("attacks repeat", _set("spec.robust_attacks", ["worst_case"] * 2), "repeats a name"),
    ("tier", _set("spec.min_tier", "slow"), "spec.min_tier='slow' must be one of fast, reliable"),
    ("budget type", _set("spec.min_attack_budget", [1]), "must be a mapping of attack name"),
    ("budget null", _set("spec.min_attack_budget", None), "spec.min_attack_budget=None must be"),
    (
        "budget attack",
        _set("spec.min_attack_budget.cw", {"steps": 1}),
        "unknown attack(s); use pgd, pgd_l2, apgd_ce",
    ),
    ("budget fgsm", _set("spec.min_attack_budget.fgsm", {"steps": 1}), "without budget param"),
    ("budget empty", _set("spec.min_attack_budget.pgd", {}), "must map some of steps, restarts"),
    ("budget param", _set("spec.min_attack_budget.pgd", {"n_iter": 5}), "use steps, restarts"),
    ("budget zero", _set("spec.min_attack_budget.pgd.steps", 0), "pgd.steps=0 must be an integer"),
    ("budget float", _set("spec.min_attack_budget.pgd.steps", 20.0), "pgd.steps=20.0 must be"),
    ("budget bool", _set("spec.min_attack_budget.square.n_queries", True), "n_queries=True"),
    ("samples", _set("spec.min_samples", 0), "spec.min_samples=0 must be an integer >= 1"),
    ("flags unknown", _set("spec.waivable_masking_flags", ["x"]), "waivable_masking_flags=['x']"),
    ("flags null", _set("spec.waivable_masking_flags", None), "must be a list of names"),
    ("evidence type", _set("spec.evidence", 0.1), "spec.evidence must be a mapping, not a float"),
    ("evidence key", _set("spec.evidence.power", 1), "unknown key(s) spec.evidence.power"),
    ("evidence missing", _drop("spec.evidence.inflation"), "missing spec.evidence.inflation"),
    (
        "inflation zero",
        _set("spec.evidence.inflation", 0),
        "inflation=0 must be a number in (0, 1]",
    ),
    ("probability 1", _set("spec.evidence.detection_probability", 1.0), "in (0, 1); fix"),
    ("unreproduced", _set("spec.evidence.max_unreproduced", -1), "max_unreproduced=-1 must be"),
]


@pytest.mark.parametrize(
    ("mutate", "message"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_every_schema_rule_is_enforced_with_one_line_naming_file_and_field(
    tmp_path, mutate, message
):
    doc = _doc()
    mutate(doc)
    path = _write(tmp_path, yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(InvalidInputError) as info:
        load_floor(path)
    text = str(info.value)
    assert message in text
    assert text.startswith(f"policy floor '{path}': ")
    assert "\n" not in text


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("min_robust_accuracy: 0.50", "min_robust_accuracy: .nan", "min_robust_accuracy=nan"),
        ("min_robust_epsilon: 0.05", "min_robust_epsilon: .inf", "min_robust_epsilon=inf"),
        ("min_clean_accuracy: 0.90", "min_clean_accuracy: yes", "min_clean_accuracy=True"),
        ("min_samples: 300", "min_samples: 2026-01-01", "min_samples=datetime.date(2026, 1, 1)"),
        ("max_unreproduced: 0", "max_unreproduced: ~", "max_unreproduced=None must be"),
    ],
)
def test_yaml_specials_are_not_numbers(tmp_path, old, new, message):
    assert old in PROD
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        load_floor(_write(tmp_path, PROD.replace(old, new)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; write a PolicyFloor document"),
        ("# only a comment\n\n", "is empty"),
        ("~\n", "is empty"),
        ("- a\n- b\n", "the document must be a mapping, not a list"),
        ("spec: [\n", "not valid YAML ("),
        (PROD + "---\nkind: PolicyFloor\n", "not valid YAML (expected a single document"),
        (
            PROD.replace("  min_samples: 300\n", "  min_samples: 300\n  min_samples: 5\n"),
            "duplicate key 'min_samples' at line 19",
        ),
        (
            PROD.replace("kind: PolicyFloor\n", "kind: PolicyFloor\nkind: PolicyFloor\n"),
            "duplicate key 'kind'",
        ),
        ("!!python/object/apply:os.system ['true']\n", "not valid YAML (could not determine"),
        ("? [a, b]\n: 1\n", "not valid YAML (found an unhashable key"),
    ],
)
def test_unusable_files_are_errors_never_the_default(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(InvalidInputError) as info:
        load_floor(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"policy floor '{path}': ")
    assert "\n" not in str(info.value)


def test_missing_directory_binary_and_huge_files_are_errors(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(
        InvalidInputError,
        match=r"cannot read it \(No such file or directory\); "
        r"mount the 'mlsecops-policy' ConfigMap at /etc/mlsecops/policy",
    ):
        load_floor(missing)
    with pytest.raises(InvalidInputError, match="cannot read it"):
        load_floor(tmp_path)
    with pytest.raises(InvalidInputError, match="not UTF-8 text; save the file as UTF-8"):
        load_floor(_write(tmp_path, b"\xff\xfe" + PROD.encode("utf-16-le"), "bin.yaml"))
    with pytest.raises(InvalidInputError, match="larger than 1 MiB"):
        load_floor(_write(tmp_path, PROD + "#" * (1 << 20), "big.yaml"))


def test_direct_construction_is_validated_too():
    floor = load_floor(None)
    with pytest.raises(InvalidInputError, match=r"policy floor 'builtin': spec.min_samples=0"):
        dataclasses.replace(floor, min_samples=0)
    with pytest.raises(InvalidInputError, match="source=''"):
        dataclasses.replace(floor, source="")
    moved = dataclasses.replace(floor, source="/elsewhere.yaml")
    assert moved == floor and moved.digest == floor.digest  # source is not content


# --- built-in default --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [None, ""])
def test_builtin_default_is_the_documented_floor(path):
    floor = load_floor(path)
    assert floor.source == BUILTIN == "builtin"
    assert floor.to_dict() == {
        "apiVersion": "kfp-mlsecops.dev/v1",
        "kind": "PolicyFloor",
        "metadata": {"name": "builtin-default", "environment": "any", "version": 1},
        "spec": {
            "min_clean_accuracy": 0.5,
            "min_robust_accuracy": 0.1,
            "min_robust_epsilon": 0.03,
            "robust_attacks": ["worst_case"],
            "min_tier": "fast",
            "min_attack_budget": {
                "pgd": {"steps": 10, "restarts": 1},
                "apgd_ce": {"n_iter": 50},
                "apgd_t": {"n_iter": 20},
                "square": {"n_queries": 500},
            },
            "min_samples": 100,
            "waivable_masking_flags": [],
            "evidence": {
                "inflation": 0.1,
                "detection_probability": 0.999,
                "max_unreproduced": 0,
            },
        },
    }


def test_builtin_default_ships_inside_the_package():
    from importlib import resources

    text = resources.files("kfp_mlsecops.policy").joinpath("default.yaml").read_text()
    assert "name: builtin-default" in text


# --- digest ------------------------------------------------------------------------------------


def test_digest_is_sha256_of_the_rfc8785_document(tmp_path):
    floor = load_floor(_write(tmp_path, PROD))
    expected = hashlib.sha256(rfc8785.dumps(floor.to_dict())).hexdigest()
    assert floor.digest == f"sha256:{expected}"


def test_digest_ignores_formatting_key_order_comments_and_list_order(tmp_path):
    reference = load_floor(_write(tmp_path, PROD, "a.yaml")).digest
    doc = _doc()
    reordered = {k: doc[k] for k in ("spec", "metadata", "kind", "apiVersion")}
    reordered["spec"] = dict(reversed(list(doc["spec"].items())))
    block = yaml.safe_dump(reordered, sort_keys=True, default_flow_style=False, indent=4)
    flow = yaml.safe_dump(doc, default_flow_style=True)
    written = (
        PROD.replace("0.90", "0.9")
        .replace("max_unreproduced: 0", "max_unreproduced: 0   # none")
        .replace("min_robust_accuracy: 0.50", "min_robust_accuracy: 5.0e-1")
    )
    for i, text in enumerate((block, flow, written)):
        assert load_floor(_write(tmp_path, text, f"{i}.yaml")).digest == reference, text
    lists = _doc()
    lists["spec"]["robust_attacks"] = ["worst_case", "pgd"]
    lists["spec"]["waivable_masking_flags"] = ["degenerate_gradients", "blackbox_beats_whitebox"]
    swapped = copy.deepcopy(lists)
    swapped["spec"]["robust_attacks"].reverse()
    swapped["spec"]["waivable_masking_flags"].reverse()
    assert _load_doc(tmp_path, lists).digest == _load_doc(tmp_path, swapped).digest
    accuracy_one = _doc()
    accuracy_one["spec"]["min_clean_accuracy"] = 1
    as_float = _doc()
    as_float["spec"]["min_clean_accuracy"] = 1.0
    assert _load_doc(tmp_path, accuracy_one).digest == _load_doc(tmp_path, as_float).digest


CHANGES = [
    ("metadata.name", "prod-eu"),
    ("metadata.environment", "production"),
    ("metadata.version", 4),
    ("spec.min_clean_accuracy", 0.91),
    ("spec.min_robust_accuracy", 0.5000001),
    ("spec.min_robust_epsilon", 0.06),
    ("spec.robust_attacks", ["worst_case", "apgd_ce"]),
    ("spec.min_tier", "reliable"),
    ("spec.min_attack_budget.pgd.steps", 21),
    ("spec.min_attack_budget.pgd.restarts", 2),
    ("spec.min_attack_budget.apgd_ce.n_iter", 99),
    ("spec.min_attack_budget.apgd_ce.restarts", 2),
    ("spec.min_attack_budget.apgd_t.n_iter", 31),
    ("spec.min_attack_budget.apgd_t.n_targets", 8),
    ("spec.min_attack_budget.square.n_queries", 1001),
    ("spec.min_attack_budget.pgd_l2", {"steps": 5}),
    ("spec.min_samples", 301),
    ("spec.waivable_masking_flags", ["degenerate_gradients"]),
    ("spec.evidence.inflation", 0.11),
    ("spec.evidence.detection_probability", 0.95),
    ("spec.evidence.max_unreproduced", 1),
]


def test_digest_changes_when_any_value_changes(tmp_path):
    reference = load_floor(_write(tmp_path, PROD)).digest
    digests = {reference}
    for i, (path, value) in enumerate(CHANGES):
        doc = _doc()
        _set(path, value)(doc)
        changed = load_floor(_write(tmp_path, yaml.safe_dump(doc), f"{i}.yaml")).digest
        assert changed not in digests, path
        digests.add(changed)
    dropped = _doc()
    del dropped["spec"]["min_attack_budget"]["square"]
    assert _load_doc(tmp_path, dropped).digest not in digests
