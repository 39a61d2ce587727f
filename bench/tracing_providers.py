"""Cold start of each tracing provider side by side, for the tracing decision
(docs/tracing-decision.md): ``python -m bench.tracing_providers [RUNS]``.

The same handler (Logger, Metrics, Tracer; one invocation) in a fresh interpreter set up as
Lambda's, on: no tracing library at all (the floor: boto3 only), the handler library's X-Ray
daemon provider (``xray``, the default), its OpenTelemetry provider on an OTel SDK tracer
provider (``otel``; the ADOT layer's own auto-instrumentation and collector extension are not in
this figure: they are not installable here), and Powertools' own Tracer on the X-Ray SDK (the
documented idiom). Interleaved, median of RUNS (default 9), each ratio against the floor and
against ``xray`` from the same run. A figure, not a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import statistics
import sys

from bench.__main__ import LAMBDA_ENV
from bench.tracing_and_packaging import cold_start_ms

PROBES = {
    "floor (boto3, no tracing library)": "bench.coldstart.floor",
    "xray (daemon provider, the default)": "bench.coldstart.ours",
    "otel (OTel SDK provider)": "bench.coldstart.ours_otel",
    "X-Ray SDK (Powertools' Tracer)": "bench.coldstart.idiomatic",
}


def measure(runs: int = 9) -> dict[str, float]:
    """The median cold start (ms) of each probe, runs interleaved so drift hits all alike."""
    for module in PROBES.values():  # warm the file cache once each; not counted
        cold_start_ms(module, LAMBDA_ENV)
    samples: dict[str, list[float]] = {name: [] for name in PROBES}
    for _ in range(runs):
        for name, module in PROBES.items():
            samples[name].append(cold_start_ms(module, LAMBDA_ENV))
    return {name: statistics.median(values) for name, values in samples.items()}


def render(medians: dict[str, float], runs: int) -> str:
    floor = medians["floor (boto3, no tracing library)"]
    xray = medians["xray (daemon provider, the default)"]
    lines = [f"cold start by tracing provider (init + one invocation, median of {runs})"]
    lines.append(f"  {'provider':38} {'ms':>8} {'/ floor':>8} {'/ xray':>8}")
    for name, ms in medians.items():
        lines.append(f"  {name:38} {ms:8.0f} {ms / floor:7.2f}x {ms / xray:7.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    print(render(measure(runs), runs))
