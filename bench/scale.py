"""Bench how attack-test's cost grows with model size and sample count, ours vs ART (issue 10).

Three models, each attacked on its first n rows for several n, by attack-test's PGD and by ART
1.20.1's ``ProjectedGradientDescent`` configured the same way. Each epsilon is a middle case
for early stopping: PGD leaves roughly 2/3 of the rows unbroken (the more rows break early,
the larger our lead; a robust model is the hard case, see bench/attacks.py).

- digits CNN: the trainer's CNN (``training._architecture.build_model``, fit as ``train_model``
  fits a standard model, 10 epochs as in bench/attacks.py) on the package's digits train split;
  the attacked rows are the 360 test-split rows, then training rows (1797 in all). eps 0.1.
- ResNet-20 (He et al. 2016, CIFAR variant, 1x1 projection shortcuts): 32x32x3 inputs, 10
  classes, 64 Adam steps on synthetic data (one smooth random template per class plus noise).
  eps 4/255. Its robust accuracy is a sanity check, not a CIFAR figure. Smaller sample counts
  (up to 200 quick, 400 full): a gradient pass costs ~30x the CNN's FLOPs, and ART's PGD took
  0.06-0.1 s per row on the 2 shared cores here.
- tabular MLP: the trainer's MLP on a synthetic 30-feature, 2-class table (sklearn
  ``make_classification``, min-max scaled to [0, 1]). eps 0.02.

What is timed. Ours: what attack-test (``evaluate_arrays``, fast tier) spends on PGD: the tier's
PGD (``build_attack("pgd")``: 20 steps of 2.5 * eps / 20, one random start, early stop) swept by
``_sweep.sweep`` over the grid [0, eps] in batches of 256, every adversarial clipped, checked and
re-scored, on the model loaded as attack-test loads a model folder (``load_attack_model``: the
served SavedModel ``1/``, hence float32 gradients; the bfloat16 copy needs a ``.keras`` file, see
bench/attacks.py). ART: ``generate`` (same eps, steps, step size, one random init, batch 256) on
the same weights as a Keras logits model, then ``predict`` to score. The ratio compares these
two. "bare" is 20 forward+backward passes per batch in a minimal compiled loop: ART/bare bounds
what any PGD gains over ART without skipping passes (early stop) or lowering the precision. For
reference, the whole fast tier (``evaluate_arrays``: FGSM + PGD + masking diagnostics) is also
timed once per size, after a call on 4 rows that traces its graphs.

Method. Per (model, n), three fresh subprocesses load the model(s) and data untimed:
- timing: ours, ART and bare each make one warm-up call (tracing), then ``--repeats`` rounds of
  one call each, interleaved, so load from other jobs on the 2 shared cores hits all three (more
  rounds while they add up to < 0.5 s; fewer, at least one, once they add up to 60 s); time is
  the minimum per implementation. Robust accuracy is the mean over ``--seeds`` seeds (ART seeded
  through ``np.random``; its rounds use seeds 1, 2, ..., ours repeat seed 0, since another seed
  is another trace; missing seeds are extra calls); ours should not be higher than ART's.
- memory, one per implementation: the kernel's peak-RSS mark is reset (``/proc/self/clear_refs``
  5), then one cold call ("first", tracing included): "attack MB" is the peak RSS during it minus
  the RSS just before (all the attack needs: buffers, graphs), "peak MB" the process's peak RSS
  (TensorFlow, model, data and the attack). Ours then times the fast tier.

Growth: per model and implementation, a least-squares fit of log(time) on log(n) gives k in
time ~ a * n^k (goal for ours: k <= 1.15, linear in samples); the speed goal is ART/ours >= 5 at
every size. The bench exits 0 whatever it measures and prints which goals are met. Needs the
bench extra (``pip install -e '.[bench]'``) and Linux (/proc/self/status, clear_refs).
Run: .venv/bin/python bench/scale.py [--quick] [--models NAME ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

_STARTED = time.perf_counter()
STEPS = 20
REL_STEP = 2.5 / STEPS
BATCH = 256
SEED = 0
SPEED_GOAL = 5.0
GROWTH_GOAL = 1.15
#: Interleaved rounds: ``--repeats`` of them, more while they add up to < MIN_TIMED_S (at most
#: MAX_CALLS), fewer (at least one) once they add up to MAX_TIMED_S: slow calls vary less.
MIN_TIMED_S = 0.5
MAX_CALLS = 20
MAX_TIMED_S = 60.0
#: Per model: epsilon and the sample counts (quick, full).
MODELS: dict[str, dict[str, Any]] = {
    "digits CNN": {"eps": 0.1, "quick": (100, 200, 400), "full": (100, 200, 400, 800, 1600)},
    "ResNet-20": {"eps": 4 / 255, "quick": (50, 100, 200), "full": (100, 200, 400)},
    "tabular MLP": {"eps": 0.02, "quick": (100, 200, 400), "full": (100, 200, 400, 800, 1600)},
}
IMPLS = ("ours", "art")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 sizes per model, fewer repeats")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--repeats", type=int, default=None, help="interleaved rounds (2; 3)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds for robust acc (2; 3)")
    parser.add_argument("--sizes", type=int, nargs="+", help="sample counts for every model")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one measurement, JSON in and out
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    mode = "quick" if args.quick else "full"
    repeats = args.repeats or (2 if args.quick else 3)
    seeds = args.seeds or (2 if args.quick else 3)
    started = time.perf_counter()
    _print_versions()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            sizes = tuple(args.sizes or MODELS[name][mode])
            prepared = _prepare(name, Path(tmp), n_attack=max(sizes))
            print(
                f"\n{name}: {prepared['params']:,} parameters, input {prepared['shape']}, "
                f"clean accuracy {prepared['clean']:.3f} on the first {max(sizes)} rows, "
                f"eps {MODELS[name]['eps']:.4g} (prepared in {prepared['seconds']:.0f} s)"
            )
            rows = _measure(name, prepared, sizes, repeats=repeats, seeds=seeds)
            results[name] = {"prepared": prepared, "rows": rows}
            _print_model(name, rows)
    _print_summary(results)
    setup = sum(r[k]["setup"] for res in results.values() for r in res["rows"].values() for k in r)
    print(
        f"\nbench wall time {time.perf_counter() - started:.0f} s ({mode}: {repeats} interleaved "
        f"rounds, {seeds} seeds), of which {setup:.0f} s subprocess imports and model loading; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )


def _print_versions() -> None:
    import art
    import keras
    import tensorflow as tf

    print(
        f"tensorflow {tf.__version__}, keras {keras.__version__}, ART {art.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"
    )


# --- models and data (parent process) ----------------------------------------------------------


def _prepare(name: str, folder: Path, *, n_attack: int) -> dict[str, Any]:
    """Train ``name``, save it as ``.keras`` (ART) and as a model folder (ours), and the data."""
    import keras

    from kfp_mlsecops.servable.export import export_savedmodel

    start = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    builders = {"digits CNN": _digits_cnn, "ResNet-20": _resnet20, "tabular MLP": _tabular_mlp}
    model, x, y = builders[name](n_attack)
    base = folder / name.replace(" ", "_")
    base.mkdir()
    model.save(base / "model.keras")
    export_savedmodel(model, base / "folder" / "1", probe=x[:8])
    np.savez(base / "data.npz", x=x, y=y)
    clean = float(np.mean(model.predict(x, verbose=0).argmax(1) == y))
    return {
        "keras": str(base / "model.keras"),
        "folder": str(base / "folder"),
        "data": str(base / "data.npz"),
        "params": int(model.count_params()),
        "shape": "x".join(str(d) for d in x.shape[1:]),
        "clean": clean,
        "seconds": time.perf_counter() - start,
    }


def _digits_cnn(n_attack: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """The trainer's CNN, fit as ``train_model`` fits (Adam 1e-3, batch 64), 10 epochs."""
    import keras

    from kfp_mlsecops.data.sources import load_dataset
    from kfp_mlsecops.data.splitting import stratified_split
    from kfp_mlsecops.training._architecture import build_model

    data = load_dataset("digits")
    train, test = stratified_split(data.y, n_classes=10, test_fraction=0.2, seed=SEED)
    model = build_model(x_train=data.x[train], n_classes=10, lower=0.0, upper=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(data.x[train], data.y[train], epochs=10, batch_size=64, verbose=0)
    rows = np.concatenate([test, train])[:n_attack]
    return model, data.x[rows], data.y[rows]


def _resnet20(n_attack: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """ResNet-20 for 32x32x3, 64 steps of Adam on synthetic class templates plus noise."""
    import keras

    rng = np.random.default_rng(SEED)
    # one smooth pattern per class (4x4x3 upsampled), the inputs that pattern plus noise
    templates = np.kron(rng.uniform(-1, 1, (10, 4, 4, 3)), np.ones((1, 8, 8, 1)))

    def sample(count: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, count)
        noise = rng.normal(0, 0.25, (count, 32, 32, 3))
        return np.clip(0.5 + 0.2 * templates[y] + noise, 0, 1).astype(np.float32), y

    x_train, y_train = sample(1024)
    model = _build_resnet20()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=4, batch_size=64, verbose=0)  # 64 steps
    x, y = sample(n_attack)
    return model, x, y


def _build_resnet20() -> Any:
    import keras

    layers = keras.layers

    def conv_bn(h: Any, filters: int, stride: int = 1, relu: bool = True) -> Any:
        h = layers.Conv2D(filters, 3, stride, padding="same", use_bias=False)(h)
        h = layers.BatchNormalization(momentum=0.9)(h)
        return layers.ReLU()(h) if relu else h

    inputs = keras.Input((32, 32, 3), name="inputs")
    h = conv_bn(inputs, 16)
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):  # 3 stages x 3 basic blocks x 2 convs + first conv + dense = 20
            stride = 2 if stage > 0 and block == 0 else 1
            shortcut = h
            if stride != 1:
                shortcut = layers.Conv2D(filters, 1, stride, use_bias=False)(h)
                shortcut = layers.BatchNormalization(momentum=0.9)(shortcut)
            out = conv_bn(conv_bn(h, filters, stride), filters, relu=False)
            h = layers.ReLU()(layers.Add()([out, shortcut]))
    h = layers.GlobalAveragePooling2D()(h)
    logits = layers.Dense(10, name="logits")(h)
    return keras.Model(inputs, layers.Softmax(name="probabilities")(logits), name="resnet20")


def _tabular_mlp(n_attack: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """The trainer's MLP on a synthetic 30-feature, 2-class table scaled to [0, 1]."""
    import keras
    from sklearn.datasets import make_classification

    from kfp_mlsecops.training._architecture import build_model

    n_train = 2000
    x, y = make_classification(
        n_samples=n_train + n_attack,
        n_features=30,
        n_informative=10,
        n_redundant=10,
        n_classes=2,
        random_state=SEED,
    )
    low, high = x[:n_train].min(0), x[:n_train].max(0)
    x = np.clip((x - low) / (high - low), 0, 1).astype(np.float32)
    model = build_model(x_train=x[:n_train], n_classes=2, lower=0.0, upper=1.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x[:n_train], y[:n_train], epochs=20, batch_size=64, verbose=0)
    return model, x[n_train:], y[n_train:]


# --- measuring (parent) ------------------------------------------------------------------------


def _measure(name: str, prepared: dict[str, Any], sizes: tuple[int, ...], **counts: int) -> Any:
    """Per size: one timing subprocess (ours, ART, bare interleaved), one memory one per side."""
    rows = {}
    for n in sizes:
        job = {
            "n": n,
            "eps": MODELS[name]["eps"],
            **counts,
            **{k: prepared[k] for k in ("keras", "folder", "data")},
        }
        rows[n] = {"time": _run_child({**job, "kind": "time"})}
        for impl in IMPLS:
            rows[n][impl] = _run_child({**job, "kind": impl})
    return rows


def _run_child(job: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", json.dumps(job)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{job['kind']} n={job['n']} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- one measurement (child process) -----------------------------------------------------------


def _child(job: dict[str, Any]) -> dict[str, Any]:
    """Load the data and the model(s) untimed, then measure ``job["kind"]``."""
    with np.load(job["data"]) as data:
        x, y = data["x"][: job["n"]], data["y"][: job["n"]]
    if job["kind"] == "time":
        return _time_all(job, x, y)
    return _memory(job, x, y)


def _time_all(job: dict[str, Any], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Interleave warm calls of ours, ART and bare; robust accuracy over ``seeds`` seeds.

    Our warm calls reuse seed 0 (another seed is another trace); ART's use seeds 1, 2, ... (ART
    traces nothing, its cost does not depend on the seed), so they also give its robust accuracy.
    """
    runs = {"ours": _ours(_load_served(job["folder"]), job["eps"], x, y)}
    runs["art"], runs["bare"] = _art(job, x, y)
    setup = time.perf_counter() - _STARTED
    accs: dict[str, dict[int, float]] = {name: {} for name in runs}
    for name, run in runs.items():  # warm-up: tracing, first allocations
        accs[name][SEED] = run(SEED)
    times: dict[str, list[float]] = {name: [] for name in runs}
    spent = 0.0
    while (
        not times["ours"]
        or (spent < MAX_TIMED_S and len(times["ours"]) < job["repeats"])
        or (spent < MIN_TIMED_S and len(times["ours"]) < MAX_CALLS)
    ):
        for name, run in runs.items():
            seed = SEED + 1 + len(times[name]) if name == "art" else SEED
            start = time.perf_counter()
            accs[name][seed] = run(seed)
            times[name].append(time.perf_counter() - start)
            spent += times[name][-1]
    seeds = range(SEED, SEED + job["seeds"])
    result: dict[str, Any] = {name: min(t) for name, t in times.items()}
    for name in ("ours", "art"):
        missing = [seed for seed in seeds if seed not in accs[name]]
        accs[name].update({seed: runs[name](seed) for seed in missing})
        result[f"acc_{name}"] = float(np.mean([accs[name][seed] for seed in seeds]))
    result["calls"], result["setup"] = len(times["ours"]), setup
    return result


def _memory(job: dict[str, Any], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """One cold call in this fresh process: its time, RSS growth and the process's peak RSS."""
    model = _load_served(job["folder"]) if job["kind"] == "ours" else None
    attack = _ours(model, job["eps"], x, y) if model else _art(job, x, y)[0]
    load_peak = _memory_kb()["VmHWM"]  # imports and loading; _call resets the mark
    setup = time.perf_counter() - _STARTED
    call = _call(attack, SEED, memory=True)
    result = {
        "first": call["seconds"],
        "attack_mb": call["grew_mb"],
        "peak_mb": max(load_peak, _memory_kb()["VmHWM"]) / 1024,
        "setup": setup,
    }
    if model is not None:
        result["tier"] = _fast_tier(model, job["eps"], x, y)
    return result


def _call(attack: Any, seed: int, *, memory: bool = False) -> dict[str, float]:
    """Time ``attack(seed)``; with ``memory``, also the RSS growth over the call (MB)."""
    if memory:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark to the RSS now
        before = _memory_kb()["VmRSS"]
    start = time.perf_counter()
    acc = attack(seed)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "acc": acc, "seed": seed}
    if memory:
        result["grew_mb"] = (_memory_kb()["VmHWM"] - before) / 1024
    return result


def _memory_kb() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def _load_served(folder: str) -> Any:
    """The model as attack-test loads a model folder: its SavedModel ``1/``, wrapped."""
    from kfp_mlsecops.attacks import TFModel, load_attack_model

    return TFModel(load_attack_model(folder), bounds=(0.0, 1.0))


def _ours(model: Any, eps: float, x: np.ndarray, y: np.ndarray) -> Any:
    """Attack-test's PGD: the tier's attack swept over [0, eps] as ``evaluate_arrays`` does."""
    from kfp_mlsecops.attacks._sweep import sweep
    from kfp_mlsecops.attacks.tiers import build_attack

    ids = np.arange(len(y))

    def run(seed: int) -> float:
        pgd = build_attack("pgd", seed=seed, pgd_steps=STEPS, input_shape=x.shape[1:])
        if pgd.precision == "bfloat16" and model.bf16_logits() is None:
            pgd.precision = "float32"  # what evaluate_arrays declares for a SavedModel
        survived = sweep(pgd, model, x, y, grid=[0.0, eps], batch_size=BATCH, sample_ids=ids)
        return float(survived[-1].mean())

    return run


def _art(job: dict[str, Any], x: np.ndarray, y: np.ndarray) -> Any:
    """ART's PGD with the same eps, steps, step size, random init and batch size."""
    import keras
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier

    from kfp_mlsecops.training import load_model

    served = load_model(job["keras"])
    logits = keras.Model(served.inputs, served.get_layer("logits").output)
    n_classes = int(served.output_shape[-1])
    classifier = TensorFlowV2Classifier(
        model=logits,
        nb_classes=n_classes,
        input_shape=x.shape[1:],
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        clip_values=(0.0, 1.0),
    )
    attack = ProjectedGradientDescent(
        classifier,
        norm=np.inf,
        eps=job["eps"],
        eps_step=REL_STEP * job["eps"],
        max_iter=STEPS,
        num_random_init=1,
        batch_size=BATCH,
        verbose=False,
    )
    onehot = np.eye(n_classes, dtype=np.float32)[y]

    def run(seed: int) -> float:
        np.random.seed(seed)  # ART draws its random init from the global numpy generator
        adversarial = attack.generate(x, onehot)
        assert np.abs(adversarial - x).max() <= job["eps"] + 1e-6
        predicted = classifier.predict(adversarial, batch_size=BATCH).argmax(1)
        return float(np.mean(predicted == y))

    return run, _bare_passes(logits, x, y)


def _bare_passes(logits: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """The floor: ``STEPS`` forward+backward passes per batch in a minimal compiled loop."""
    import tensorflow as tf

    @tf.function(
        input_signature=[
            tf.TensorSpec((None, *x.shape[1:]), tf.float32),
            tf.TensorSpec([None], tf.int64),
        ]
    )
    def passes(xb: Any, yb: Any) -> Any:
        for _ in tf.range(STEPS):
            with tf.GradientTape() as tape:
                tape.watch(xb)
                loss = tf.reduce_sum(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits(xb))
                )
            xb = xb + tape.gradient(loss, xb)
        return xb

    def run(seed: int) -> float:
        for start in range(0, len(y), BATCH):
            passes(x[start : start + BATCH], y[start : start + BATCH].astype(np.int64)).numpy()
        return float("nan")

    return run


def _fast_tier(model: Any, eps: float, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Time one whole fast-tier ``evaluate_arrays``, after one on 4 rows that traces it all."""
    from kfp_mlsecops.attacks import evaluate_arrays

    def evaluate(rows: int) -> dict[str, Any]:
        return evaluate_arrays(
            model=model,
            x=x[:rows],
            y=y[:rows],
            lower=0.0,
            upper=1.0,
            epsilons=[eps],
            tier="fast",
            batch_size=BATCH,
            seed=SEED,
        )

    evaluate(4)
    start = time.perf_counter()
    doc = evaluate(len(y))
    return {"total": time.perf_counter() - start, "parts": doc["attack_wall_time_s"]}


# --- printing ----------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _growth(sizes: list[int], values: list[float]) -> float:
    """The exponent k of a least-squares fit values ~ a * sizes^k (log-log slope)."""
    if len(sizes) < 2 or min(values) <= 0:
        return float("nan")
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _print_model(name: str, rows: dict[int, dict[str, Any]]) -> None:
    table = []
    for n, r in rows.items():
        t, ours, art = r["time"], r["ours"], r["art"]
        ratio = t["art"] / t["ours"]
        table.append(
            [
                str(n),
                f"{t['ours']:.3f} / {t['art']:.3f}",
                f"{ratio:.1f}x {'ok' if ratio >= SPEED_GOAL else 'LOW'}",
                f"{t['bare']:.3f} ({t['art'] / t['bare']:.1f}x)",
                f"{ours['first']:.2f} / {art['first']:.2f}",
                f"{ours['attack_mb']:.0f} / {art['attack_mb']:.0f}",
                f"{ours['peak_mb']:.0f} / {art['peak_mb']:.0f}",
                _accuracy_cell(t["acc_ours"], t["acc_art"]),
                _tier_cell(ours["tier"]),
            ]
        )
    print(
        f"PGD-{STEPS} L-inf, batch {BATCH}. time: min of interleaved warm calls, s; bare: 20 "
        "forward+backward passes per batch, nothing else; first: a cold call in a fresh process "
        "(tracing included), s; attack MB: RSS growth during it; peak MB: that process's peak; "
        "fast tier: a whole attack-test evaluate_arrays (traced beforehand on 4 rows), s"
    )
    headers = ["n", "time ours / ART", "ART/ours", "bare (ART/bare)", "first", "attack MB"]
    _table([*headers, "peak MB", "robust acc ours / ART", "fast tier (parts)"], table)


def _accuracy_cell(ours: float, art: float) -> str:
    flag = "" if ours <= art else f"  <- ours higher (+{ours - art:.3f})"
    return f"{ours:.3f} / {art:.3f}{flag}"


def _tier_cell(tier: dict[str, Any]) -> str:
    parts = ", ".join(f"{k} {v:.2f}" for k, v in tier["parts"].items())
    return f"{tier['total']:.2f} ({parts})"


def _print_summary(results: dict[str, Any]) -> None:
    print(
        f"\nSummary: k = growth exponent of a fit time ~ a * n^k (goal for ours: k <= "
        f"{GROWTH_GOAL}); ART/ours speed (goal >= {SPEED_GOAL:g}x at every size); ART/bare: "
        "the most an attack gains over ART without skipping passes (early stop) or a lower "
        "precision; robust accuracy (goal: ours <= ART at every size)"
    )
    table, verdicts = [], []
    for name, result in results.items():
        rows = result["rows"]
        sizes = list(rows)

        def column(kind: str, key: str, rows: dict[int, Any] = rows) -> list[float]:
            return [rows[n][kind][key] for n in rows]

        k = {impl: _growth(sizes, column("time", impl)) for impl in IMPLS}
        k_mb = {impl: _growth(sizes, column(impl, "attack_mb")) for impl in IMPLS}
        k_tier = _growth(sizes, [rows[n]["ours"]["tier"]["total"] for n in sizes])
        ratios = [r["time"]["art"] / r["time"]["ours"] for r in rows.values()]
        ceiling = [r["time"]["art"] / r["time"]["bare"] for r in rows.values()]
        higher = [str(n) for n, r in rows.items() if r["time"]["acc_ours"] > r["time"]["acc_art"]]
        table.append(
            [
                name,
                f"{result['prepared']['params']:,}",
                ",".join(map(str, sizes)),
                f"{k['ours']:.2f} / {k['art']:.2f}",
                f"{k_tier:.2f}",
                f"{k_mb['ours']:.2f} / {k_mb['art']:.2f}",
                f"{min(ratios):.1f}x .. {max(ratios):.1f}x",
                f"{min(ceiling):.1f}x .. {max(ceiling):.1f}x",
                "ok" if not higher else "ours higher at n=" + ",".join(higher),
            ]
        )
        fast = min(ratios) >= SPEED_GOAL
        verdicts.append(
            f"{name}: linear in n (k {k['ours']:.2f}) {_met(k['ours'] <= GROWTH_GOAL)}; "
            f">= {SPEED_GOAL:g}x ART at every size (min {min(ratios):.1f}x) {_met(fast)}"
            + ("" if fast else f" (ART is only {min(ceiling):.1f}x the bare passes here)")
            + f"; robust acc ours <= ART {_met(not higher)}"
        )
    headers = ["model", "params", "n", "k time ours / ART", "k fast tier", "k attack MB"]
    _table([*headers, "ART/ours", "ART/bare", "robust acc"], table)
    print("\nGoals:")
    for line in verdicts:
        print("  " + line)


if __name__ == "__main__":
    main()
