"""Read metric names out of PromQL expressions and Grafana dashboards (test helper).

PromQL has no nested label matchers, so a small scanner is enough: drop strings, ``{...}``
matchers, ``[...]`` ranges, grouping clauses and numbers; what is left that is not a keyword and
not followed by ``(`` is a metric name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NUMBER = re.compile(r"(?<![A-Za-z_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[smhdwy]?\b")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan", "atan2"}
)
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$", re.S)


def metric_names(expr: str) -> set[str]:
    """Return the metric names an expression reads."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        rest = text[match.end() :].lstrip()
        if match.group() in _KEYWORDS or rest.startswith("("):
            continue
        names.add(match.group())
    return names


def dashboard_expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    """Yield every PromQL expression of a dashboard: panel targets and variable queries."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            yield target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]
        query = query["query"] if isinstance(query, dict) else query
        match = _LABEL_VALUES.match(query)
        yield match.group(1) if match else query


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana variables with values Prometheus accepts (for syntax checks)."""
    return (
        expr.replace("$__rate_interval", "1m")
        .replace("$pipeline", "secure-training")
        .replace("$namespace", "models")
        .replace("$model", "digits")
    )
