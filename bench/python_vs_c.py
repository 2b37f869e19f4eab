"""The Python counter (examples/counter_py, a component) next to the C counter (examples/counter),
same client, same run; prints a table.

For each language a node runs as a subprocess (fresh data dir, fsync on) with the counter
deployed under the name "counter" through the admin API, and the scenarios of node_vs_floor.py
measure: sequential HTTP actions (p50/p99), resident memory per newly active actor, and, on a
second node with a short idle timeout, the first call to a sleeping actor (its wake: a new
instance and the wake turn). Targets (issue 5): Python wake p50 <= C + 4 ms; Python sequential
p50 <= C + 1 ms; memory per active Python actor stated. ``--quick`` is the smoke run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import _scenarios as sc
from _common import run_event_loop
from node_vs_floor import LONG_IDLE_S, counter_wasm, measure, node_process

EXAMPLES = {"c": "counter", "python": "counter_py"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write JSON")
    p.add_argument("--seq-calls", type=int, default=2000, help="sequential calls")
    p.add_argument("--wake-actors", type=int, default=200, help="actors woken")
    p.add_argument("--wake-idle-s", type=float, default=0.5, help="idle_timeout_s of the wake node")
    p.add_argument("--rss-actors", type=int, default=200, help="actors activated for memory")
    p.add_argument("--max-seconds", type=float, default=120.0, help="bound per figure")
    args = p.parse_args(argv)
    args.no_fsync, args.commit_window_ms, args.encoding = False, None, "json"
    if args.quick:
        args.seq_calls, args.wake_actors, args.rss_actors = 30, 5, 10
        args.wake_idle_s, args.max_seconds = 0.3, 20.0
    return args


async def run_language(work: Path, language: str, args: argparse.Namespace) -> dict[str, Any]:
    wasm = await counter_wasm(work, EXAMPLES[language])
    limit = args.max_seconds
    figures = {
        "seq": lambda api, srv: sc.sequential_http(api, args.seq_calls, limit, language),
        "rss": lambda api, srv: sc.rss_per_actor(
            api, srv.pid, args.rss_actors, 10, limit, language
        ),
    }
    out = await measure(node_process(work, language, LONG_IDLE_S, args), figures, "json", wasm)
    wake = {
        "wake": lambda api, srv: sc.wake(api, args.wake_actors, args.wake_idle_s, limit, language)
    }
    woken = await measure(
        node_process(work, f"{language}-wake", args.wake_idle_s, args), wake, "json", wasm
    )
    out["wake"] = woken.get("wake", {})
    out["module_bytes"] = len(wasm)
    return out


def rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    c, py = results["c"], results["python"]

    def ms(side: dict[str, Any], figure: str, key: str) -> str:
        value = side.get(figure, {}).get(key)
        return f"{value:.3f} ms" if isinstance(value, float) else "-"

    def kib(side: dict[str, Any]) -> str:
        value = side.get("rss", {}).get("kib_per_actor")
        return f"{value:,.0f} KiB" if isinstance(value, float) else "-"

    def gap(figure: str, key: str, budget_ms: float) -> str:
        a, b = c.get(figure, {}).get(key), py.get(figure, {}).get(key)
        if not isinstance(a, float) or not isinstance(b, float):
            return "-"
        met = "met" if b - a <= budget_ms else "NOT met"
        return f"+{b - a:.3f} ms (target <= +{budget_ms:g} ms: {met})"

    def row(label: str, figure: str, key: str, budget_ms: float | None) -> tuple[str, ...]:
        verdict = gap(figure, key, budget_ms) if budget_ms is not None else ""
        return (label, ms(c, figure, key), ms(py, figure, key), verdict)

    return [
        row("wake of a sleeping actor, p50", "wake", "p50_ms", 4),
        row("wake, p99", "wake", "p99_ms", None),
        row("sequential action, p50", "seq", "p50_ms", 1),
        row("sequential action, p99", "seq", "p99_ms", None),
        ("memory per active actor (RSS)", kib(c), kib(py), "stated"),
        ("module size", f"{c['module_bytes']:,} B", f"{py['module_bytes']:,} B", ""),
    ]


def render(table: list[tuple[str, ...]]) -> str:
    head = ("figure", "C counter", "Python counter", "Python vs C")
    widths = [max(len(r[i]) for r in [head, *table]) for i in range(4)]
    lines = [
        " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in [head, *table]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="edgewise-bench-py-") as tmp:
        return {language: await run_language(Path(tmp), language, args) for language in EXAMPLES}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run_event_loop(run(args))
    print(render(rows(results)))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    failed = [
        lang
        for lang, side in results.items()
        for figure in ("seq", "rss", "wake")
        if side.get(figure, {}).get("errors")
    ]
    if failed:
        print(
            f"errors during the run ({', '.join(sorted(set(failed)))}); see --json", file=sys.stderr
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
