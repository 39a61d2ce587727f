"""``make bench``: figures with their targets, measured side by side in one run.

Rows: plan time per stack (whole process, median of 5); synthesis scaling (10, 100, 500
instances of a small component, seconds per resource); cold start of a handler on the library
against a bare boto3 floor and the idiomatic Powertools handler (fresh interpreters, Lambda's
environment with tracing on, init plus one invocation, interleaved, median of 9); the priority
consumer's AWS calls per 1000 deferred messages (moto, counted by botocore's event hook) and its
warm cost per message against a hand-written loop making the same calls (interleaved, median of 7),
overall and with 10%, 50% and 100% of the messages old enough to be deferred; the push notifier's
posts per second against a stubbed management endpoint, and its AWS calls per notified job
(bench/push.py); the job API's AWS calls per lifecycle (submit, 10 polls, result) and its
submit cold start against the floor; prod's goodput / capacity at 2x, 5x and 10x under simulation
beside its naive baseline, and the run time of a 10-minute simulated spike (bench/simulate.py);
the plan of a program built from the components against a raw pulumi_aws program with the same
resources, at about 300 and 4,000 resources (bench/plan_overhead.py).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Row:
    figure: str
    measured: str
    target: str
    met: bool | None  # None: a figure without a target of its own


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def plan_rows(stacks: tuple[str, ...] = ("dev", "staging", "prod", "local"), runs: int = 5) -> list[Row]:
    rows = []
    for stack in stacks:

        def once(stack: str = stack) -> float:
            start = time.perf_counter()
            subprocess.run(
                [BIN / "resilient-serverless", "plan", "--stack", stack, "--json"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            return time.perf_counter() - start

        seconds = median_of(runs, once)
        rows.append(
            Row(f"plan --stack {stack} (whole process, median of {runs})", f"{seconds:.2f} s", "< 5 s", seconds < 5)
        )
    return rows


def synthesis_rows(sizes: tuple[int, ...] = (10, 100, 500)) -> list[Row]:
    """Seconds per resource for n small components; flat means linear synthesis."""
    import pulumi_aws as aws
    from resilient_serverless.components.base import ResilientComponent
    from resilient_serverless.components.testing import run_program

    class Small(ResilientComponent):
        TRANSFORM_KEYS = ("queue", "dlq")

        def __init__(self, name: str) -> None:
            super().__init__(name)
            dlq = self._child("dlq", aws.sqs.Queue, "dlq", {"sqs_managed_sse_enabled": True})
            self._child(
                "queue",
                aws.sqs.Queue,
                "queue",
                {
                    "redrive_policy": dlq.arn.apply(
                        lambda arn: f'{{"deadLetterTargetArn": "{arn}", "maxReceiveCount": 5}}'
                    )
                },
            )
            self.register_outputs({})

    def seconds_per_resource(n: int) -> float:
        start = time.perf_counter()
        graph = run_program(lambda: [Small(f"s{i}") for i in range(n)], project="bench", stack="bench")
        return (time.perf_counter() - start) / len(graph)

    seconds_per_resource(10)  # warm imports and caches; not counted
    per_resource = {n: statistics.median(seconds_per_resource(n) for _ in range(3)) for n in sizes}
    spread = max(per_resource.values()) / min(per_resource.values())
    rows = [
        Row(
            f"synthesis, {n} components ({3 * n} resources, median of 3)",
            f"{per_resource[n] * 1000:.2f} ms/resource",
            "see below",
            None,
        )
        for n in sizes
    ]
    rows.append(Row("synthesis scaling: max / min ms per resource", f"{spread:.2f}x", "<= 1.5x", spread <= 1.5))
    return rows


LAMBDA_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
}


def cold_start_ms(module: str) -> float:
    from bench.tracing_and_packaging import cold_start_ms as measured

    return measured(module, LAMBDA_ENV)


def cold_start_rows(runs: int = 9) -> list[Row]:
    handlers = {
        "floor": "bench.coldstart.floor",
        "ours": "bench.coldstart.ours",
        "idiomatic": "bench.coldstart.idiomatic",
    }
    samples: dict[str, list[float]] = {k: [] for k in handlers}
    for name, module in handlers.items():  # warm the file cache once each; not counted
        cold_start_ms(module)
        del name
    for _ in range(runs):  # interleaved, so drift hits all three alike
        for name, module in handlers.items():
            samples[name].append(cold_start_ms(module))
    median = {k: statistics.median(v) for k, v in samples.items()}
    to_floor, to_idiomatic = median["ours"] / median["floor"], median["ours"] / median["idiomatic"]
    return [
        Row(f"cold start, floor: boto3 client only (median of {runs})", f"{median['floor']:.0f} ms", "-", None),
        Row(f"cold start, idiomatic Powertools (median of {runs})", f"{median['idiomatic']:.0f} ms", "-", None),
        Row(f"cold start, library handler (median of {runs})", f"{median['ours']:.0f} ms", "-", None),
        Row("cold start: library / floor", f"{to_floor:.2f}x", "<= 1.25x", to_floor <= 1.25),
        Row("cold start: library / idiomatic", f"{to_idiomatic:.2f}x", "<= 0.90x", to_idiomatic <= 0.90),
    ]


def queue_rows() -> list[Row]:
    from bench.queues import calls_per_1000_deferred, per_message_cost

    calls = calls_per_1000_deferred()
    ours, hand, ratio = per_message_cost()
    rows = [
        Row("AWS API calls per 1000 deferred messages", str(calls), "100 (batches of 10)", calls <= 100),
        Row("high consumer, warm cost per message (median of 9)", f"{ours:.1f} us", "-", None),
        Row("hand-written loop, same calls (median of 9)", f"{hand:.1f} us", "-", None),
        Row("high consumer / hand-written loop (median of paired rounds)", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5),
    ]
    # Deferral cost by share of old messages: the library's copy carries the first-enqueue time
    # and receive count and is split by bytes; the plain hand-written loop does neither, so the
    # last row compares with a loop that does that same work too.
    for share, every in ((10, 10), (50, 2), (100, 1)):
        ours, hand, ratio = per_message_cost(old_every=every)
        rows.append(
            Row(
                f"deferral at {share}% old: library / hand-written (us per message, median of 9)",
                f"{ours:.1f} / {hand:.1f} us = {ratio:.2f}x",
                "<= 1.5x",
                ratio <= 1.5,
            )
        )
    ours, hand, ratio = per_message_cost(old_every=1, carrying=True)
    rows.append(
        Row(
            "deferral at 100% old: library / hand-written carrying age and count, split by bytes",
            f"{ours:.1f} / {hand:.1f} us = {ratio:.2f}x",
            "<= 1.25x",
            ratio <= 1.25,
        )
    )
    return rows


def push_rows() -> list[Row]:
    from bench.push import ACCOUNT_RATE, calls_per_notified_job, posts_per_second

    cpu = posts_per_second(1000, 0.0)
    bounded = posts_per_second(400, 0.02, concurrency=8)
    serial = posts_per_second(100, 0.02, concurrency=1)
    calls = calls_per_notified_job()
    total = sum(calls.values())
    phases = ", ".join(f"{k} {v}" for k, v in calls.items())
    return [
        Row("notify: posts/s, stubbed endpoint, 0 ms, 8 in flight (median of 3)", f"{cpu:.0f}/s", "-", None),
        Row(
            "notify: posts/s, stubbed endpoint, 20 ms, 8 in flight (median of 3)",
            f"{bounded:.0f}/s ({bounded / ACCOUNT_RATE:.1%} of the {ACCOUNT_RATE} rps account rate)",
            "<= 400/s (8 in flight / 20 ms)",
            bounded <= 400,
        ),
        Row(
            "notify: 8 in flight / 1 in flight, 20 ms endpoint",
            f"{bounded / serial:.1f}x",
            ">= 4x",
            bounded / serial >= 4,
        ),
        Row(
            "AWS calls per notified job, 1 subscriber, connect to disconnect",
            f"{total} ({phases})",
            "< 20 (polling a 10 s job at 1/s: 10 GETs + 10 GetItems)",
            total < 20,
        ),
    ]


def job_rows(runs: int = 9) -> list[Row]:
    from bench.jobs import calls_per_lifecycle, workflow_calls_per_job

    plain, keyed = calls_per_lifecycle(False), calls_per_lifecycle(True)
    workflow = workflow_calls_per_job()
    samples: dict[str, list[float]] = {"floor": [], "submit": []}
    modules = {"floor": "bench.coldstart.floor", "submit": "bench.coldstart.jobs_submit"}
    for module in modules.values():
        cold_start_ms(module)  # warm the file cache; not counted
    for _ in range(runs):
        for name, module in modules.items():
            samples[name].append(cold_start_ms(module))
    floor, submit = statistics.median(samples["floor"]), statistics.median(samples["submit"])
    return [
        Row(
            "job API calls per lifecycle: submit + 10 polls + result",
            f"{sum(plain.values())} ({', '.join(f'{k} {v}' for k, v in sorted(plain.items()))})",
            "<= 13 (2 + 10 + 1)",
            sum(plain.values()) <= 13,
        ),
        Row(
            "  ... with an Idempotency-Key",
            f"{sum(keyed.values())} ({', '.join(f'{k} {v}' for k, v in sorted(keyed.items()))})",
            "<= 15 (+ in-progress and completed records)",
            sum(keyed.values()) <= 15,
        ),
        Row("workflow calls per job (success path)", ", ".join(f"{k} {v}" for k, v in workflow.items()), "-", None),
        Row(f"cold start, job submit handler (median of {runs})", f"{submit:.0f} ms", "-", None),
        Row("cold start: submit / floor", f"{submit / floor:.2f}x", "<= 1.25x", submit / floor <= 1.25),
    ]


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    from bench.plan_overhead import plan_overhead_rows
    from bench.simulate import simulate_rows
    from bench.tracing_and_packaging import tracing_and_package_rows

    rows = plan_rows() + synthesis_rows() + cold_start_rows() + queue_rows() + push_rows() + job_rows()
    rows += tracing_and_package_rows(Row, LAMBDA_ENV)
    rows += simulate_rows(Row)
    rows += plan_overhead_rows(Row)
    table = Table(title="resilient-serverless benchmarks", header_style="bold")
    for column in ("figure", "measured", "target", "met"):
        table.add_column(column)
    for row in rows:
        met = "-" if row.met is None else "[green]yes[/]" if row.met else "[red]NO[/]"
        table.add_row(row.figure, row.measured, row.target, met)
    Console(width=120).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
