"""What a compliance check is: a function of the run's evidence that returns an Outcome.

A check reads evidence files through :class:`CheckContext` (which records every file read, so
the report names the evidence behind each verdict) and returns an :class:`Outcome`. It may
raise: :class:`NotRun` when an input it needs was not given (e.g. no public key, no ``--run``
for a run control, no ``--namespace`` for a cluster control), anything else fails the control
(fail closed, never skipped).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from kfp_mlsecops.errors import InvalidInputError

if TYPE_CHECKING:
    from kfp_mlsecops.compliance.cluster import Cluster
    from kfp_mlsecops.compliance.profile import Control

__all__ = [
    "FAILED",
    "NOT_RUN",
    "PASSED",
    "MODEL_DIR",
    "RESULTS",
    "CheckContext",
    "CheckFamily",
    "CheckFn",
    "Finding",
    "NotRun",
    "Outcome",
    "RunFolder",
]

PASSED = "passed"
FAILED = "failed"
NOT_RUN = "not_run"

#: Where a local run keeps each piece of evidence (task folder / artifact), first match wins.
MODEL_DIR = ("train/model", "import-model/model")
RESULTS = ("merge-attack-results/results", "attack-test/results")

#: Pipeline roots a local run writes (``mlsecops run --output-dir D`` -> D/run-*/pipeline-root/).
_PIPELINES = ("secure-training", "secure-release")


class NotRun(Exception):  # noqa: N818 - a signal, not an error: the control is reported as not run
    """Raised by a check that cannot run without an input the user did not give."""


@dataclass(frozen=True)
class Finding:
    """One sub-result of a check, e.g. one gate control inside the gate's decision."""

    id: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Outcome:
    """What a check concluded: ``status`` (passed, failed, not_run) and why."""

    status: str
    detail: str
    findings: tuple[Finding, ...] = ()

    @classmethod
    def of(cls, passed: bool, detail: str, findings: tuple[Finding, ...] = ()) -> Outcome:
        """Return a passed or failed outcome."""
        return cls(PASSED if passed else FAILED, detail, findings)


@dataclass(frozen=True)
class RunFolder:
    """A local run folder: ``run_dir`` as given and ``task_root`` holding one folder per task."""

    run_dir: Path
    task_root: Path

    @classmethod
    def locate(cls, path: str | os.PathLike[str]) -> RunFolder:
        """Find the task folders under a run folder, its ``pipeline-root`` or a task root.

        Args:
            path: ``D/run-*`` as ``mlsecops run --output-dir D`` wrote it, its ``pipeline-root``
                or the ``<pipeline>-<time>`` folder inside.

        """
        root = Path(path)
        if not root.is_dir():
            raise InvalidInputError(f"--run '{root}': not a folder; pass a run-* folder")
        if (root / "gate").is_dir() or (root / "validate-data").is_dir():
            return cls(root, root)
        base = root / "pipeline-root" if (root / "pipeline-root").is_dir() else root
        found = sorted(p for name in _PIPELINES for p in base.glob(f"{name}-*") if p.is_dir())
        if len(found) != 1:
            what = "no pipeline run" if not found else f"{len(found)} pipeline runs"
            raise InvalidInputError(
                f"--run '{root}': {what} under it; pass one run-* folder of 'mlsecops run'"
            )
        return cls(root, found[0])


@dataclass
class CheckContext:
    """The evidence and options a check may use; records which files each check read.

    Args:
        run: the run folder (None: run controls are not run).
        cluster: the namespace to check through the Kubernetes API (None: cluster controls are
            not run).
        public_key: the model signer's public key (None: signature checks are not run).
        threat_model: the threat model file (None: looked for in the run folder, then here).
        today: the date waivers are judged on.

    """

    run: RunFolder | None = None
    cluster: Cluster | None = None
    public_key: Path | None = None
    threat_model: Path | None = None
    today: date = field(default_factory=date.today)
    read: list[str] = field(default_factory=list)
    _cache: dict[str, object] = field(default_factory=dict)

    def run_folder(self) -> RunFolder:
        """Return the run folder; NotRun when no ``--run`` was given (the control is not run)."""
        if self.run is None:
            raise NotRun("no --run given: this control reads a run folder; pass --run DIR")
        return self.run

    def cluster_namespace(self) -> Cluster:
        """Return the cluster namespace; NotRun when no ``--namespace`` was given."""
        if self.cluster is None:
            raise NotRun(
                "no --namespace given: this control reads a cluster namespace; pass --namespace NS"
            )
        return self.cluster

    def evidence(self, *candidates: str) -> Path:
        """Return the first existing ``task_root/candidate`` and record it as read.

        Raises FileNotFoundError naming the expected path when none exists (the control fails)
        and NotRun without a run folder.
        """
        run = self.run_folder()
        for name in candidates:
            path = run.task_root / name
            if path.exists():
                self.note(path)
                return path
        expected = run.task_root / candidates[0]
        self.note(expected)
        raise FileNotFoundError(f"evidence '{expected}' is missing; did the step run?")

    def note(self, path: Path | str) -> None:
        """Record ``path`` as evidence of the current control (relative to the task root).

        A string is recorded as given (e.g. ``k8s:NS/inferenceservices.serving.kserve.io``).
        """
        text = str(path)
        if isinstance(path, Path) and self.run is not None:
            with contextlib.suppress(ValueError):
                text = str(path.relative_to(self.run.task_root))
        if text not in self.read:
            self.read.append(text)

    def cached(self, key: str, compute: Callable[[], object]) -> object:
        """Return ``compute()`` once per context (e.g. the verified model digest)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


CheckFn = Callable[[CheckContext, "Control"], Outcome]


@dataclass(frozen=True)
class CheckFamily:
    """One family of checks (one module), registered by name; ``checks`` by check name."""

    name: str
    description: str
    checks: Mapping[str, CheckFn]
