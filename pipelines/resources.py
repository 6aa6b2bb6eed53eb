"""CPU, memory and accelerator requests and limits per step, chosen at compile time.

A :class:`ResourcePlan` holds what every step gets plus per-step overrides; the pipeline factories
apply it with KFP's own task methods (``set_cpu_request``, ``set_accelerator_type``, ...) once
their tasks exist. Steps are the task names of the compiled YAML (``train``, ``attack-test``, ...;
every shard of a step gets the step's values). Without a plan nothing is set: the committed YAML
carries no resources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from kfp.dsl import pipeline_context, utils

from kfp_mlsecops import components as _components
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["STEP_NAMES", "ResourcePlan", "StepResources", "apply_resources", "plan_from_options"]

#: The steps a plan can name: each component's task name in the compiled YAML.
STEP_NAMES = tuple(
    sorted(
        utils.maybe_rename_for_k8s(getattr(_components, name).component_spec.name)
        for name in _components.__all__
    )
)

_CPU = re.compile(r"[0-9]+m|[0-9]+(?:\.[0-9]+)?")
_MEMORY = re.compile(r"([0-9]+)([KMGTPE]i?)?")
_POWERS = {"K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
# A Kubernetes extended resource name: the KFP backend puts it in the container's limits as is.
_ACCELERATOR = re.compile(
    r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
)


def _cores(value: str, label: str) -> float:
    """Return ``value`` in cores; raise unless it is a positive CPU quantity."""
    if not isinstance(value, str) or not _CPU.fullmatch(value) or float(value.strip("m")) == 0:
        raise InvalidInputError(
            f"{label}: {value!r} is not a CPU quantity; use cores (2, 0.5) or millicores "
            "(500m), above 0"
        )
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


def _bytes(value: str, label: str) -> int:
    """Return ``value`` in bytes; raise unless it is a positive memory quantity."""
    match = _MEMORY.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[1]) == 0:
        raise InvalidInputError(
            f"{label}: {value!r} is not a memory quantity; use a whole number above 0 with "
            "a suffix (512Mi, 4Gi, 2G; Ki Mi Gi Ti Pi Ei or K M G T P E)"
        )
    suffix = match[2] or ""
    base = 1024 if suffix.endswith("i") else 1000
    return int(match[1]) * base ** _POWERS.get(suffix[:1], 0)


def _accelerator(value: str, label: str) -> None:
    if not _ACCELERATOR.fullmatch(value):
        raise InvalidInputError(
            f"{label}: {value!r} is not an accelerator resource; use vendor/name, "
            "e.g. nvidia.com/gpu or amd.com/gpu"
        )


def _count(value: int, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{label}: {value!r} is not a count; use a whole number >= 1")


@dataclass(frozen=True)
class StepResources:
    """Requests, limits and accelerator of one step; ``None`` leaves the cluster's default.

    Args:
        cpu_request: cores (``"2"``, ``"0.5"``) or millicores (``"500m"``).
        cpu_limit: as ``cpu_request``, not below it.
        memory_request: a whole number with an optional suffix (``"512Mi"``, ``"4Gi"``, ``"2G"``).
        memory_limit: as ``memory_request``, not below it.
        accelerator_type: a Kubernetes extended resource, ``vendor/name`` (``"nvidia.com/gpu"``).
        accelerator_count: how many (>= 1; needs ``accelerator_type``, which alone means 1).

    """

    cpu_request: str | None = None
    cpu_limit: str | None = None
    memory_request: str | None = None
    memory_limit: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int | None = None

    def __post_init__(self) -> None:
        cpu = [None if v is None else _cores(v, n) for n, v in self._pair("cpu")]
        memory = [None if v is None else _bytes(v, n) for n, v in self._pair("memory")]
        for kind, (request, limit) in (("cpu", cpu), ("memory", memory)):
            if request is not None and limit is not None and request > limit:
                raise InvalidInputError(
                    f"{kind} request {getattr(self, f'{kind}_request')} exceeds the {kind} limit "
                    f"{getattr(self, f'{kind}_limit')}; lower the request or raise the limit"
                )
        if self.accelerator_type is not None:
            _accelerator(self.accelerator_type, "accelerator_type")
        if self.accelerator_count is not None:
            _count(self.accelerator_count, "accelerator_count")
            if self.accelerator_type is None:
                raise InvalidInputError(
                    "accelerator_count needs accelerator_type: name the resource, "
                    "e.g. nvidia.com/gpu"
                )

    def _pair(self, kind: str) -> list[tuple[str, str | None]]:
        names = (f"{kind}_request", f"{kind}_limit")
        return [(name, getattr(self, name)) for name in names]

    def apply(self, task: Any) -> None:
        """Set the given values on a KFP ``PipelineTask`` with its own methods."""
        setters = {
            "cpu_request": task.set_cpu_request,
            "cpu_limit": task.set_cpu_limit,
            "memory_request": task.set_memory_request,
            "memory_limit": task.set_memory_limit,
        }
        for name, setter in setters.items():
            if getattr(self, name) is not None:
                setter(getattr(self, name))
        if self.accelerator_type is not None:
            task.set_accelerator_type(self.accelerator_type)
            task.set_accelerator_limit(self.accelerator_count or 1)


@dataclass(frozen=True)
class ResourcePlan:
    """What every step gets, and per-step overrides on top of it, field by field.

    Args:
        default: every step's resources.
        steps: step name (one of :data:`STEP_NAMES`) -> its own values; a field left ``None``
            keeps ``default``'s.

    """

    default: StepResources = field(default_factory=StepResources)
    steps: Mapping[str, StepResources] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.steps) - set(STEP_NAMES))
        if unknown:
            raise InvalidInputError(
                f"step {unknown[0]!r} is unknown; use one of {', '.join(STEP_NAMES)}"
            )
        object.__setattr__(self, "steps", MappingProxyType(dict(self.steps)))
        for step in self.steps:
            self.for_step(step)  # a merged request must not exceed its limit either

    def for_step(self, step: str) -> StepResources:
        """Return ``step``'s resources: the default with the step's own values on top."""
        own = self.steps.get(step)
        if own is None:
            return self.default
        values = {f.name: getattr(own, f.name) for f in fields(own)}
        try:
            return replace(self.default, **{k: v for k, v in values.items() if v is not None})
        except InvalidInputError as e:
            raise InvalidInputError(f"step {step}: {e}") from None


def apply_resources(plan: ResourcePlan | None, pipeline_name: str) -> None:
    """Apply ``plan`` to every task of the pipeline being built; call it at the body's end.

    Importers (no container) are skipped. A step the plan names that ``pipeline_name`` does
    not run is an error (``train`` is not in secure-release, ``import-model`` only there).
    """
    if plan is None:
        return
    pipeline = pipeline_context.Pipeline.get_default_pipeline()
    if pipeline is None:
        raise InvalidInputError("apply_resources runs inside a @dsl.pipeline body only")
    present = set()
    for task in pipeline.tasks.values():
        if task.container_spec is None:
            continue
        step = utils.maybe_rename_for_k8s(task.component_spec.name)
        present.add(step)
        plan.for_step(step).apply(task)
    absent = sorted(set(plan.steps) - present)
    if absent:
        raise InvalidInputError(
            f"step {absent[0]!r} is not in {pipeline_name}; its steps: {', '.join(sorted(present))}"
        )


_QUANTITY_FLAGS = {
    "cpu_request": "--cpu-request",
    "cpu_limit": "--cpu-limit",
    "memory_request": "--memory-request",
    "memory_limit": "--memory-limit",
}


def plan_from_options(
    *,
    cpu_request: Sequence[str] = (),
    cpu_limit: Sequence[str] = (),
    memory_request: Sequence[str] = (),
    memory_limit: Sequence[str] = (),
    accelerator: str | None = None,
    accelerator_steps: str | None = None,
) -> ResourcePlan | None:
    """Build the plan ``mlsecops compile`` flags describe; None when no flag is given.

    Args:
        cpu_request: each ``VALUE`` (every step) or ``STEP=VALUE`` (that step, over VALUE).
        cpu_limit: as ``cpu_request``.
        memory_request: as ``cpu_request``.
        memory_limit: as ``cpu_request``.
        accelerator: ``TYPE[:COUNT]``, e.g. ``nvidia.com/gpu:1`` (COUNT defaults to 1).
        accelerator_steps: comma-separated steps that get ``accelerator`` (required with it).

    """
    given = {"cpu_request": cpu_request, "cpu_limit": cpu_limit}
    given |= {"memory_request": memory_request, "memory_limit": memory_limit}
    if not any(given.values()) and accelerator is None and accelerator_steps is None:
        return None
    default: dict[str, Any] = {}
    steps: dict[str, dict[str, Any]] = {}
    for name, texts in given.items():
        flag = _QUANTITY_FLAGS[name]
        for text in texts:
            step, _, value = text.rpartition("=")
            label = f"{flag} {text!r}"
            (_cores if name.startswith("cpu") else _bytes)(value, label)
            target = steps.setdefault(_step(step, label), {}) if step else default
            if name in target:
                raise InvalidInputError(
                    f"{label}: {step or 'every step'} has a value already; give one each"
                )
            target[name] = value
    if (accelerator is None) != (accelerator_steps is None):
        raise InvalidInputError(
            "--accelerator and --accelerator-steps go together: give both, "
            "e.g. --accelerator nvidia.com/gpu:1 --accelerator-steps train,attack-test"
        )
    if accelerator is not None and accelerator_steps is not None:
        kind, count = _parse_accelerator(accelerator)
        label = f"--accelerator-steps {accelerator_steps!r}"
        names = [part.strip() for part in accelerator_steps.split(",") if part.strip()]
        if not names:
            raise InvalidInputError(f"{label}: name at least one step, e.g. train,attack-test")
        for step in names:
            own = steps.setdefault(_step(step, label), {})
            own |= {"accelerator_type": kind, "accelerator_count": count}
    return ResourcePlan(
        default=StepResources(**default),
        steps={step: StepResources(**values) for step, values in steps.items()},
    )


def _step(step: str, label: str) -> str:
    if step not in STEP_NAMES:
        raise InvalidInputError(
            f"{label}: {step!r} is not a step; use one of {', '.join(STEP_NAMES)}"
        )
    return step


def _parse_accelerator(text: str) -> tuple[str, int]:
    label = f"--accelerator {text!r}"
    kind, sep, count = text.partition(":")
    _accelerator(kind, label)
    if not sep:
        return kind, 1
    if not re.fullmatch(r"[0-9]+", count) or int(count) < 1:
        raise InvalidInputError(f"{label}: {count!r} is not a count; use TYPE:N with N >= 1")
    return kind, int(count)
