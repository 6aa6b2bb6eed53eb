"""Sign + verify throughput of a ~1 GiB multi-file model vs single-thread hashlib SHA-256.

    python bench/signing.py            # 1 GiB model, 7 files then one big file, best of 3
    python bench/signing.py --quick    # 128 MiB
    python bench/signing.py --layout one-file --modes ours,shard-64m

Writes random files to a temp folder (page-cached, so this measures hashing, not the disk), then
times, in the same run and on the same bytes:

* ``hashlib``: one thread, SHA-256 over every file in 1 MiB reads (the baseline);
* ``ours``: ``kfp_mlsecops.signing`` sign and verify (key method), the shipped default;
* the other hashing modes model-signing 1.1.1 offers, signed and verified with model-signing
  directly (ECDSA P-256, .git paths included), to show what each would buy.

Throughput is bytes / seconds / 1e9. "per pass" is the rate over both operations counted as
two passes over the model, 2 * bytes / (t_sign + t_verify); "end to end" is the model size over
the time to sign and then verify it, bytes / (t_sign + t_verify). "per CPU-second" divides
the bytes of both passes by the CPU time of all threads: it barely depends on other load, and
on an idle machine with N cores a mode that spreads well runs at up to N times that rate (the
hashlib line shows the same for one thread). The last column says whether
the upstream ``model_signing`` CLI verifies a signature made in that mode (checked on a small
model in the same run): the CLI always re-hashes per file with SHA-256 and cannot be told
otherwise.
Other processes on the machine skew the numbers; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from model_signing import hashing as ms_hashing
from model_signing import signing as ms_signing
from model_signing import verifying as ms_verifying

from kfp_mlsecops.signing import SigningConfig, VerificationConfig, generate_key_pair
from kfp_mlsecops.signing._contract import HASH_MAX_WORKERS

MIB = 1 << 20


def _file_config(**kwargs: object) -> ms_hashing.Config:
    config = ms_hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)
    return config.use_file_serialization(**kwargs)  # type: ignore[arg-type]


def _shard_config(**kwargs: object) -> ms_hashing.Config:
    config = ms_hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)
    return config.use_shard_serialization(**kwargs)  # type: ignore[arg-type]


CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

#: name -> (description, hashing config factory); "ours" goes through the public API instead.
MODES: dict[str, tuple[str, Callable[[], ms_hashing.Config] | None]] = {
    "ours": (
        "kfp_mlsecops.signing (key method): files, sha256, 1 MiB reads, "
        f"{HASH_MAX_WORKERS} workers, plus our checks",
        None,
    ),
    "ms-default": ("files, sha256, 1 MiB reads, default workers", lambda: _file_config()),
    "files-4m": (
        f"files, sha256, 4 MiB reads, {CPUS} workers",
        lambda: _file_config(chunk_size=4 * MIB, max_workers=CPUS),
    ),
    "files-16m": (
        f"files, sha256, 16 MiB reads, {CPUS} workers",
        lambda: _file_config(chunk_size=16 * MIB, max_workers=CPUS),
    ),
    "shard-1g": ("shards of 1 GB (model-signing's shard default), sha256", lambda: _shard_config()),
    "shard-64m": (
        f"shards of 64 MiB, sha256, 4 MiB reads, {CPUS} workers",
        lambda: _shard_config(shard_size=64 * MIB, chunk_size=4 * MIB, max_workers=CPUS),
    ),
    "blake2": ("files, blake2b", lambda: _file_config(hashing_algorithm="blake2")),
    "blake3": (
        "files, blake3 (multi-threaded per file)",
        lambda: _file_config(hashing_algorithm="blake3"),
    ),
}


def _layout(total: int, layout: str) -> list[tuple[str, int]]:
    """Return (relative path, size) pairs adding up to ``total`` bytes."""
    small = [("config.json", 4096), ("tokenizer/vocab.txt", 2 * MIB), ("README.md", 8192)]
    rest = total - sum(size for _, size in small)
    if layout == "one-file":
        return [("model.safetensors", rest), *small]
    shards = 4
    sizes = [rest // shards] * shards
    sizes[-1] += rest - sum(sizes)
    return [
        (f"model-{i + 1:05d}-of-{shards:05d}.safetensors", s) for i, s in enumerate(sizes)
    ] + small


def _write_model(root: Path, total: int, layout: str) -> int:
    written = 0
    for rel, size in _layout(total, layout):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            left = size
            while left:
                block = os.urandom(min(left, 16 * MIB))
                handle.write(block)
                left -= len(block)
        written += size
    return written


def _hashlib_pass(root: Path) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(MIB):
                digest.update(chunk)
        digest.hexdigest()


def _best(repeat: int, run: Callable[[], None]) -> tuple[float, float]:
    """Return the best wall time and the best CPU time (all threads) over ``repeat`` runs."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def _sign_verify(
    mode: str, model: Path, sig: Path, keys: tuple[Path, Path]
) -> tuple[Callable[[], None], Callable[[], None]]:
    factory = MODES[mode][1]
    if factory is None:
        signing = SigningConfig().use_key(private_key_path=keys[0])
        verification = VerificationConfig().use_key(public_key_path=keys[1])

        def our_sign() -> None:
            signing.sign(model, sig)

        def our_verify() -> None:
            verification.verify(model, sig)

        return our_sign, our_verify

    def sign() -> None:
        ms_signing.Config().use_elliptic_key_signer(private_key=keys[0]).set_hashing_config(
            factory()
        ).sign(model, sig)

    def verify() -> None:
        ms_verifying.Config().use_elliptic_key_verifier(public_key=keys[1]).set_hashing_config(
            factory()
        ).verify(model, sig)

    return sign, verify


def _upstream_cli_verifies(mode: str, folder: Path, keys: tuple[Path, Path]) -> str:
    """Sign a small model in ``mode``; return whether `python -m model_signing verify` agrees."""
    model, sig = folder / f"small-{mode}", folder / f"small-{mode}.sig"
    _write_model(model, 3 * MIB, "shards")
    sign, _ = _sign_verify(mode, model, sig, keys)
    sign()
    done = subprocess.run(
        [sys.executable, "-m", "model_signing", "verify", "key", "--signature", str(sig),
         "--public_key", str(keys[1]), "--no-ignore-git-paths", str(model)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return "yes" if done.returncode == 0 else "NO"


GOAL = 1.8  # issue 14: sign+verify per pass >= 1.8x single-thread hashlib on 2 cores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="model size (default 1024)")
    parser.add_argument("--quick", action="store_true", help="128 MiB instead of --size-mib")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument(
        "--layout",
        choices=("both", "shards", "one-file"),
        default="both",
        help="7 files (4 big shards + 3 small), one big file (+ 3 small), or both (default)",
    )
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset")
    parser.add_argument("--no-interop-check", action="store_true", help="skip the CLI check")
    parser.add_argument("--dir", type=Path, default=None, help="parent of the temp folder")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown modes {unknown}; pick from {', '.join(MODES)}")
    size = (128 if args.quick else args.size_mib) * MIB
    layouts = ("shards", "one-file") if args.layout == "both" else (args.layout,)

    with tempfile.TemporaryDirectory(prefix="bench-signing-", dir=args.dir) as tmp:
        folder = Path(tmp)
        keys = (folder / "k.pem", folder / "k.pub")
        generate_key_pair(*keys)
        cli = {
            mode: "-" if args.no_interop_check else _upstream_cli_verifies(mode, folder, keys)
            for mode in modes
        }
        goals = {layout: _bench_layout(folder, layout, size, modes, keys, cli, args.repeat)
                 for layout in layouts}  # fmt: skip
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        for mode in modes:
            print(f"  {mode}: {MODES[mode][0]}")
        for layout, ratio in goals.items():
            verdict = (
                "n/a (ours not run)"
                if ratio is None
                else (f"{ratio:.2f}x, {'met' if ratio >= GOAL else 'NOT met'}")
            )
            print(f"goal ({layout}: ours sign+verify per pass >= {GOAL}x hashlib): {verdict}")
        if "one-file" in goals:
            print(
                "  one big file: SHA-256 of one file is one sequential stream, so per-file "
                "hashing (the only mode the upstream CLI verifies) cannot use a second core; "
                "only shard serialization (shard-64m) does, which the upstream CLI cannot verify "
                "(model-signing 1.1.1's CLI always hashes per file)"
            )
    return 0


def _bench_layout(
    folder: Path,
    layout: str,
    size: int,
    modes: list[str],
    keys: tuple[Path, Path],
    cli: dict[str, str],
    repeat: int,
) -> float | None:
    """Time every mode on a fresh model of ``layout``; return ours' ratio to hashlib."""
    model = folder / f"model-{layout}"
    total = _write_model(model, size, layout)
    n_files = sum(1 for p in model.rglob("*") if p.is_file())
    print(f"model: {total / MIB:.0f} MiB in {n_files} files ({layout}); cpus: {CPUS}; "
          f"best of {repeat}; load average before: {os.getloadavg()[0]:.2f}")  # fmt: skip
    _hashlib_pass(model)  # warm the page cache
    wall, cpu = _best(repeat, lambda: _hashlib_pass(model))
    base = total / wall / 1e9
    print(f"hashlib sha256, 1 thread: {base:.2f} GB/s (per CPU-second: {total / cpu / 1e9:.2f})\n")
    header = (
        "mode",
        "sign GB/s",
        "verify GB/s",
        "sign+verify per pass GB/s",
        "per pass / hashlib",
        "end to end GB/s",
        "per CPU-second GB/s",
        "upstream CLI verifies",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    ours = None
    for mode in modes:
        sig = folder / f"{layout}-{mode}.sig"
        sign, verify = _sign_verify(mode, model, sig, keys)
        (t_sign, c_sign), (t_verify, c_verify) = _best(repeat, sign), _best(repeat, verify)
        both = 2 * total / (t_sign + t_verify) / 1e9
        if mode == "ours":
            ours = both / base
        cells = [
            mode,
            f"{total / t_sign / 1e9:.2f}",
            f"{total / t_verify / 1e9:.2f}",
            f"{both:.2f}",
            f"{both / base:.2f}x",
            f"{both / 2:.2f}",
            f"{2 * total / (c_sign + c_verify) / 1e9:.2f}",
            cli[mode],
        ]
        print("| " + " | ".join(cells) + " |", flush=True)
    print()
    shutil.rmtree(model)
    return ours


if __name__ == "__main__":
    sys.exit(main())
