"""load_dataset: the bundled digits, NPZ and CSV sources, and every unusable source."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from kfp_mlsecops.data import load_dataset
from kfp_mlsecops.errors import InvalidInputError


def test_digits_are_scaled_images_with_ten_classes() -> None:
    data = load_dataset("digits")
    assert data.x.shape == (1797, 8, 8, 1)
    assert data.x.dtype == np.float32
    assert data.y.dtype == np.int64
    assert float(data.x.min()) == 0.0 and float(data.x.max()) == 1.0
    assert sorted(np.unique(data.y).tolist()) == list(range(10))


def test_npz_with_3d_images_gets_a_channel_axis(npz_file, xy) -> None:
    _, y = xy()
    x = np.zeros((len(y), 5, 6), dtype=np.float32)
    data = load_dataset(npz_file(x, y))
    assert data.x.shape == (len(y), 5, 6, 1)
    assert data.feature_names is None


def test_npz_keeps_raw_problems_for_the_checks(npz_file) -> None:
    x = np.full((4, 2), np.nan)
    data = load_dataset(npz_file(x, np.arange(3)))
    assert data.x.shape == (4, 2) and data.y.shape == (3,)
    assert np.isnan(data.x).all()


def test_csv_is_tabular_with_named_columns(csv_file) -> None:
    path = csv_file(["a", "label", "b"], [[0.1, 1, 0.2], [0.3, 0, 0.4], [0.5, 1, ""]])
    data = load_dataset(path)
    assert data.feature_names == ("a", "b")
    assert data.x.shape == (3, 2) and data.x.dtype == np.float64
    assert data.x[0].tolist() == [0.1, 0.2]
    assert np.isnan(data.x[2, 1])  # an empty cell is a missing value, reported by 'finite'
    assert data.y.tolist() == [1.0, 0.0, 1.0]


def test_csv_label_column_can_be_renamed(csv_file) -> None:
    path = csv_file(["f", "target"], [[0.5, 2]])
    assert load_dataset(path, label_column="target").y.tolist() == [2.0]


def test_missing_path_names_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.npz")
    with pytest.raises(InvalidInputError, match=r"dataset '.*nope\.npz': no such file or folder"):
        load_dataset(path)


@pytest.mark.parametrize("name", ["data.txt", "data.json", "data", "mnist"])
def test_unsupported_source_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"unsupported format") as info:
        load_dataset(str(path))
    assert str(path) in str(info.value)
    assert "'digits'" in str(info.value)  # says what to pass instead


def test_empty_source_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="empty source"):
        load_dataset("  ")


class _Payload:
    """An object whose unpickling would create ``marker`` (proof that a pickle was executed)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_object_array_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    x = np.empty(2, dtype=object)
    x[0] = _Payload(marker)
    x[1] = _Payload(marker)
    path = tmp_path / "evil.npz"
    np.savez(path, x=x, y=np.array([0, 1]))
    with pytest.raises(InvalidInputError, match=r"array 'x' is an object \(pickled\)") as info:
        load_dataset(str(path))
    assert "evil.npz" in str(info.value)
    assert not marker.exists()


def test_pickled_labels_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.npz"
    np.savez(path, x=np.zeros((2, 2)), y=np.array(["a", 1], dtype=object))
    with pytest.raises(InvalidInputError, match=r"array 'y' is an object"):
        load_dataset(str(path))


def test_npz_missing_labels_names_the_array(tmp_path: Path) -> None:
    path = tmp_path / "nolabels.npz"
    np.savez(path, x=np.zeros((2, 2)), labels=np.array([0, 1]))
    with pytest.raises(InvalidInputError, match=r"nolabels\.npz': missing arrays \['y'\]"):
        load_dataset(str(path))


def test_file_that_is_not_an_npz_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))  # a bare .npy, not an archive
    path.write_bytes(buffer.getvalue())
    with pytest.raises(InvalidInputError, match=r"fake\.npz': not a readable NPZ archive"):
        load_dataset(str(path))


@pytest.mark.parametrize("shape", [(6,), (2, 2, 2, 2, 2)])
def test_npz_x_with_unusable_rank_is_refused(npz_file, shape: tuple[int, ...]) -> None:
    path = npz_file(np.zeros(shape), np.zeros(shape[0], dtype=np.int64))
    with pytest.raises(InvalidInputError, match=r"array 'x' has shape"):
        load_dataset(path)


def test_csv_without_the_label_column_names_it(csv_file) -> None:
    path = csv_file(["a", "b"], [[1, 2]])
    with pytest.raises(InvalidInputError, match=r"label column 'label' is missing"):
        load_dataset(path)


def test_csv_ragged_row_names_the_line(csv_file) -> None:
    path = csv_file(["a", "label"], [[0.1, 0], [0.2, 1, 7]])
    with pytest.raises(InvalidInputError, match=r"row 3 has 3 fields but the header has 2"):
        load_dataset(path)


def test_empty_csv_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"empty\.csv': empty file"):
        load_dataset(str(path))


def test_csv_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,label\n\xff\xfe\xfa,1\n")
    with pytest.raises(InvalidInputError, match=r"latin\.csv': not a readable UTF-8 CSV"):
        load_dataset(str(path))
