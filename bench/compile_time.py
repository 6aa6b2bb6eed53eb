"""Time `mlsecops compile` end to end (fresh interpreter) against a bare `import kfp` baseline.

Goal (issue #2): compile in under 2 s on 2 cores, without importing TensorFlow.
Run: .venv/bin/python bench/compile_time.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

COMPILE = (
    "import sys; from pathlib import Path; "
    "from kfp_mlsecops.pipelines.compiling import compile_all; "
    "compile_all(Path(sys.argv[1]) / 'p', Path(sys.argv[1]) / 'c'); "
    "assert 'tensorflow' not in sys.modules"
)
BASELINE = "import kfp.dsl, kfp.compiler"


def _time(code: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _time(COMPILE, tmp)  # warm the file cache
        compile_s = [_time(COMPILE, tmp) for _ in range(args.repeats)]
        base_s = [_time(BASELINE) for _ in range(args.repeats)]
    c, b = statistics.median(compile_s), statistics.median(base_s)
    print(f"compile pipeline + components (fresh process): median {c:.2f} s of {args.repeats}")
    print(f"baseline 'import kfp.dsl, kfp.compiler':         median {b:.2f} s")
    print(f"ratio compile/baseline: {c / b:.2f}x; goal < 2 s: {'met' if c < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
