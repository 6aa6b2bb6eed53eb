"""Bench our attacks and adversarial training against ART 1.20.1 and bare TF loops (issue 3).

In one process, on the same models and the same data (digits test split from the package's own
stratified split, first 300 samples, one batch of 300):

1. PGD-20 L-inf, eps 0.2: ``kfp_mlsecops.attacks.PGD`` vs ART ``ProjectedGradientDescent`` (same
   eps, step 2.5 * eps / 20, 20 iterations, one random init, batch 300), and vs the bare cost of
   20 forward+backward passes in a minimal compiled loop. Standard and PGD-trained CNN. Ours stops
   attacking a sample once it is misclassified (``early_stop``, the default) and, on CPUs with
   native bfloat16 (``precision="auto"``), takes its gradients from a bfloat16 copy of the model
   while every decision stays float32; rows without either are shown too. Robust accuracy is the
   mean over several seeds (the random start moves it by about a point on 300 samples), ART
   seeded through ``np.random``. Most machines lack native bfloat16, so the float32 rows get
   their own speed-up and accuracy lines, and the issue-14 goal line: float32 PGD on the
   PGD-trained CNN >= 5x ART, at a seed-averaged robust accuracy <= ART's.
2. Reliable tier (APGD-CE + APGD-T + Square, worst case) vs ART ``AutoAttack`` with its default
   ensemble, eps 0.2, on the PGD-trained CNN, both on the same subset (ART's Square alone runs
   5 restarts x 5000 eager queries, minutes whatever the subset; skipped with --quick).
3. PGD-AT: our trainer (``train_model(adversarial="pgd")``; its loop alone, ``fit_adversarial``)
   vs a bare PGD-AT loop: same model, data, epochs, batch, steps and optimizer.

Times are the minimum over interleaved repeats (the median is shown too): other jobs share the
2 cores. Needs the bench extra: ``pip install -e '.[bench]'``.
Run: .venv/bin/python bench/attacks.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

EPS = 0.2
PGD_STEPS = 20
N_SAMPLES = 300
AT_STEPS = 10
AT_BATCH = 128
AT_LR = 2e-3
STANDARD_EPOCHS = 10
SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="< 3 min: no AutoAttack, fewer and shorter runs"
    )
    parser.add_argument("--aa-samples", type=int, default=100, help="AutoAttack subset size")
    parser.add_argument("--at-epochs", type=int, default=None, help="PGD-AT epochs (30; quick 10)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 10
    seeds = 3 if args.quick else 5
    at_epochs = args.at_epochs or (10 if args.quick else 30)
    started = time.perf_counter()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]

    import art
    import keras
    import tensorflow as tf

    print(
        f"tensorflow {tf.__version__}, keras {keras.__version__}, ART {art.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train_path, test_path = _write_splits(work)
        from kfp_mlsecops.data.split_io import load_split

        test = load_split(test_path)
        x, y = test.x[:N_SAMPLES], test.y[:N_SAMPLES]

        rows_at, pgd_path = _bench_training(
            work,
            train_path,
            test_path,
            epochs=at_epochs,
            rounds=3 if args.quick else 5,
            round_epochs=2 if args.quick else 5,
        )
        _print_training(rows_at, epochs=at_epochs)
        standard_path = _train_standard(work, train_path)
        rows_pgd = [
            (label, _bench_pgd(path, x, y, repeats=repeats, seeds=seeds))
            for label, path in (("standard CNN", standard_path), ("PGD-trained CNN", pgd_path))
        ]
        _print_pgd(rows_pgd)
        rows_reliable = _bench_reliable(
            pgd_path, x, y, n_aa=min(args.aa_samples, N_SAMPLES), run_art=not args.quick
        )
        _print_reliable(rows_reliable)
    mode = "quick" if args.quick else "full"
    print(f"\nbench wall time {time.perf_counter() - started:.0f} s ({mode})")


# --- data and models ---------------------------------------------------------------------------


def _write_splits(folder: Path) -> tuple[Path, Path]:
    """The pipeline's digits split: the package's loader and stratified 80/20 split, seed 0."""
    from kfp_mlsecops.data.sources import load_dataset
    from kfp_mlsecops.data.split_io import Split, save_split
    from kfp_mlsecops.data.splitting import stratified_split

    data = load_dataset("digits")
    train, test = stratified_split(data.y, n_classes=10, test_fraction=0.2, seed=SEED)
    return (
        save_split(folder / "train.npz", Split(data.x[train], data.y[train], 0.0, 1.0, 10)),
        save_split(folder / "test.npz", Split(data.x[test], data.y[test], 0.0, 1.0, 10)),
    )


def _train_standard(work: Path, train_path: Path) -> Path:
    """The trainer's standard CNN (``train_model``'s Keras fit), kept as a ``.keras`` file.

    A model folder holds only the served SavedModel; ART and PGD's bfloat16 copy need Keras.
    """
    import keras

    from kfp_mlsecops.data.split_io import load_split
    from kfp_mlsecops.training._architecture import build_model

    train = load_split(train_path)
    keras.utils.set_random_seed(SEED)
    model = build_model(x_train=train.x, n_classes=10, lower=0.0, upper=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(train.x, train.y, epochs=STANDARD_EPOCHS, batch_size=64, shuffle=True, verbose=0)
    path = work / "standard.keras"
    model.save(path)
    return path


def _logits_model(path: Path) -> Any:
    import keras

    from kfp_mlsecops.training import load_model

    model = load_model(path)
    return keras.Model(model.inputs, model.get_layer("logits").output)


# --- 1. PGD ------------------------------------------------------------------------------------


def _bench_pgd(
    path: Path, x: np.ndarray, y: np.ndarray, *, repeats: int, seeds: int
) -> dict[str, Any]:
    import keras
    import tensorflow as tf
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier

    from kfp_mlsecops.attacks import PGD, TFModel
    from kfp_mlsecops.training import load_model

    logits = _logits_model(path)
    ours_model = TFModel(load_model(path), bounds=(0.0, 1.0))
    classifier = TensorFlowV2Classifier(
        model=logits,
        nb_classes=10,
        input_shape=x.shape[1:],
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        clip_values=(0.0, 1.0),
    )
    theirs = ProjectedGradientDescent(
        classifier,
        norm=np.inf,
        eps=EPS,
        eps_step=2.5 * EPS / PGD_STEPS,
        max_iter=PGD_STEPS,
        num_random_init=1,
        batch_size=len(x),
        verbose=False,
    )
    onehot = np.eye(10, dtype=np.float32)[y]
    bare = _bare_gradient_passes(logits, steps=PGD_STEPS)
    xt, yt = tf.constant(x), tf.constant(y.astype(np.int64))

    def ours(seed: int = SEED, early_stop: bool = True, precision: str = "auto") -> Any:
        return PGD(
            steps=PGD_STEPS,
            restarts=1,
            random_start=True,
            early_stop=early_stop,
            precision=precision,
            seed=seed,
        )

    def run_ours(seed: int = SEED, precision: str = "auto") -> float:
        attack = ours(seed, precision=precision)
        _, _, fooled = attack(ours_model, x, y, epsilons=[EPS], lower=0.0, upper=1.0)
        return 1.0 - float(fooled.mean())

    def run_ours_fp32() -> float:
        return run_ours(precision="float32")

    def run_core() -> float:
        ours().run(ours_model, x, y, epsilon=EPS)
        return float("nan")

    def run_core_fp32() -> float:
        ours(precision="float32").run(ours_model, x, y, epsilon=EPS)
        return float("nan")

    def run_core_full() -> float:
        ours(early_stop=False, precision="float32").run(ours_model, x, y, epsilon=EPS)
        return float("nan")

    def run_art() -> float:
        adversarial = theirs.generate(x, onehot)
        assert np.abs(adversarial - x).max() <= EPS + 1e-6
        return float(np.mean(classifier.predict(adversarial, batch_size=len(x)).argmax(1) == y))

    def run_bare() -> float:
        bare(xt, yt).numpy()
        return float("nan")

    runs = {
        "ours": run_ours,
        "ours_fp32": run_ours_fp32,
        "core": run_core,
        "core_fp32": run_core_fp32,
        "core_full": run_core_full,
        "art": run_art,
        "bare": run_bare,
    }
    rows = _interleave(runs, repeats=repeats)
    ours_accs = [run_ours(seed) for seed in range(seeds)]
    fp32_accs = [run_ours(seed, precision="float32") for seed in range(seeds)]
    art_accs = []
    for seed in range(seeds):
        np.random.seed(seed)  # ART draws its random init from the global numpy generator
        art_accs.append(run_art())
    rows["ours"]["acc"], rows["art"]["acc"] = np.mean(ours_accs), np.mean(art_accs)
    rows["ours_fp32"]["acc"] = np.mean(fp32_accs)
    rows["seeds"] = {"ours": ours_accs, "ours_fp32": fp32_accs, "art": art_accs}
    rows["precision"] = ours().precision
    return rows


def _bare_gradient_passes(logits: Any, *, steps: int) -> Callable[[Any, Any], Any]:
    """The floor: ``steps`` forward+backward passes w.r.t. the input, nothing else."""
    import tensorflow as tf

    @tf.function
    def passes(x: Any, y: Any) -> Any:
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits(x))
                )
            x = x + tape.gradient(loss, x)
        return x

    return passes


def _interleave(
    runs: dict[str, Callable[[], float]], *, repeats: int, warm_up: bool = True
) -> dict[str, Any]:
    """Warm each run up once (tracing), then time ``repeats`` rounds, alternating the runs."""
    accuracy = {name: run() for name, run in runs.items()} if warm_up else {}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            accuracy[name] = run()
            times[name].append(time.perf_counter() - start)
    return {
        name: {"min": min(t), "median": statistics.median(t), "acc": accuracy[name]}
        for name, t in times.items()
    }


# --- 2. reliable tier vs AutoAttack ------------------------------------------------------------


def _bench_reliable(
    path: Path, x: np.ndarray, y: np.ndarray, *, n_aa: int, run_art: bool
) -> dict[str, Any]:
    import keras

    from kfp_mlsecops.attacks import evaluate_arrays
    from kfp_mlsecops.training import load_model

    model = load_model(path)
    rows: dict[str, Any] = {"n_aa": n_aa}

    def reliable(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, dict[str, float]]:
        start = time.perf_counter()
        results = evaluate_arrays(
            model=model,
            x=xs,
            y=ys,
            lower=0.0,
            upper=1.0,
            epsilons=[EPS],
            tier="reliable",
            batch_size=len(xs),
        )
        elapsed = time.perf_counter() - start
        (worst,) = [r["robust_accuracy"] for r in results["worst_case"] if r["epsilon"] == EPS]
        per_attack = {r["attack"]: r["robust_accuracy"] for r in results["attacks"]}
        return elapsed, float(worst), per_attack

    rows["ours_subset_cold"] = reliable(x[:n_aa], y[:n_aa])  # first call: includes tracing
    if run_art:  # the full run; --quick skips the repeat and the whole 300
        rows["ours_subset"] = reliable(x[:n_aa], y[:n_aa])
        rows["ours_all"] = reliable(x, y)
    rows["clean_subset"] = float(
        np.mean(np.argmax(model.predict(x[:n_aa], verbose=0), 1) == y[:n_aa])
    )
    if run_art:
        from art.attacks.evasion import AutoAttack
        from art.estimators.classification import TensorFlowV2Classifier

        classifier = TensorFlowV2Classifier(
            model=_logits_model(path),
            nb_classes=10,
            input_shape=x.shape[1:],
            loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            clip_values=(0.0, 1.0),
        )
        attack = AutoAttack(classifier, norm=np.inf, eps=EPS, batch_size=n_aa)
        for member in attack.attacks:  # quiet progress bars; the ensemble itself is unchanged
            if "verbose" in member.attack_params:
                member.set_params(verbose=False)
        onehot = np.eye(10, dtype=np.float32)[y[:n_aa]]
        start = time.perf_counter()
        adversarial = attack.generate(x[:n_aa], onehot)
        elapsed = time.perf_counter() - start
        assert np.abs(adversarial - x[:n_aa]).max() <= EPS + 1e-6
        predicted = classifier.predict(adversarial, batch_size=n_aa).argmax(1)
        rows["art"] = (elapsed, float(np.mean(predicted == y[:n_aa])))
        rows["art_attacks"] = [type(a).__name__ for a in attack.attacks]
    return rows


# --- 3. adversarial training -------------------------------------------------------------------


def _bench_training(
    work: Path, train_path: Path, test_path: Path, *, epochs: int, rounds: int, round_epochs: int
) -> tuple[dict[str, Any], Path]:
    """Time train_model and a bare loop for ``epochs``, then the two loops alone, interleaved.

    The PGD-trained model the other sections attack is the trainer's loop run again with the same
    settings, kept as ``.keras`` (a model folder holds only the SavedModel). The loop comparison
    alternates ``fit_adversarial`` and the bare loop for ``rounds`` rounds of ``round_epochs``.
    """
    import keras

    from kfp_mlsecops.data.split_io import load_split
    from kfp_mlsecops.training import train_model
    from kfp_mlsecops.training._architecture import LOGITS_LAYER, build_model
    from kfp_mlsecops.training.adversarial import check_adversarial, fit_adversarial

    train, test = load_split(train_path), load_split(test_path)
    folder = work / "pgd"
    start = time.perf_counter()
    result = train_model(
        train_path=train_path,
        test_path=test_path,
        model_dir=folder,
        epochs=epochs,
        batch_size=AT_BATCH,
        learning_rate=AT_LR,
        seed=SEED,
        adversarial="pgd",
        adv_epsilon=EPS,
        adv_steps=AT_STEPS,
    )
    rows: dict[str, Any] = {"train_model": (time.perf_counter() - start, result.accuracy)}

    def fresh_model() -> Any:
        keras.utils.set_random_seed(SEED)
        return build_model(x_train=train.x, n_classes=10, lower=0.0, upper=1.0)

    model = fresh_model()
    start = time.perf_counter()
    _bare_pgd_training(model, train.x, train.y, epochs=epochs)
    elapsed = time.perf_counter() - start
    rows["bare"] = (elapsed, float(np.mean(model.predict(test.x, verbose=0).argmax(1) == test.y)))

    settings = check_adversarial("pgd", epsilon=EPS, steps=AT_STEPS, step_size=None)

    def ours() -> float:
        fit_adversarial(
            fresh_model(),
            train.x,
            train.y,
            settings=settings,
            logits_layer=LOGITS_LAYER,
            epochs=round_epochs,
            batch_size=AT_BATCH,
            learning_rate=AT_LR,
            seed=SEED,
            lower=0.0,
            upper=1.0,
        )
        return float("nan")

    def bare() -> float:
        _bare_pgd_training(fresh_model(), train.x, train.y, epochs=round_epochs)
        return float("nan")

    rows["loops"] = _interleave({"ours": ours, "bare": bare}, repeats=rounds, warm_up=False)
    rows["round_epochs"] = round_epochs
    attacked = fresh_model()
    fit_adversarial(
        attacked,
        train.x,
        train.y,
        settings=settings,
        logits_layer=LOGITS_LAYER,
        epochs=epochs,
        batch_size=AT_BATCH,
        learning_rate=AT_LR,
        seed=SEED,
        lower=0.0,
        upper=1.0,
    )
    path = work / "pgd.keras"
    attacked.save(path)
    return rows, path


def _bare_pgd_training(model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int) -> None:
    """Minimal PGD-AT (Madry): random start, 10 signed steps of 2.5 * eps / 10, then Adam.

    One trace, like the trainer's (input_signature with an open batch axis), so the ratio shows
    the trainer's own overhead, not a retrace for the last, smaller batch.
    """
    import keras
    import tensorflow as tf

    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    optimizer = keras.optimizers.Adam(AT_LR)
    weights = model.trainable_variables
    step_size = 2.5 * EPS / AT_STEPS

    def loss_of(batch: Any, labels: Any) -> Any:
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits(batch))

    spec = tf.TensorSpec((None, *x.shape[1:]), tf.float32)

    @tf.function(input_signature=[spec, tf.TensorSpec([None], tf.int64)])
    def step(xb: Any, yb: Any) -> Any:
        adv = tf.clip_by_value(xb + tf.random.uniform(tf.shape(xb), -EPS, EPS), 0.0, 1.0)
        for _ in tf.range(AT_STEPS):
            with tf.GradientTape() as tape:
                tape.watch(adv)
                loss = tf.reduce_sum(loss_of(adv, yb))
            adv = adv + step_size * tf.sign(tape.gradient(loss, adv))
            adv = tf.clip_by_value(tf.clip_by_value(adv, xb - EPS, xb + EPS), 0.0, 1.0)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_of(adv, yb))
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss

    rng = np.random.default_rng(SEED)
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), AT_BATCH):
            part = order[start : start + AT_BATCH]
            step(x[part], y[part])


# --- printing ----------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _print_pgd(rows: list[tuple[str, dict[str, Any]]]) -> None:
    n_seeds = len(rows[0][1]["seeds"]["ours"])
    print(
        f"\nPGD-{PGD_STEPS} L-inf eps={EPS}, step {2.5 * EPS / PGD_STEPS:g}, 1 random init, "
        f"{N_SAMPLES} samples in one batch (time: min / median of interleaved repeats; "
        f"robust acc: mean over {n_seeds} seeds)"
    )
    names = {
        "ours": "kfp_mlsecops PGD (call: + checks, scoring)",
        "ours_fp32": "kfp_mlsecops PGD (call), precision=float32",
        "core": "kfp_mlsecops PGD.run (attack only)",
        "core_fp32": "kfp_mlsecops PGD.run, precision=float32",
        "core_full": "kfp_mlsecops PGD.run, float32, early_stop=False",
        "art": "ART ProjectedGradientDescent",
        "bare": f"bare: {PGD_STEPS} fwd+bwd passes",
    }
    print(f"our default precision here: {rows[0][1]['precision']} (precision='auto')")
    table = []
    for label, r in rows:
        for name, what in names.items():
            acc = r[name]["acc"]
            shown = "-" if acc != acc else f"{acc:.3f}"
            table.append([label, what, f"{r[name]['min']:.3f} / {r[name]['median']:.3f}", shown])
        ours, ours_fp32, core, fp32, full, art, bare = (r[n]["min"] for n in names)
        per_seed = " ".join(
            f"{a:.3f}/{b:.3f}/{c:.3f}"
            for a, b, c in zip(*(r["seeds"][k] for k in ("ours", "ours_fp32", "art")), strict=True)
        )
        table.append(
            [
                label,
                "ratios (of min times)",
                f"ART/ours {art / ours:.1f}x (goal >= 5; float32 {art / fp32:.1f}x)",
                f"ours/bare {ours / bare:.2f}x, run/bare {core / bare:.2f}x, "
                f"full run/bare {full / bare:.2f}x (goal <= 1.15); "
                f"acc ours-ART {r['ours']['acc'] - r['art']['acc']:+.3f} (goal <= 0)",
            ]
        )
        table.append(
            [
                label,
                "float32 vs ART (of min times)",
                f"ART/run {art / fp32:.1f}x, ART/call {art / ours_fp32:.1f}x",
                f"acc float32-ART {r['ours_fp32']['acc'] - r['art']['acc']:+.3f} (goal <= 0)",
            ]
        )
        table.append([label, "per seed ours/float32/ART", "", per_seed])
    _table(["model", "attack", "time s", "robust acc"], table)
    for label, r in rows:
        if label == "PGD-trained CNN":
            _print_pgd_goal(r)


def _print_pgd_goal(r: dict[str, Any]) -> None:
    """Issue 14: float32 PGD.run >= 5x ART on the robust model, seed-averaged acc <= ART's."""
    speedup = r["art"]["min"] / r["core_fp32"]["min"]
    ours_acc, art_acc = r["ours_fp32"]["acc"], r["art"]["acc"]
    fast, strong = speedup >= 5.0, ours_acc <= art_acc
    print(
        f"PGD float32 on the PGD-trained CNN: {speedup:.1f}x ART (goal >= 5x): "
        f"{'met' if fast else 'NOT met'}; robust acc (mean of {len(r['seeds']['art'])} seeds) "
        f"float32 {ours_acc:.3f} vs ART {art_acc:.3f} (goal <= ART): "
        f"{'met' if strong else 'NOT met'}"
    )


def _print_reliable(rows: dict[str, Any]) -> None:
    n = rows["n_aa"]
    print(f"\nReliable tier vs ART AutoAttack, eps={EPS}, PGD-trained CNN")
    cold = rows["ours_subset_cold"]
    per_attack = ", ".join(f"{k} {v:.3f}" for k, v in cold[2].items())
    table = [
        [f"reliable tier, first {n} (first call)", f"{cold[0]:.1f}", f"{cold[1]:.3f}", per_attack]
    ]
    if "ours_all" in rows:
        warm, full = rows["ours_subset"], rows["ours_all"]
        table.append([f"reliable tier, first {n} (again)", f"{warm[0]:.1f}", f"{warm[1]:.3f}", ""])
        table.append(
            [
                f"reliable tier, all {N_SAMPLES} (test split)",
                f"{full[0]:.1f}",
                f"{full[1]:.3f}",
                "PGD-AT goal: >= 0.40",
            ]
        )
    if "art" in rows:
        art_time, art_acc = rows["art"]
        table.append(
            [
                f"ART AutoAttack, first {n}",
                f"{art_time:.1f}",
                f"{art_acc:.3f}",
                "+".join(rows["art_attacks"]) + f" ({art_time / n:.2f} s/sample)",
            ]
        )
        table.append(
            [
                "ratios",
                f"ART/ours {art_time / cold[0]:.1f}x (goal >= 10)",
                f"ours-ART {cold[1] - art_acc:+.3f}",
                "goal: ours <= ART + 0.01",
            ]
        )
    else:
        table.append(["ART AutoAttack", "skipped (--quick)", "", "run without --quick"])
    _table(["run", "time s", "robust acc", "notes"], table)
    print(f"clean accuracy on the first {n}: {rows['clean_subset']:.3f}")


def _print_training(rows: dict[str, Any], *, epochs: int) -> None:
    print(
        f"\nPGD-AT (Madry), eps={EPS}, {AT_STEPS} steps of {2.5 * EPS / AT_STEPS:g}, "
        f"batch {AT_BATCH}, Adam {AT_LR:g}; goal: trainer <= 1.2x the bare loop"
    )
    e2e, bare = rows["train_model"], rows["bare"]
    ours_loop, bare_loop = rows["loops"]["ours"], rows["loops"]["bare"]
    k = rows["round_epochs"]
    table = [
        [
            f"train_model(adversarial='pgd'), {epochs} epochs, incl. export + checks",
            f"{e2e[0]:.1f}",
            f"{e2e[0] / bare[0]:.2f}x",
            f"{e2e[1]:.3f}",
        ],
        [f"bare PGD-AT loop, {epochs} epochs", f"{bare[0]:.1f}", "1.00x", f"{bare[1]:.3f}"],
        [
            f"fit_adversarial (the trainer's loop), {k} epochs: min / median",
            f"{ours_loop['min']:.1f} / {ours_loop['median']:.1f}",
            f"{ours_loop['min'] / bare_loop['min']:.2f}x / "
            f"{ours_loop['median'] / bare_loop['median']:.2f}x",
            "-",
        ],
        [
            f"bare PGD-AT loop, {k} epochs: min / median",
            f"{bare_loop['min']:.1f} / {bare_loop['median']:.1f}",
            "1.00x",
            "-",
        ],
    ]
    _table(["run", "time s", "vs bare", "clean acc (test)"], table)


if __name__ == "__main__":
    main()
