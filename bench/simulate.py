"""Bench rows for the overload simulation (components/simulate; see bench/__main__.py): prod's
goodput / capacity at 2x, 5x and 10x its capacity beside its naive baseline, and the run time of
a 10-minute simulated spike (one core)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (2, 5, 10)
RUN_S = 120  # seconds of constant load per level: long past the burst allowance


def simulate_rows(row: Any) -> list[Any]:
    from resilient_serverless.components.offline import run_stack
    from resilient_serverless.components.simulate import parse_load, simulate

    graph = run_stack("prod", ROOT)
    rows = []
    for level in LEVELS:
        doc = simulate(graph, parse_load(f"rate:{level}x", RUN_S), region="eu-west-1", baseline="naive", series=False)
        ours, naive = doc["goodput_per_capacity"], doc["naive"]["goodput_per_capacity"]
        rows.append(
            row(
                f"simulate prod at {level}x capacity, {RUN_S} s: goodput / capacity (naive)",
                f"{ours:.2f} ({naive:.2f})",
                ">= 0.95, above naive",
                ours >= 0.95 and ours > naive,
            )
        )
    start = time.perf_counter()
    simulate(graph, parse_load("spike:10x:60s", 600), region="eu-west-1", baseline="naive")
    seconds = time.perf_counter() - start
    rows.append(
        row(
            "simulate prod, 10-minute spike:10x:60s, stack + naive (run time)",
            f"{seconds:.1f} s",
            "< 10 s",
            seconds < 10,
        )
    )
    return rows


if __name__ == "__main__":
    from bench.__main__ import Row

    for r in simulate_rows(Row):
        print(r)
