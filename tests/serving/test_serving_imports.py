from __future__ import annotations

import subprocess
import sys


def test_importing_serving_and_its_command_loads_neither_tensorflow_nor_kserve():
    code = (
        "import sys, kfp_mlsecops.serving, kfp_mlsecops.cli.serve_command;"
        "from kfp_mlsecops.serving import metric_names, render_verified_predictor_isvc;"
        "print(sorted(m for m in ('tensorflow', 'keras', 'kserve') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
