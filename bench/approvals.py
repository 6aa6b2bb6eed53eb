"""No false blocks: genuine runs of the whole pipeline are approved, over several seeds.

Runs ``mlsecops run``'s pipeline (kfp.local, the real components) on the digits data for
``--seeds`` seeds, with standard training and with PGD adversarial training (a robust model),
under the built-in policy floor, and prints per run: the gate's verdict, its own clean
accuracy, the robust accuracy it acted on, how many robust claims it re-attacked and disproved,
and the detection probability it recorded. Goal: every genuine run approved (0 false blocks).

Run: .venv/bin/python bench/approvals.py [--seeds 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from kfp_mlsecops.cli.run_local import run_pipeline_locally

SETTINGS = {
    "standard": {},
    "pgd-trained": {"adversarial_training": "pgd", "epochs": 10},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="mlsecops-approvals-"))
    print(f"load average at start: {Path('/proc/loadavg').read_text().split()[:3]}")
    header = "model        seed  verdict   clean   robust@0.05  re-attacked  disproved  p(10pt)  s"
    print(header)
    print("-" * len(header))
    blocked = 0
    for name, extra in SETTINGS.items():
        for seed in range(args.seeds):
            print(f"{name} seed {seed} ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            run = run_pipeline_locally(
                output_dir=out / name / f"seed-{seed}",
                arguments={"seed": seed, **extra},
                console=io.StringIO(),
            )
            seconds = time.monotonic() - started
            decision = run.decision or {}
            record = decision.get("rederivation") or {}
            approved = run.succeeded and decision.get("blessed") is True
            blocked += 0 if approved else 1
            print(
                f"{name:<12} {seed:>4}  {'APPROVED' if approved else 'BLOCKED ':<8}  "
                f"{record.get('clean_accuracy', float('nan')):.4f}  "
                f"{record.get('robust_accuracy', float('nan')):>11.4f}  "
                f"{record.get('sampled', 0):>11}  {record.get('unreproduced', -1):>9}  "
                f"{record.get('detection_probability', float('nan')):>7.4f}  {seconds:>4.0f}"
                + ("" if approved else f"  {run.error}")
            )
    print(f"false blocks: {blocked} of {args.seeds * len(SETTINGS)} genuine runs (goal 0)")
    print(f"load average at end: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"runs in {out}")
    return 0 if blocked == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
