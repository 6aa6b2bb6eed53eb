"""DP-SGD: the accounted epsilon is dp-accounting's, the private gradient clips each example and
adds noise of the stated scale, the options are validated, and train / mlsecops train / mlsecops
run carry them (a short DP-SGD run reports epsilon and delta in the provenance)."""

from __future__ import annotations

import json
import math

import dp_accounting
import numpy as np
import pytest
from dp_accounting import rdp

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import _pipeline_arguments, build_parser, main
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.training import train_model
from kfp_mlsecops.training.dp_sgd import (
    DPSettings,
    account_dp_sgd,
    check_dp,
    compute_epsilon,
    private_gradient,
)


def _rdp_epsilon(noise: float, q: float, steps: int, delta: float) -> float:
    accountant = rdp.RdpAccountant()
    accountant.compose(
        dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(noise)), steps
        )
    )
    return accountant.get_epsilon(delta)


def test_epsilon_is_dp_accountings_and_falls_with_more_noise():
    # Abadi et al.'s MNIST setting: 60 epochs of q = 256/60000 at sigma 1.1, delta 1e-5.
    steps = 60 * math.ceil(60000 / 256)
    eps = compute_epsilon(
        noise_multiplier=1.1, sampling_probability=256 / 60000, steps=steps, delta=1e-5
    )
    assert eps == pytest.approx(_rdp_epsilon(1.1, 256 / 60000, steps, 1e-5), rel=1e-12)
    assert 2.0 < eps < 3.5  # the published RDP figure for this setting is about 3
    # PLD accounting is tighter, never looser
    pld = dp_accounting.pld.PLDAccountant()
    pld.compose(
        dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(256 / 60000, dp_accounting.GaussianDpEvent(1.1)),
            steps,
        )
    )
    assert pld.get_epsilon(1e-5) <= eps

    noises = (0.8, 1.1, 2.0, 4.0)
    epsilons = [
        compute_epsilon(noise_multiplier=n, sampling_probability=0.05, steps=1000, delta=1e-5)
        for n in noises
    ]
    assert all(a > b for a, b in zip(epsilons, epsilons[1:], strict=False)), epsilons
    # more steps, a larger sampling rate or a smaller delta cost more
    base = dict(noise_multiplier=1.0, sampling_probability=0.05, steps=1000, delta=1e-5)
    assert compute_epsilon(**{**base, "steps": 2000}) > compute_epsilon(**base)
    assert compute_epsilon(**{**base, "sampling_probability": 0.1}) > compute_epsilon(**base)
    assert compute_epsilon(**{**base, "delta": 1e-7}) > compute_epsilon(**base)


def test_account_counts_poisson_steps_and_refuses_a_delta_of_1_over_n():
    settings = check_dp(noise_multiplier=1.0, l2_norm_clip=2.0, delta=1e-5)
    account = account_dp_sgd(settings, n_examples=1000, batch_size=64, epochs=30)
    assert account.sampling_probability == 64 / 1000
    assert account.steps == 30 * 16  # ceil(1000 / 64) steps per epoch
    assert account.epsilon == pytest.approx(_rdp_epsilon(1.0, 0.064, 480, 1e-5), rel=1e-12)
    record = account.to_provenance()
    assert record["sampling"] == "poisson" and record["accountant"].startswith("dp-accounting 0.")
    assert (record["noise_multiplier"], record["l2_norm_clip"], record["delta"]) == (1.0, 2.0, 1e-5)
    assert "reference_stats.json" in record["not_covered"]  # computed from x without noise
    # a batch larger than the data samples everything every step
    assert account_dp_sgd(settings, n_examples=100, batch_size=500, epochs=2).steps == 2
    with pytest.raises(InvalidInputError, match=r"dp_delta=0.01: must be below 1/n = 0.00667"):
        account_dp_sgd(
            check_dp(noise_multiplier=1.0, l2_norm_clip=1.0, delta=0.01),
            n_examples=150,
            batch_size=10,
            epochs=1,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_multiplier": -0.5}, "dp_noise_multiplier=-0.5: must be a finite number >= 0"),
        ({"noise_multiplier": float("nan")}, "dp_noise_multiplier=nan"),
        ({"noise_multiplier": True}, "dp_noise_multiplier=True"),
        ({"l2_norm_clip": 0.0}, "dp_l2_norm_clip=0.0: must be a finite number > 0"),
        ({"l2_norm_clip": float("inf")}, "dp_l2_norm_clip=inf"),
        ({"delta": 0.0}, "dp_delta=0.0: must be a number with 0 < delta < 1"),
        ({"delta": 1.0}, "dp_delta=1.0: must be a number with 0 < delta < 1"),
    ],
)
def test_bad_options_raise_one_line_naming_the_option(kwargs, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")) as e:
        check_dp(**{"noise_multiplier": 1.0, "l2_norm_clip": 1.0, "delta": 1e-5, **kwargs})
    assert "\n" not in str(e.value)
    assert check_dp(noise_multiplier=0, l2_norm_clip=1.0) == DPSettings(0.0, 1.0, 1e-5)
    assert not check_dp(noise_multiplier=0, l2_norm_clip=1.0).enabled


def _tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(5, activation="relu")(inputs)
    logits = keras.layers.Dense(3)(hidden)
    return keras.Model(inputs, logits)


def _per_example_gradients(model, x, y):
    import tensorflow as tf

    out = []
    for xi, yi in zip(x, y, strict=True):
        with tf.GradientTape() as tape:
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.constant([yi]), logits=model(xi[None])
            )
        out.append([g.numpy() for g in tape.gradient(loss, model.trainable_variables)])
    return out


def _flat(grads) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(g)) for g in grads])


def _private(model, x, y, *, clip, noise, batch, seed=(1, 2)):
    import tensorflow as tf

    grads, losses = private_gradient(
        model,
        model.trainable_variables,
        tf.constant(x, tf.float32),
        tf.constant(y, tf.int64),
        l2_norm_clip=clip,
        noise_multiplier=noise,
        expected_batch_size=batch,
        noise_seed=tf.constant(seed, tf.int64),
    )
    return _flat(grads), losses.numpy()


def test_each_example_is_clipped_then_summed_and_averaged_over_the_expected_batch():
    model = _tiny_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    x[0] *= 1000.0  # one outlier, labelled as the class the model thinks least likely:
    y = np.array([0, 1, 2, 0, 1, 2])
    y[0] = int(np.argmin(model(x[:1]).numpy()[0]))  # a huge gradient
    per_example = [_flat(g) for g in _per_example_gradients(model, x, y)]
    norms = [np.linalg.norm(g) for g in per_example]
    clip = float(np.median(norms[1:]))  # about half the others get clipped too
    want = sum(g * min(1.0, clip / n) for g, n in zip(per_example, norms, strict=True)) / 8
    got, losses = _private(model, x, y, clip=clip, noise=0.0, batch=8)
    assert np.allclose(got, want, rtol=1e-4, atol=1e-7)
    assert losses.shape == (6,) and np.isfinite(losses).all()

    # any one example moves the summed gradient by at most the clip norm, however extreme it is
    without, _ = _private(model, x[1:], y[1:], clip=clip, noise=0.0, batch=8)
    assert norms[0] > 100 * clip, norms
    assert np.linalg.norm((got - without) * 8) == pytest.approx(clip, rel=1e-4)
    alone, _ = _private(model, x[:1], y[:1], clip=0.5, noise=0.0, batch=1)
    assert np.linalg.norm(alone) == pytest.approx(0.5, rel=1e-4)


def test_noise_has_std_noise_times_clip_over_the_batch_and_an_empty_batch_is_noise_only():
    model = _tiny_model()
    x = np.zeros((0, 4), np.float32)
    y = np.zeros((0,), np.int64)
    noise, losses = _private(model, x, y, clip=2.0, noise=3.0, batch=4)
    assert losses.shape == (0,)
    n_weights = sum(int(np.prod(w.shape)) for w in model.trainable_variables)
    assert noise.shape == (n_weights,) == (43,)
    # stateless: the same seed gives the same noise, another seed other noise
    again, _ = _private(model, x, y, clip=2.0, noise=3.0, batch=4)
    other, _ = _private(model, x, y, clip=2.0, noise=3.0, batch=4, seed=(1, 3))
    assert np.array_equal(noise, again) and not np.allclose(noise, other)
    samples = np.concatenate(
        [_private(model, x, y, clip=2.0, noise=3.0, batch=4, seed=(7, s))[0] for s in range(40)]
    )
    assert samples.std() == pytest.approx(3.0 * 2.0 / 4, rel=0.05)  # 1720 draws
    assert abs(samples.mean()) < 0.05


@pytest.mark.slow
def test_train_model_with_dp_sgd_reports_epsilon_and_delta(digits_splits, tmp_path, capsys):
    train_path, test_path = digits_splits
    code = main(
        [
            "train",
            "--train-data",
            str(train_path),
            "--test-data",
            str(test_path),
            "--data-digest",
            "sha256:" + "ab" * 32,
            "--model-out",
            str(tmp_path / "model"),
            "--epochs",
            "2",
            "--dp-noise-multiplier",
            "1.0",
            "--dp-l2-norm-clip",
            "1.5",
            "--learning-rate",
            "0.01",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    provenance = json.loads((tmp_path / "model" / C.PROVENANCE_FILE).read_text())
    record = provenance[C.PROVENANCE_DIFFERENTIAL_PRIVACY]
    n = provenance["samples"]["train"]
    want = _rdp_epsilon(1.0, 64 / n, 2 * math.ceil(n / 64), 1e-5)
    assert record["epsilon"] == pytest.approx(want, rel=1e-12) and math.isfinite(want)
    assert (record["delta"], record["l2_norm_clip"], record["steps"]) == (
        1e-5,
        1.5,
        2 * math.ceil(n / 64),
    )
    assert f"DP-SGD epsilon {record['epsilon']:.4g} at delta 1e-05" in out
    assert record["secret_randomness"] is True
    assert provenance[C.PROVENANCE_ADVERSARIAL] == {"method": "none"}
    assert provenance["metrics"]["accuracy"] > 0.5  # it learns, if less than without noise


def test_dp_sgd_is_not_combined_with_adversarial_training(digits_splits, tmp_path):
    train_path, test_path = digits_splits
    with pytest.raises(InvalidInputError, match="DP-SGD and adversarial training are not com"):
        train_model(
            train_path=train_path,
            test_path=test_path,
            model_dir=tmp_path / "m",
            adversarial="pgd",
            dp_noise_multiplier=1.0,
        )
    with pytest.raises(InvalidInputError, match=r"unsafe_dp_seed=-1: must be an integer in \[0"):
        train_model(
            train_path=train_path,
            test_path=test_path,
            model_dir=tmp_path / "m",
            dp_noise_multiplier=1.0,
            unsafe_dp_seed=-1,
        )
    with pytest.raises(InvalidInputError, match="dp_l2_norm_clip=-1"):
        train_model(
            train_path=train_path,
            test_path=test_path,
            model_dir=tmp_path / "m",
            dp_noise_multiplier=1.0,
            dp_l2_norm_clip=-1,
        )
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--dp-noise-multiplier", "-1", "argument --dp-noise-multiplier: '-1' must be >= 0"),
        ("--dp-l2-norm-clip", "0", "argument --dp-l2-norm-clip: '0' must be > 0"),
        ("--dp-delta", "1", "argument --dp-delta: '1' must be < 1"),
        ("--dp-delta", "nan", "argument --dp-delta: 'nan' is not a finite number"),
    ],
)
@pytest.mark.parametrize("command", ["train", "run"])
def test_cli_flags_are_validated_with_the_flag_named(command, flag, value, message, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([command, flag, value])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err


def test_run_passes_the_dp_options_to_the_pipeline_and_refuses_them_with_a_model():
    args = build_parser().parse_args(
        ["run", "--dp-noise-multiplier", "1.2", "--dp-l2-norm-clip", "0.5", "--dp-delta", "1e-6"]
    )
    assert _pipeline_arguments(args) == {
        "dp_noise_multiplier": 1.2,
        "dp_l2_norm_clip": 0.5,
        "dp_delta": 1e-6,
    }
    released = build_parser().parse_args(
        ["run", "--model", "m.keras", "--data", "d.npz", "--dp-noise-multiplier", "1"]
    )
    with pytest.raises(InvalidInputError, match="--dp-noise-multiplier: with --model nothing"):
        _pipeline_arguments(released)


def test_the_pipeline_and_component_expose_the_dp_options_with_off_defaults():
    from kfp_mlsecops.components.train.component import train
    from kfp_mlsecops.pipelines.secure_training import secure_training

    defaults = {
        name: spec.default
        for name, spec in secure_training.component_spec.inputs.items()
        if name.startswith("dp_")
    }
    assert defaults == {"dp_noise_multiplier": 0.0, "dp_l2_norm_clip": 1.0, "dp_delta": 1e-5}
    component_inputs = train.component_spec.inputs
    assert {k: component_inputs[k].default for k in defaults} == defaults
