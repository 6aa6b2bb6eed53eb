"""``mlsecops attack``: real runs on a tiny digits model, eps keys as written, clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli._progress import ProgressBar
from kfp_mlsecops.cli.attack import parse_epsilon_keys
from kfp_mlsecops.cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from kfp_mlsecops.data.split_io import Split, save_split
from kfp_mlsecops.errors import InvalidInputError


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Digits in [0, 1]: validated splits for training, and a raw 3-D NPZ (no channel axis)."""
    folder = tmp_path_factory.mktemp("cli-digits")
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32).reshape(-1, 8, 8)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:1400], order[1400:]
    paths = {
        "train": save_split(folder / "train.npz", Split(x[train, ..., None], y[train], 0, 1, 10)),
        "test": save_split(folder / "test.npz", Split(x[test, ..., None], y[test], 0, 1, 10)),
        "raw": folder / "raw.npz",
    }
    np.savez(paths["raw"], x=x[test], y=y[test])
    return paths


@pytest.fixture(scope="module")
def models(digits: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same trained weights as a softmax .keras, a logits .keras and a SavedModel folder."""
    import keras

    from kfp_mlsecops.data.split_io import load_split
    from kfp_mlsecops.servable.export import export_savedmodel
    from kfp_mlsecops.training._architecture import build_model

    folder = tmp_path_factory.mktemp("cli-model")
    train = load_split(digits["train"])
    keras.utils.set_random_seed(0)
    softmax = build_model(x_train=train.x, n_classes=10, lower=0.0, upper=1.0)
    softmax.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    softmax.fit(train.x, train.y, epochs=2, batch_size=64, verbose=0)
    assert isinstance(softmax.layers[-1], keras.layers.Softmax)
    softmax.save(folder / "softmax.keras")
    logits = keras.Model(softmax.inputs, softmax.layers[-1].input)  # same weights, no softmax
    logits.save(folder / "logits.keras")
    export_savedmodel(softmax, folder / "model" / C.SAVEDMODEL_VERSION_DIR, probe=train.x[:8])
    return {
        "softmax": folder / "softmax.keras",
        "logits": folder / "logits.keras",
        "savedmodel": folder / "model" / C.SAVEDMODEL_VERSION_DIR,
        "folder": folder / "model",
    }


def _attack(model: Path, data: Path, out: Path, *extra: str) -> int:
    return main(
        ["attack", "--model", str(model), "--data", str(data), "--json", str(out), *extra]
        + ([] if "--eps" in extra else ["--eps", "0.1,0.20"])
    )


@pytest.mark.slow
def test_fast_tier_writes_every_figure_keyed_by_eps_as_written(models, digits, tmp_path, capsys):
    out = tmp_path / "out" / "attack.json"
    html = tmp_path / "out" / "attack.html"
    code = _attack(
        models["softmax"], digits["raw"], out, "--tier", "fast", "--max-samples", "120",
        "--html", str(html),
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    doc = json.loads(out.read_text())
    assert doc["tier"] == "fast" and doc["n_samples"] == 120
    assert doc["epsilons"] == ["0.1", "0.20"]
    assert list(doc["robust_accuracy"]) == ["0.1", "0.20"]
    assert set(doc["per_attack"]) == {"fgsm", "pgd"}
    for name, entry in doc["per_attack"].items():
        assert entry["norm"] == "linf"
        assert list(entry["robust_accuracy"]) == ["0.1", "0.20"]
        for key, worst in doc["robust_accuracy"].items():
            assert worst <= entry["robust_accuracy"][key], (name, key)
    assert doc["robust_accuracy"]["0.20"] <= doc["robust_accuracy"]["0.1"] <= doc["clean_accuracy"]
    assert doc["clean_accuracy"] > 0.8
    assert [f["id"] for f in doc["masking"]] == list(C.MASKING_FLAGS)
    assert all(isinstance(f["flagged"], bool) for f in doc["masking"])
    assert doc["wall_time_s"] > 0
    assert doc["results"]["schema"] == C.ROBUSTNESS_SCHEMA
    # one summary line on stdout, the progress bar on stderr, an HTML report with figures
    assert captured.out.count("\n") == 1 and "fast tier on 120 samples: clean" in captured.out
    assert "eps=0.20:" in captured.out and str(out) in captured.out
    assert "[" in captured.err and "#" in captured.err
    assert html.read_text().count("data:image/png;base64,") == 2


@pytest.mark.slow
def test_softmax_and_logit_models_give_the_same_figures(models, digits, tmp_path):
    docs = {}
    for kind in ("softmax", "logits"):
        out = tmp_path / f"{kind}.json"
        assert _attack(models[kind], digits["raw"], out, "--max-samples", "80") == EXIT_OK
        docs[kind] = json.loads(out.read_text())
    soft, logit = docs["softmax"], docs["logits"]
    assert soft["results"]["model_output"] != logit["results"]["model_output"]
    assert soft["clean_accuracy"] == logit["clean_accuracy"]
    for key in ("0.1", "0.20"):
        assert soft["robust_accuracy"][key] == pytest.approx(
            logit["robust_accuracy"][key], abs=0.02
        )
        pgd = soft["per_attack"]["pgd"]["robust_accuracy"][key]
        assert pgd == pytest.approx(logit["per_attack"]["pgd"]["robust_accuracy"][key], abs=0.02)
    # a real attack: PGD at 0.20 fools most samples of this plain (not adversarially trained) CNN
    assert soft["per_attack"]["pgd"]["robust_accuracy"]["0.20"] < 0.5 * soft["clean_accuracy"]


@pytest.mark.slow
def test_savedmodel_folder_is_accepted(models, digits, tmp_path, capsys):
    out = tmp_path / "saved.json"
    assert _attack(models["savedmodel"], digits["raw"], out, "--max-samples", "40") == EXIT_OK
    saved = json.loads(out.read_text())
    keras_out = tmp_path / "keras.json"
    assert _attack(models["softmax"], digits["raw"], keras_out, "--max-samples", "40") == EXIT_OK
    assert saved["clean_accuracy"] == json.loads(keras_out.read_text())["clean_accuracy"]


@pytest.mark.parametrize(
    ("eps", "needle"),
    [
        ("0.1,abc", "'abc' is not a number"),
        ("0.1,,0.2", "empty entry"),
        ("0.1,0.10", "'0.1' and '0.10' are the same epsilon"),
        ("0.1,nan", "must be a finite number >= 0"),
        ("-0.1", "must be a finite number >= 0"),
    ],
)
def test_bad_eps_is_a_usage_error(eps, needle, digits, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _attack(tmp_path / "m.keras", digits["raw"], tmp_path / "o.json", "--eps", eps)
    assert info.value.code == EXIT_USAGE
    assert needle in capsys.readouterr().err


def test_bad_tier_is_a_usage_error(digits, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _attack(tmp_path / "m.keras", digits["raw"], tmp_path / "o.json", "--tier", "thorough")
    assert info.value.code == EXIT_USAGE
    assert "invalid choice: 'thorough'" in capsys.readouterr().err


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("mlsecops attack: error: "), err
    return err


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_missing_files_are_one_line_errors(models, digits, tmp_path, capsys):
    out = tmp_path / "o.json"
    assert _attack(tmp_path / "absent.keras", digits["raw"], out) == EXIT_ERROR
    assert f"--model '{tmp_path / 'absent.keras'}': not found" in _error(capsys)
    assert _attack(models["softmax"], tmp_path / "absent.npz", out) == EXIT_ERROR
    assert "--data" in (err := _error(capsys)) and "file not found" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("arrays", "extra", "needle"),
    [
        ({"x": np.full((4, 8, 8), 16.0), "y": np.arange(4)}, (), "x spans [16, 16], outside"),
        ({"x": np.zeros((4, 8, 8)), "y": np.arange(4)}, ("--upper", "-1"), "need finite lower"),
        ({"x": np.zeros((4, 64))}, (), "missing array(s) y"),
        ({"x": np.zeros((4, 8, 8)), "y": np.arange(3)}, (), "y is shaped (3,)"),
        ({"x": np.zeros((4, 8, 8)), "y": np.full(4, 0.5)}, (), "must hold integer class indices"),
        ({"x": np.zeros((4,)), "y": np.arange(4)}, (), "x is shaped (4,)"),
        ({"x": np.full((4, 64), np.nan), "y": np.arange(4)}, (), "NaN or infinite"),
    ],
    ids=["out-of-range", "bad-range", "no-y", "y-length", "y-float", "x-1d", "x-nan"],
)
def test_bad_data_is_a_one_line_error(arrays, extra, needle, models, tmp_path, capsys):
    data = _npz(tmp_path / "bad.npz", **arrays)
    assert _attack(models["softmax"], data, tmp_path / "o.json", *extra) == EXIT_ERROR
    assert needle in _error(capsys)
    assert not (tmp_path / "o.json").exists()


def test_pickled_npz_is_refused(models, tmp_path, capsys):
    data = tmp_path / "pickled.npz"
    np.savez(data, x=np.array([{"a": 1}], dtype=object), y=np.arange(1))
    assert _attack(models["softmax"], data, tmp_path / "o.json") == EXIT_ERROR
    assert "not a readable NPZ without pickles" in _error(capsys)


def test_unloadable_model_is_a_one_line_error(digits, tmp_path, capsys):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip archive")
    assert _attack(junk, digits["raw"], tmp_path / "o.json") == EXIT_ERROR
    assert str(junk) in _error(capsys)


def test_eps_beyond_the_input_range_is_refused(models, digits, tmp_path, capsys):
    assert _attack(models["softmax"], digits["raw"], tmp_path / "o.json", "--eps", "2") == (
        EXIT_ERROR
    )
    assert "epsilon" in _error(capsys)


def test_parse_epsilon_keys_keeps_the_spelling() -> None:
    assert parse_epsilon_keys(" 0.1, 0.20 ,0.3") == [
        ("0.1", 0.1),
        ("0.20", 0.2),
        ("0.3", 0.3),
    ]
    with pytest.raises(InvalidInputError, match="same epsilon"):
        parse_epsilon_keys("0.1,1e-1")


def test_progress_bar_draws_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10, interactive=True)
    bar("pgd", 0, 4)
    bar("pgd", 2, 4)
    bar.close()
    assert stream.getvalue() == (
        "\rpgd                      [----------] 0/4\rpgd                      [#####-----] 2/4\n"
    )


def test_progress_bar_writes_few_lines_to_a_log() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=4, interactive=False)
    for done in range(101):
        bar("fgsm", done, 100)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5 and lines[-1].endswith("[####] 100/100")
    bar.close()
    assert len(stream.getvalue().splitlines()) == 5


@pytest.mark.slow
def test_step_mode_writes_the_components_results_for_attest_and_gate(
    models, digits, tmp_path, capsys
):
    """With --results, ``mlsecops attack`` is the attack-test step: same core, same document."""
    from kfp_mlsecops.attacks.results import RobustnessResults
    from kfp_mlsecops.data.manifest import split_digest
    from kfp_mlsecops.data.split_io import load_split
    from kfp_mlsecops.signing import model_digest

    results, report = tmp_path / "results.json", tmp_path / "report.md"
    code = _attack(
        models["folder"], digits["test"], tmp_path / "summary.json",
        "--results", str(results), "--report", str(report), "--max-samples", "100",
    )  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr().err
    capsys.readouterr()
    doc = RobustnessResults.read(results)
    assert doc.model_digest == model_digest(models["folder"])  # a model folder: bound by digest
    assert doc.test_data_digest == split_digest(load_split(digits["test"]))
    assert doc.n_samples == 100 and report.read_text().startswith("# Adversarial robustness")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["results"] == json.loads(results.read_text())
    # step mode needs a validate-data split (its range and class count travel with it)
    assert (
        _attack(
            models["folder"],
            digits["raw"],
            tmp_path / "s.json",
            "--results",
            str(tmp_path / "r.json"),
        )
        == EXIT_ERROR
    )
    assert "validate-data split" in _error(capsys)
