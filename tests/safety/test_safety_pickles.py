"""refuse_pickle_formats and the pickle part of the scan: real pickles, scanned, never loaded."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import _safety_artifacts as A
import numpy as np
import pytest

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.safety import refuse_pickle_formats, scan_model
from kfp_mlsecops.safety.report import PICKLE_GLOBAL


def _model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    (model / "1" / "variables").mkdir(parents=True)
    (model / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(os.urandom(4096))
    (model / "provenance.json").write_text('{"trained": true}\n')
    return model


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("name", ["model.pkl", "model.pt", "weights.bin", "model.pth", "w.dat"])
def test_evil_pickle_is_refused_whatever_its_name_and_protocol(
    tmp_path: Path, protocol: int, name: str
) -> None:
    model = _model(tmp_path)
    (model / "1" / name).write_bytes(A.evil_pickle(protocol))
    with pytest.raises(InvalidInputError, match=f"pickle-based files can run code.*1/{name}"):
        refuse_pickle_formats(model)
    findings = {(f.path, f.kind, f.detail) for f in scan_model(model).findings}
    system = f"{os.system.__module__}.system"  # posix.system on Linux
    assert (
        f"1/{name}",
        PICKLE_GLOBAL,
        f"pickle imports {system} (code it would run when loaded)",
    ) in findings


@pytest.mark.parametrize("name", ["data.pkl", "data.pickle", "model.joblib", "x.dill"])
def test_pickle_extensions_are_refused_even_when_harmless(tmp_path: Path, name: str) -> None:
    model = _model(tmp_path)
    (model / name).write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))
    with pytest.raises(InvalidInputError, match=name.replace(".", r"\.")):
        refuse_pickle_formats(model)


def test_scanning_never_unpickles(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    model = _model(tmp_path)
    (model / "model.pkl").write_bytes(pickle.dumps(_MakesDir(str(marker))))
    with pytest.raises(InvalidInputError):
        refuse_pickle_formats(model)
    report = scan_model(model)
    assert any(
        f.detail == "pickle imports posix.mkdir (code it would run when loaded)"
        for f in report.findings
    )
    assert not marker.exists()


class _MakesDir:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.path,))


def test_torch_zip_checkpoint_is_refused(tmp_path: Path) -> None:
    model = _model(tmp_path)
    A.torch_style_zip(model / "model.pt")
    with pytest.raises(InvalidInputError, match=r"model\.pt:archive/data\.pkl"):
        refuse_pickle_formats(model)


def test_numpy_object_arrays_are_refused(tmp_path: Path) -> None:
    model = _model(tmp_path)
    A.object_npy(model / "objects.npy")
    np.savez(model / "arrays.npz", ok=np.zeros(3), bad=np.array([None, {"a": 1}], dtype=object))
    with pytest.raises(
        InvalidInputError,
        match=r"objects\.npy.*arrays\.npz:bad\.npy|arrays\.npz:bad\.npy.*objects\.npy",
    ):
        refuse_pickle_formats(model)


def test_plain_numpy_and_random_weights_pass(tmp_path: Path) -> None:
    model = _model(tmp_path)
    np.save(model / "w.npy", np.arange(12, dtype=np.float32))
    np.savez(model / "w.npz", a=np.ones((2, 2)))
    (model / "blob.bin").write_bytes(os.urandom(1 << 16))
    (model / "data-only-protocol0.bin").write_bytes(pickle.dumps([1, 2.0, "x"], protocol=0))
    refuse_pickle_formats(model)
    assert scan_model(model).findings == ()


def test_pickle_hidden_inside_a_keras_archive(tmp_path: Path) -> None:
    model = _model(tmp_path)
    (model / "model.keras").write_bytes(
        A.zip_bytes({"config.json": b"{}", "metadata.json": b"{}", "weights.bin": A.evil_pickle()})
    )
    with pytest.raises(InvalidInputError, match=r"model\.keras:weights\.bin"):
        refuse_pickle_formats(model)


def test_refuse_pickle_formats_passes_a_trained_model(trained_model: Path) -> None:
    refuse_pickle_formats(trained_model)


@pytest.mark.parametrize("bad", ["", 3, None])
def test_bad_model_dir_argument(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InvalidInputError):
        refuse_pickle_formats(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="does not exist"):
        refuse_pickle_formats(tmp_path / "absent")


def test_refusing_pickles_does_not_import_tensorflow(tmp_path: Path) -> None:
    model = _model(tmp_path)
    code = (
        "import sys; from kfp_mlsecops.safety import refuse_pickle_formats; "
        f"refuse_pickle_formats({str(model)!r}); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
