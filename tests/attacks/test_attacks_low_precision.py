"""PGD's optional bfloat16 gradients: chosen by CPU flags, checked copies, float32 decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops.attacks import PGD, TFModel
from kfp_mlsecops.attacks._low_precision import (
    bf16_logits_model,
    cpu_has_native_bf16,
    resolve_precision,
)

K = 5


def _cnn(seed: int = 0, *, softmax: bool = True) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(h)
    logits = keras.layers.Dense(K)(keras.layers.Flatten()(h))
    outputs = keras.layers.Softmax()(logits) if softmax else logits
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    model = TFModel(_cnn(), bounds=(0.0, 1.0))
    x = np.random.default_rng(1).uniform(size=(64, 6, 6, 1)).astype(np.float32)
    return {"model": model, "x": x, "y": model.predict_labels(x)}


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ("fpu sse avx2 avx512f avx512_bf16 fma", True),
        ("fpu sse avx2 amx_bf16 amx_tile", True),
        ("fpu sse avx2 avx512f fma", False),
    ],
)
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path: Path, flags: str, native: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert cpu_has_native_bf16(cpuinfo) is native
    assert cpu_has_native_bf16(tmp_path / "absent") is False


def test_auto_follows_the_machine_and_explicit_values_are_kept() -> None:
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16") == "bfloat16"
    assert resolve_precision("auto") == ("bfloat16" if cpu_has_native_bf16() else "float32")


@pytest.mark.parametrize("softmax", [True, False])
def test_the_bf16_copy_computes_in_bfloat16_and_matches_float32(data, softmax: bool) -> None:
    model = TFModel(_cnn(softmax=softmax), bounds=(0.0, 1.0))
    copy = model.bf16_logits()
    assert copy is not None
    assert {layer.compute_dtype for layer in copy.layers[1:]} == {"bfloat16"}
    exact = model.scores(data["x"])
    low = np.asarray(copy(data["x"], training=False), dtype=np.float32)
    assert np.abs(low - exact).max() <= 0.05 * max(1.0, np.abs(exact).max())


def test_models_that_cannot_be_copied_stay_in_float32(data) -> None:
    import keras

    class Subclassed(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.inner = _cnn(softmax=False)

        def call(self, x: Any) -> Any:
            return self.inner(x)

    inner = Subclassed()
    inner(data["x"][:1])
    assert bf16_logits_model(inner, "logits", data["x"][:8]) is None
    assert bf16_logits_model(data["model"].keras_model, "log-probabilities", data["x"]) is None


@pytest.mark.slow
def test_bf16_pgd_is_about_as_strong_and_stays_in_the_ball(data) -> None:
    model, x, y = data["model"], data["x"], data["y"]
    runs = {
        precision: PGD(steps=10, precision=precision)(
            model, x, y, epsilons=[0.05, 0.1], lower=0.0, upper=1.0
        )
        for precision in ("float32", "bfloat16")
    }
    exact, low = runs["float32"][2], runs["bfloat16"][2]
    assert 0 < exact.sum() < exact.size
    # the success flags come from float32 scoring of the returned points (Attack.__call__)
    assert np.abs(low.sum(axis=1) - exact.sum(axis=1)).max() <= 2
    raw = runs["bfloat16"][0][1]
    assert np.abs(raw - x).max() <= 0.1 + 1e-6 and raw.min() >= 0.0 and raw.max() <= 1.0
