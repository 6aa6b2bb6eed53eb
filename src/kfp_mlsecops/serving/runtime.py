"""The verified model at run time: verify, load, predict and record metrics (no KServe here).

:class:`VerifiedModelRuntime` is what the KServe adapter (:mod:`.predictor`) wraps; it is usable
and testable on its own. It is ``ready`` only after :meth:`~VerifiedModelRuntime.load` verified
the signature, the attestation and the gate's approval, loaded the servable SavedModel and
probed it.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.serving.drift import DEFAULT_MIN_SAMPLES, DEFAULT_WINDOW, DriftMonitor
from kfp_mlsecops.serving.inference import DEFAULT_THREADS, LoadedModel, load_for_serving
from kfp_mlsecops.serving.metrics import ServingMetrics
from kfp_mlsecops.serving.payload import InputSpec
from kfp_mlsecops.serving.signals import SignalWorker
from kfp_mlsecops.serving.squeeze_carry import DEFAULT_CARRY_ROWS, SqueezeCarry
from kfp_mlsecops.serving.verification import StagedModel, VerificationPolicy, stage_verified_model
from kfp_mlsecops.training.reference_stats import ReferenceStats, load_reference_stats
from kfp_mlsecops.training.squeezing import DEFAULT_BITS, DEFAULT_THRESHOLD, FeatureSqueezer

__all__ = ["MonitorSettings", "VerifiedModelRuntime"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorSettings:
    """Drift and feature-squeezing settings; ``None`` squeeze values come from the model.

    Squeezing settings are taken, in order, from these fields, the ``squeezing`` object in the
    model's ``reference_stats.json`` (calibrated at training time), then the defaults.
    """

    drift_window: int = DEFAULT_WINDOW
    drift_min_samples: int = DEFAULT_MIN_SAMPLES
    #: Squeeze one instance in every ``squeeze_every`` (1 = all). Each squeezed instance costs one
    #: more model row per squeezer (see ``squeeze_carry_rows``); with N > 1 the
    #: suspected-adversarial counter is a sample (rate = suspected / mlsecops_squeeze_score_count).
    squeeze_every: int = 1
    #: Squeezed rows predicted together, in the model call of the request that brings the
    #: waiting rows to this many (1: each request predicts its own squeezed copies).
    squeeze_carry_rows: int = DEFAULT_CARRY_ROWS
    squeeze_bits: int | None = None
    squeeze_median_window: int | None = None
    squeeze_threshold: float | None = None
    #: TensorFlow intra/inter-op threads (None: TensorFlow's default, one per core).
    tf_threads: int | None = DEFAULT_THREADS


class VerifiedModelRuntime:
    """A model that is served only after it verified; see the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        model_dir: str | os.PathLike[str],
        policy: VerificationPolicy,
        settings: MonitorSettings | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name = name
        self.model_dir = Path(model_dir)
        self.policy = policy
        self.settings = settings or MonitorSettings()
        self.metrics = ServingMetrics(name, registry=registry)
        self._staged: StagedModel | None = None
        self._model: LoadedModel | None = None
        self._drift: DriftMonitor | None = None
        self._squeezer: FeatureSqueezer | None = None
        self._carry: SqueezeCarry | None = None
        self._signals: SignalWorker | None = None
        self._served = 0  # instances served so far (which ones to squeeze)
        self._count_lock = threading.Lock()
        for name in ("squeeze_every", "squeeze_carry_rows"):
            value = getattr(self.settings, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name}={value!r}: must be an integer >= 1")

    @property
    def ready(self) -> bool:
        """True once the model verified and loaded."""
        return self._model is not None

    @property
    def digest(self) -> str:
        """The verified model digest (VerificationError before :meth:`load`)."""
        if self._staged is None:
            raise VerificationError(f"model '{self.model_dir}': not verified yet; call load()")
        return self._staged.digest

    @property
    def spec(self) -> InputSpec:
        """The input contract of the loaded model."""
        return self._loaded().spec

    @property
    def n_classes(self) -> int:
        """Number of classes the loaded model predicts."""
        return self._loaded().n_classes

    @property
    def squeezer(self) -> FeatureSqueezer:
        """The feature squeezer in use."""
        if self._squeezer is None:
            raise VerificationError(f"model '{self.model_dir}': not loaded; call load()")
        return self._squeezer

    @property
    def drift_enabled(self) -> bool:
        """Whether the model carries reference statistics (else no drift score is exported)."""
        return self._drift is not None

    def load(self) -> None:
        """Verify a private copy of the model, then load it; raise and stay unready on failure."""
        self.close()
        staged = stage_verified_model(self.model_dir, self.policy)
        try:
            model = load_for_serving(
                staged.path,
                input_range=staged.input_range,
                model_output=staged.model_output,
                threads=self.settings.tf_threads,
            )
            stats = self._reference_stats(staged.path, model.spec)
            self._drift = (
                None
                if stats is None
                else DriftMonitor(
                    stats,
                    window=self.settings.drift_window,
                    min_samples=self.settings.drift_min_samples,
                )
            )
            self._squeezer = self._build_squeezer(model.spec, stats)
            self._carry = SqueezeCarry(
                self._squeezer,
                min_rows=self.settings.squeeze_carry_rows,
                on_lost=self.metrics.record_squeeze_skipped,
            )
            self._signals = SignalWorker(
                carry=self._carry, predict=model.predict, drift=self._drift, metrics=self.metrics
            )
        except BaseException:
            staged.cleanup()
            raise
        self._staged = staged
        self.metrics.set_model_digest(staged.digest)
        self._model = model

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Return probabilities for a checked float32 batch; count them, queue the signals.

        One model call per request: the batch, plus (when due) the squeezed copies of recent
        instances carried into it (:mod:`.squeeze_carry`). The squeeze scores, the drift window
        and their metrics are computed and recorded by a background worker (see
        :mod:`.signals`); call :meth:`flush` to wait for them. Predictions are counted here.
        """
        model = self._loaded()
        carry = self._carry
        if carry is None:
            raise VerificationError(f"model '{self.model_dir}': not verified and loaded")
        probabilities, scored = carry.predict(
            model.predict, batch, self._rows_to_squeeze(len(batch))
        )
        self.metrics.record_predictions(probabilities.argmax(axis=1))
        if self._signals is not None:
            self._signals.submit(batch, scored)
        return probabilities

    def _rows_to_squeeze(self, n: int) -> np.ndarray | None:
        """Rows of the next ``n`` served instances to squeeze (one in ``squeeze_every``).

        None means every row (the default, without an index copy); an empty array means none.
        """
        every = self.settings.squeeze_every
        if every == 1:
            return None
        with self._count_lock:
            first = (-self._served) % every
            self._served += n
        return np.arange(first, n, every)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the runtime signals of every served instance are recorded."""
        return True if self._signals is None else self._signals.flush(timeout)

    def close(self) -> None:
        """Forget the model, stop the signal worker, delete the private copy (idempotent)."""
        self._model = None
        self._carry = None
        if self._signals is not None:
            self._signals.close()
            self._signals = None
        if self._staged is not None:
            self._staged.cleanup()
            self._staged = None

    def _loaded(self) -> LoadedModel:
        if self._model is None:
            raise VerificationError(f"model '{self.model_dir}': not verified and loaded")
        return self._model

    def _reference_stats(self, folder: Path, spec: InputSpec) -> ReferenceStats | None:
        path = folder / C.REFERENCE_STATS_FILE
        if not path.exists():
            _log.warning(
                "model '%s' has no %s; the input-drift score is not exported (retrain to add it)",
                self.model_dir,
                C.REFERENCE_STATS_FILE,
            )
            return None
        stats = load_reference_stats(path)
        if stats.feature_shape != spec.shape:
            raise InvalidInputError(
                f"reference stats in '{self.model_dir}': feature_shape {stats.feature_shape} "
                f"does not match the model input {spec.shape}; retrain to rewrite them"
            )
        return stats

    def _build_squeezer(self, spec: InputSpec, stats: ReferenceStats | None) -> FeatureSqueezer:
        saved = (stats.squeezing if stats is not None else None) or {}
        where = f"reference stats in '{self.model_dir}'"
        if saved:
            base = FeatureSqueezer.from_settings(
                saved, lower=spec.lower, upper=spec.upper, where=where
            )
        else:
            base = FeatureSqueezer(lower=spec.lower, upper=spec.upper)
        s = self.settings
        bits = base.bits if s.squeeze_bits is None else s.squeeze_bits
        median = base.median_window if s.squeeze_median_window is None else s.squeeze_median_window
        threshold = base.threshold if s.squeeze_threshold is None else s.squeeze_threshold
        if not saved and s.squeeze_threshold is None:
            _log.warning(
                "model '%s': no calibrated squeezing threshold; using %s with %s bits "
                "(retrain with train_model, which calibrates it, or pass --squeeze-threshold)",
                self.model_dir,
                DEFAULT_THRESHOLD,
                DEFAULT_BITS,
            )
        if median and len(spec.shape) != 3:
            raise InvalidInputError(
                f"model '{self.model_dir}': median squeezing needs image inputs (H, W, C), the "
                f"model takes {spec.shape}; turn it off"
            )
        return FeatureSqueezer(
            lower=spec.lower,
            upper=spec.upper,
            bits=bits,
            median_window=median,
            threshold=threshold,
        )
