"""Datasets a user has: Parquet tables, image folders, the format registry, evaluation-only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from kfp_mlsecops.data import load_dataset, load_split
from kfp_mlsecops.data.formats import (
    DataFormat,
    detect_format,
    format_names,
    get_format,
    register_format,
)
from kfp_mlsecops.errors import DataValidationError, InvalidInputError

# -- Parquet ---------------------------------------------------------------------------------


def _parquet(path: Path, columns: dict[str, object]) -> str:
    pq.write_table(pa.table(columns), path)
    return str(path)


def test_parquet_is_tabular_with_named_columns(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "t.parquet",
        {"a": [0.1, 0.3, None], "target": [1, 0, 1], "b": pa.array([1, 2, 3], pa.int8())},
    )
    data = load_dataset(path, label_column="target")
    assert data.feature_names == ("a", "b")
    assert data.x.shape == (3, 2) and data.x.dtype == np.float64
    assert data.x[0].tolist() == [0.1, 1.0]
    assert np.isnan(data.x[2, 0])  # a null is a missing value, reported by 'finite'
    assert data.y.tolist() == [1.0, 0.0, 1.0]


def test_parquet_text_feature_is_kept_for_the_numeric_check(tmp_path: Path, validate) -> None:
    path = _parquet(tmp_path / "t.parquet", {"a": ["x", "y"] * 10, "label": [0, 1] * 10})
    assert load_dataset(path).x.dtype.kind == "U"
    with pytest.raises(DataValidationError, match="check 'numeric_features' failed.*column 'a'"):
        validate(path)


def test_parquet_list_column_is_refused_with_its_name(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "t.parquet", {"pixels": [[0.1, 0.2], [0.3]], "label": [0, 1]})
    with pytest.raises(InvalidInputError, match=r"column 'pixels' has type list<.*flatten"):
        load_dataset(path)


def test_parquet_without_the_label_column_names_it(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "t.parquet", {"a": [1.0], "b": [2.0]})
    with pytest.raises(InvalidInputError, match=r"label column 'label' is missing"):
        load_dataset(path)


def test_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("a,label\n1,0\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"fake\.parquet': not a readable Parquet file"):
        load_dataset(str(path))


def test_parquet_validates_and_splits(tmp_path: Path, validate, xy) -> None:
    x, y = xy()
    columns: dict[str, object] = {f"f{i}": x[:, i] for i in range(x.shape[1])}
    columns["label"] = y
    outcome = validate(_parquet(tmp_path / "t.parquet", columns))
    assert outcome.n_train + outcome.n_test == len(y) and outcome.sample_shape == (4,)


# -- image folders ---------------------------------------------------------------------------


def _image(path: Path, pixels: np.ndarray, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8), mode=mode).save(path)


def _gray_folder(root: Path, per_class: int = 10, size: tuple[int, int] = (6, 5)) -> Path:
    """Three classes of grayscale PNGs; class c's pixels all equal 40 * c + i."""
    for c, name in enumerate(["cat", "dog", "eel"]):
        for i in range(per_class):
            _image(root / name / f"{i:02d}.png", np.full(size, 40 * c + i))
    return root


def test_image_folder_labels_follow_sorted_class_names(tmp_path: Path) -> None:
    data = load_dataset(str(_gray_folder(tmp_path / "imgs", per_class=3)))
    assert data.class_names == ("cat", "dog", "eel")
    assert data.x.shape == (9, 6, 5, 1) and data.x.dtype == np.float32
    assert data.y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert data.x[4].max() == 41.0  # raw pixel values: set value_max 255 or scale in the model


def test_rgb_jpeg_folder_has_three_channels(tmp_path: Path) -> None:
    for c in range(2):
        for i in range(2):
            _image(tmp_path / f"c{c}" / f"{i}.jpg", np.full((4, 4, 3), 100 * c))
    data = load_dataset(str(tmp_path))
    assert data.x.shape == (4, 4, 4, 3)


def test_image_folder_validates_with_the_pixel_range(tmp_path: Path, validate, out) -> None:
    root = str(_gray_folder(tmp_path / "imgs"))
    with pytest.raises(DataValidationError, match=r"check 'value_range' failed.*set value_min"):
        validate(root)
    outcome = validate(root, value_max=255.0)
    assert outcome.sample_shape == (6, 5, 1) and outcome.n_classes == 3
    report = json.loads(out["report_json_path"].read_text(encoding="utf-8"))
    assert report["class_names"] == ["cat", "dog", "eel"]
    assert "0: cat, 1: dog, 2: eel" in out["report_md_path"].read_text(encoding="utf-8")


def test_hidden_files_are_skipped(tmp_path: Path) -> None:
    root = _gray_folder(tmp_path / "imgs", per_class=2)
    (root / ".DS_Store").write_bytes(b"\0")
    (root / "cat" / ".thumbs").write_bytes(b"\0")
    assert load_dataset(str(root)).x.shape[0] == 6


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda r: (r / "README.txt").write_text("hi"), r"'README\.txt' is not a class folder"),
        (lambda r: (r / "cat" / "notes.txt").write_text("hi"), r"'cat/notes\.txt' is not a \.png"),
        (lambda r: (r / "cat" / "sub").mkdir(), r"'cat/sub' is not a regular file"),
        (lambda r: (r / "fox").mkdir(), r"class folder 'fox' holds no images"),
        (
            lambda r: (r / "cat" / "bad.png").write_bytes(b"not a png"),
            r"'cat/bad\.png' is not a readable image",
        ),
        (
            lambda r: _image(r / "dog" / "big.png", np.zeros((7, 5))),
            r"'dog/big\.png' is 5x7 with 1 channel but 'cat/00\.png' is 5x6 with 1 channel",
        ),
        (
            lambda r: _image(r / "dog" / "rgb.png", np.zeros((6, 5, 3))),
            r"'dog/rgb\.png' is 5x6 with 3 channels but",
        ),
        (
            lambda r: _image(r / "eel" / "alpha.png", np.zeros((6, 5, 4)), "RGBA"),
            r"'eel/alpha\.png' has mode RGBA; save it as 8-bit grayscale \(L\) or RGB",
        ),
        (
            lambda r: Image.new("L", (6, 5)).save(r / "cat" / "gif.png", format="GIF"),
            r"'cat/gif\.png' holds GIF data, not PNG or JPEG",
        ),
    ],
)
def test_image_folder_out_of_layout_is_refused_naming_the_path(tmp_path, make, message) -> None:
    root = _gray_folder(tmp_path / "imgs", per_class=2)
    make(root)
    with pytest.raises(InvalidInputError, match=message) as info:
        load_dataset(str(root))
    assert str(root) in str(info.value) and "\n" not in str(info.value)


def test_symlinked_image_is_refused(tmp_path: Path) -> None:
    root = _gray_folder(tmp_path / "imgs", per_class=2)
    os.symlink(root / "cat" / "00.png", root / "dog" / "link.png")
    with pytest.raises(InvalidInputError, match=r"'dog/link\.png' is not a regular file"):
        load_dataset(str(root))


def test_oversized_image_is_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    from kfp_mlsecops.data.formats import image_folder

    root = _gray_folder(tmp_path / "imgs", per_class=2)
    monkeypatch.setattr(image_folder, "MAX_PIXELS", 29)
    with pytest.raises(InvalidInputError, match=r"'cat/00\.png' is 5x6, above the 29-pixel limit"):
        load_dataset(str(root))


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"no class folders"):
        load_dataset(str(tmp_path / "empty"))


# -- the registry ----------------------------------------------------------------------------


def test_formats_are_recognised_by_suffix_or_folder(tmp_path: Path) -> None:
    assert format_names()[:4] == ("npz", "csv", "parquet", "images")
    (tmp_path / "a.PQ").write_bytes(b"")
    assert detect_format(tmp_path / "a.PQ") == get_format("parquet")
    assert detect_format(tmp_path) == get_format("images")
    assert detect_format(tmp_path / "a.txt") is None


def test_a_named_format_overrides_the_suffix(tmp_path: Path, xy) -> None:
    x, y = xy()
    path = tmp_path / "artifact"  # KFP artifact paths have no suffix
    np.savez(tmp_path / "a.npz", x=x, y=y)
    (tmp_path / "a.npz").rename(path)
    assert load_dataset(str(path), data_format="npz").x.shape == x.shape
    with pytest.raises(InvalidInputError, match=r"not a folder, but format 'images' is"):
        load_dataset(str(path), data_format="images")
    with pytest.raises(InvalidInputError, match=r"format 'hdf5' is unknown; use one of npz"):
        load_dataset(str(path), data_format="hdf5")


@pytest.fixture
def tsv_format():
    """A format registered for one test and forgotten after it (the registry is global)."""
    from kfp_mlsecops.data import formats
    from kfp_mlsecops.data.labeled import LabeledData

    def read(source: str, path: Path, label_column: str) -> LabeledData:
        rows = np.loadtxt(path, delimiter="\t", ndmin=2)
        return LabeledData(source=source, x=rows[:, 1:], y=rows[:, 0])

    fmt = DataFormat("tsv-test", (".tsv",), False, "a .tsv (label first)", read)
    register_format(fmt)
    yield fmt
    formats._FORMATS.discard("tsv-test")


def test_a_new_format_is_one_registration(tmp_path: Path, tsv_format) -> None:
    path = tmp_path / "d.tsv"
    path.write_text("1\t0.5\n0\t0.25\n", encoding="utf-8")
    assert load_dataset(str(path)).y.tolist() == [1.0, 0.0]
    with pytest.raises(InvalidInputError, match="'tsv-test' exists; pick another name"):
        register_format(tsv_format)
    csv2 = DataFormat("csv2-test", (".csv",), False, "x", tsv_format.read)
    with pytest.raises(InvalidInputError, match=r"suffixes \['\.csv'\] already belong"):
        register_format(csv2)
    assert "csv2-test" not in format_names()


# -- evaluation only -------------------------------------------------------------------------


def test_evaluation_only_keeps_every_sample_in_order_as_test(npz_file, xy, validate, out) -> None:
    x, y = xy()
    outcome = validate(npz_file(x, y), evaluation_only=True)
    assert (outcome.n_train, outcome.n_test) == (0, len(y))
    test = load_split(out["test_path"])
    np.testing.assert_array_equal(test.x, x.astype(np.float32))
    np.testing.assert_array_equal(test.y, y)
    assert load_split(out["train_path"]).x.shape == (0, x.shape[1])
    manifest = json.loads(out["manifest_path"].read_text(encoding="utf-8"))
    assert manifest["evaluation_only"] is True and manifest["test_fraction"] == 1.0
    assert manifest["splits"]["test"]["digest"] == outcome.test_digest
    report = json.loads(out["report_json_path"].read_text(encoding="utf-8"))
    assert report["split_sizes"] == {"train": 0, "test": len(y)}
    assert report["parameters"]["evaluation_only"] is True


def test_a_split_run_records_it_is_not_evaluation_only(npz_file, xy, validate, out) -> None:
    x, y = xy()
    validate(npz_file(x, y))
    manifest = json.loads(out["manifest_path"].read_text(encoding="utf-8"))
    assert manifest["evaluation_only"] is False


def test_evaluation_only_must_be_a_boolean(npz_file, xy, validate) -> None:
    x, y = xy()
    with pytest.raises(InvalidInputError, match=r"evaluation_only 'yes': must be true or false"):
        validate(npz_file(x, y), evaluation_only="yes")
