"""Model file safety: refuse pickle-based files, scan a model directory for code-carrying parts.

Loading stays with :func:`kfp_mlsecops.training.load_model` (native ``.keras`` only, always
``safe_mode=True``); this package adds :func:`refuse_pickle_formats` (raise before anything
loads a pickle) and :func:`scan_model`, an offline scanner usable as a gate control
(``scan_model(d).require_safe()``). Nothing here unpickles, deserializes Keras objects or runs a
graph: pickles are disassembled with ``pickletools``, Keras configs read as JSON, SavedModel
graphs parsed as protobuf (TensorFlow is imported only for SavedModel files).

Why our own checks instead of ``modelscan`` 0.8.8 (measured with TF 2.21, keras 3.15, numpy
2.4, protobuf 6.33): it installs only with rich downgraded below 15 (pip check then clean) and
runs offline, and it flags os.system pickles (.pkl/.joblib), Lambda in .keras/.h5 and
ReadFile/WriteFile in SavedModels. But with its default settings it misses ``tf.py_function``
(EagerPyFunc), it skips raw pickles named ``.pt`` / ``.bin`` ("Invalid magic number", no issue
reported), it matches pickle globals against a denylist, and its ``create-settings-file`` command
crashes ("Keys must be strings"), so tuning it means its private settings dict. The checks here
are small, need no new dependency and fail closed (an unreadable file is a finding).
"""

from __future__ import annotations

from kfp_mlsecops.safety.report import Finding, ScanReport
from kfp_mlsecops.safety.scan import refuse_pickle_formats, scan_model

__all__ = ["Finding", "ScanReport", "refuse_pickle_formats", "scan_model"]
