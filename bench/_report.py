"""The summary of the node-vs-floor benchmark: one row per figure, with its target.

A row compares the node's figure with the floor's in one of three ways: a difference
(latencies: node - floor, against an allowance in ms), a ratio (rates: node / floor, against a
minimum share) or an absolute limit (memory per actor). Missing figures show as "-".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Compare = Literal["diff", "ratio", "limit"]


@dataclass(frozen=True)
class Figure:
    label: str
    scenario: str
    metric: str
    count: str
    unit: str
    compare: Compare
    target: float | None
    """diff: most node - floor; ratio: least node / floor; limit: most node value."""


FIGURES = (
    Figure("(a) HTTP increment p50", "a", "p50_ms", "calls", "ms", "diff", 0.5),
    Figure("(a) HTTP increment p99", "a", "p99_ms", "calls", "ms", "diff", None),
    Figure("(b) WS clients acked/s", "b", "rate_per_s", "acked", "/s", "ratio", 0.5),
    Figure("(b) WS increment p50", "b", "p50_ms", "acked", "ms", "diff", None),
    Figure("(b) WS increment p99", "b", "p99_ms", "acked", "ms", "diff", None),
    Figure("(c) new actors/s (10 in flight)", "c", "rate_per_s", "created", "/s", "ratio", 0.4),
    Figure("(d) wake first call p50", "d", "p50_ms", "woken", "ms", "diff", 1.0),
    Figure("(d) wake first call p99", "d", "p99_ms", "woken", "ms", "diff", None),
    Figure("(e) RSS per active actor", "e", "kib_per_actor", "activated", "KiB", "limit", 100.0),
)


def _value(results: dict[str, Any], server: str, scenario: str, key: str) -> float | None:
    value = results.get(server, {}).get(scenario, {}).get(key)
    if isinstance(value, int | float) and not math.isnan(value):
        return float(value)
    return None


def _target_text(fig: Figure) -> str:
    if fig.target is None:
        return ""
    if fig.compare == "diff":
        return f"<= floor + {fig.target:g} {fig.unit}"
    if fig.compare == "ratio":
        return f">= {fig.target:.0%} of floor"
    return f"<= {fig.target:g} {fig.unit}"


def _compare(fig: Figure, node: float | None, floor: float | None) -> tuple[str, bool | None]:
    if fig.compare == "limit":
        met = None if node is None or fig.target is None else node <= fig.target
        return ("" if node is None or floor is None else f"{node - floor:+.1f} {fig.unit}"), met
    if node is None or floor is None:
        return "", None
    if fig.compare == "diff":
        met = None if fig.target is None else node - floor <= fig.target
        return f"{node - floor:+.3f} {fig.unit}", met
    if floor == 0:
        return "", None
    share = node / floor
    return f"{share:.0%}", None if fig.target is None else share >= fig.target


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for fig in FIGURES:
        node = _value(results, "node", fig.scenario, fig.metric)
        floor = _value(results, "floor", fig.scenario, fig.metric)
        comparison, met = _compare(fig, node, floor)
        rows.append(
            {
                "figure": fig.label,
                "unit": fig.unit,
                "node": node,
                "floor": floor,
                "node_n": _value(results, "node", fig.scenario, fig.count),
                "floor_n": _value(results, "floor", fig.scenario, fig.count),
                "node_vs_floor": comparison,
                "target": _target_text(fig),
                "met": met,
            }
        )
    return rows


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def _count(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def render_table(rows: list[dict[str, Any]]) -> str:
    header = ("figure", "unit", "node", "floor", "n node/floor", "node vs floor", "target", "met")
    lines = [header]
    for row in rows:
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        counts = f"{_count(row['node_n'])}/{_count(row['floor_n'])}"
        lines.append(
            (
                row["figure"],
                row["unit"],
                _number(row["node"]),
                _number(row["floor"]),
                counts,
                row["node_vs_floor"] or "-",
                row["target"] or "-",
                met,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)
