"""The plan of a program built from the components against a raw ``pulumi_aws`` program with the
same resources, both under the same mocks, in one process, interleaved (median of ``runs``).

The generated program holds ``units`` copies of a PriorityQueuePair and a ResilientFunction. Its
raw twin registers each resource the first one captured, with the same type, name and inputs,
through the ``pulumi_aws`` class of its type token (no components, no parents). The plan is what
``resilient-serverless plan`` does after importing: run the program, check the rules, build the
plan document and the capacity and cost tables.

    .venv/bin/python -m bench.plan_overhead            # the rows
    .venv/bin/python -m bench.plan_overhead --profile  # where the component program's time goes

Where the difference sits (profile at 4,017 resources, once the graph was indexed): almost all of
it in running the program, in Pulumi's runtime resolving the components' outputs (about a hundred
event-loop callbacks a resource: applies, ``Output.all``, the components' own registrations and
``register_outputs``) and in the one garbage collection after the run, which has more objects to
walk; the components' own code (validation, handler checks, naming) is a few per cent, and the
rules and the plan document well under a second.
"""

from __future__ import annotations

import functools
import importlib
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "consumers" / "priority_queue_pair" / "src"
TOKEN = re.compile(r"^aws:([A-Za-z0-9]+)/[^:]+:(\w+)$")


def component_program(units: int) -> Callable[[], None]:
    def program() -> None:
        from resilient_serverless.components import PriorityQueuePair, ResilientFunction, package_function

        code = package_function(str(SOURCE), handlers=["ingest.lambda_handler"])
        for i in range(units):
            PriorityQueuePair(
                f"inbox-{i}",
                {"handler": "ingest.lambda_handler", "code": code, "consumer": {"timeout": 10}, "defer_after_s": 60},
            )
            ResilientFunction(f"api-{i}", {"handler": "ingest.lambda_handler", "code": code, "timeout": 10})

    return program


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


@functools.cache
def _class_of(token: str) -> Any:
    match = TOKEN.match(token)
    if match is None:
        return None
    module, name = match.groups()
    for candidate in (f"pulumi_aws.{module}", f"pulumi_aws.{module}_"):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    return None


def raw_program(graph: Any) -> Callable[[], None]:
    """The same resources as ``graph``'s, registered one by one through ``pulumi_aws``."""
    import pulumi

    resources = [r for r in graph if r.custom]

    def program() -> None:
        for r in resources:
            cls = _class_of(r.type)
            if cls is None:
                pulumi.CustomResource(r.type, r.name, dict(r.inputs))
            else:
                cls(r.name, **{_snake(k): v for k, v in r.inputs.items()})

    return program


def plan_of(program: Callable[[], None]) -> tuple[float, Any]:
    """Seconds for the plan of ``program`` (run, rules, plan document, tables) and its graph."""
    from resilient_serverless.components import rules
    from resilient_serverless.components.offline import run_program
    from resilient_serverless.components.plan import build_plan
    from resilient_serverless.components.plan.report import operations_report

    start = time.perf_counter()
    graph = run_program(program, project="bench", stack="bench")
    build_plan(graph, rules.check(graph, graph.waivers))
    operations_report(graph, "us-east-1")
    return time.perf_counter() - start, graph


def compare(units: int, runs: int) -> tuple[int, float, float]:
    """(resources, median seconds of the component program's plan, of the raw program's)."""
    ours = component_program(units)
    _, graph = plan_of(ours)  # warm-up: imports, the package build, caches
    raw = raw_program(graph)
    plan_of(raw)
    ours_s, raw_s = [], []
    for _ in range(runs):
        ours_s.append(plan_of(ours)[0])
        raw_s.append(plan_of(raw)[0])
    return sum(1 for r in graph if r.custom), statistics.median(ours_s), statistics.median(raw_s)


def plan_overhead_rows(row: Any, sizes: tuple[tuple[int, int], ...] = ((8, 5), (103, 2))) -> list[Any]:
    """``(units, runs)`` per size: a unit is 39 resources, so 8 units make 312 and 103 make 4,017."""
    rows = []
    for units, runs in sizes:
        resources, ours, raw = compare(units, runs)
        ratio = ours / raw
        rows.append(
            row(
                f"plan of {resources} resources from components vs raw pulumi_aws (in-process, median of {runs})",
                f"{ours:.2f} s vs {raw:.2f} s = {ratio:.2f}x",
                "<= 1.1x",
                ratio <= 1.1,
            )
        )
    return rows


def _profile(units: int) -> None:
    import cProfile
    import pstats

    ours = component_program(units)
    plan_of(ours)
    profiler = cProfile.Profile()
    profiler.enable()
    plan_of(ours)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    if "--profile" in sys.argv:
        _profile(int(sys.argv[-1]) if sys.argv[-1].isdigit() else 103)
    else:
        from bench.__main__ import Row

        for r in plan_overhead_rows(Row):
            print(f"{r.figure}: {r.measured} (target {r.target})")
