"""Record a pipeline step: time it, note success or failure, read its artifacts, push the metrics.

Metrics never change what a step does: :func:`record_step` re-raises the step's own exception
unchanged, and every problem of its own (unreadable artifact, bad grouping key, unreachable
Pushgateway) becomes one warning line on stderr (logger ``kfp_mlsecops.monitoring``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.monitoring import names as n
from kfp_mlsecops.monitoring.artifacts import ARTIFACT_READERS
from kfp_mlsecops.monitoring.push import DEFAULT_TIMEOUT_S, push_samples, resolve_pushgateway
from kfp_mlsecops.monitoring.samples import Sample

__all__ = ["StepRecord", "record_step"]

_LOG = logging.getLogger("kfp_mlsecops.monitoring")
PathArg = str | os.PathLike[str]


class StepRecord:
    """What :func:`record_step` collects for one step; add your own samples with :meth:`add`."""

    def __init__(self, component: str, *, gateway: str | None) -> None:
        self.component = component
        #: The Pushgateway URL in use, or None when pushing is off.
        self.gateway = gateway
        #: True once the push succeeded.
        self.pushed = False
        #: One line per problem met while recording (each was also logged).
        self.problems: list[str] = []
        self._samples: list[Sample] = []

    @property
    def samples(self) -> tuple[Sample, ...]:
        """Every sample recorded so far (after the step: including duration and success)."""
        return tuple(self._samples)

    def add(self, samples: Sample | Iterable[Sample]) -> None:
        """Record one sample or several; they are pushed when the step ends."""
        self._samples.extend([samples] if isinstance(samples, Sample) else samples)

    def _problem(self, text: str) -> None:
        line = " ".join(f"mlsecops metrics ({self.component}): {text}".split())
        self.problems.append(line)
        _LOG.warning("%s", line)


@contextmanager
def record_step(
    component: str,
    *,
    pipeline: str,
    run_id: str,
    pushgateway: str | None = None,
    artifacts: Mapping[str, PathArg] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Iterator[StepRecord]:
    """Time the ``with`` body as step ``component`` and push its metrics when it ends.

    ``pushgateway`` is the Pushgateway URL; None reads ``$MLSECOPS_PUSHGATEWAY_URL``; empty
    (either way) means record without pushing. ``artifacts`` maps an artifact kind
    (``names.ARTIFACT_KINDS``: validation_report, robustness_results, gate_decision) to the file
    the body writes; each is read when the body ends, even when it raised (the gate writes its
    decision before raising). The push replaces the Pushgateway group (job, ``pipeline``,
    ``run_id``, ``component``) with ``mlsecops_step_duration_seconds``, ``mlsecops_step_success``
    (0 when the body raised), ``mlsecops_step_end_timestamp_seconds``, the artifact samples and
    whatever the body added with ``StepRecord.add``. Nothing here raises: the body's exception
    propagates unchanged, and every recording problem is logged as one line.
    """
    record = StepRecord(component, gateway=resolve_pushgateway(pushgateway))
    sources = dict(artifacts or {})
    started = time.perf_counter()
    succeeded = False
    try:
        yield record
        succeeded = True
    finally:
        try:
            _finish(
                record,
                sources=sources,
                succeeded=succeeded,
                duration=time.perf_counter() - started,
                pipeline=pipeline,
                run_id=run_id,
                timeout=timeout,
            )
        except Exception as e:  # noqa: BLE001 - metrics must never change the step's outcome
            record._problem(f"metrics not recorded ({type(e).__name__}: {e})")


def _finish(
    record: StepRecord,
    *,
    sources: dict[str, PathArg],
    succeeded: bool,
    duration: float,
    pipeline: str,
    run_id: str,
    timeout: float,
) -> None:
    record.add(
        [
            Sample(n.STEP_DURATION_SECONDS, max(duration, 0.0)),
            Sample(n.STEP_SUCCESS, 1.0 if succeeded else 0.0),
            Sample(n.STEP_END_TIMESTAMP_SECONDS, time.time()),
        ]
    )
    for kind, path in sources.items():
        reader = ARTIFACT_READERS.get(kind)
        if reader is None:
            record._problem(f"unknown artifact kind {kind!r}; use one of {n.ARTIFACT_KINDS}")
            continue
        if not succeeded and not Path(path).exists():
            continue  # the step failed before writing it; its failure is the metric
        try:
            record.add(reader(path))
        except InvalidInputError as e:
            record._problem(f"{kind} not turned into metrics: {e}")
    if record.gateway is None:
        return
    try:
        push_samples(
            record.samples,
            gateway=record.gateway,
            pipeline=pipeline,
            run_id=run_id,
            component=record.component,
            timeout=timeout,
        )
    except Exception as e:  # noqa: BLE001 - a failed push is logged, never raised
        record._problem(f"push failed, step outcome unchanged: {e}")
        return
    record.pushed = True
