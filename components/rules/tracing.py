"""Tracing paths against AWS's published support dates: a function whose traces go through the
X-Ray SDKs or daemon is warned about from ``defaults.TRACING_END_OF_SUPPORT_WARNING_DAYS`` before
that path's end of support (``aws_facts.TRACING_PATHS``), and after it.

A function relies on the X-Ray path when its tracing is Active and nothing moved it to
OpenTelemetry: neither ``RESILIENT_TRACING=otel`` (ResilientFunction's ``tracing_provider``) nor
the ADOT layer's wrapper (``AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument``). Its handler's
subsegments then go through the X-Ray SDK (Powertools' default) or straight to the daemon (the
handler library's ``xray`` provider): the same end of support either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from .. import aws_facts, defaults
from .common import FUNCTION
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph

__all__ = ["OTEL_WRAPPER", "tracing_path", "tracing_support_problem"]

OTEL_WRAPPER = "/opt/otel-instrument"  # the ADOT layer's wrapper script


def tracing_path(inputs: Mapping[str, Any]) -> str | None:
    """``"otel"`` or ``"xray"``: the path a function's traces take; None when tracing is not Active."""
    if (inputs.get("tracingConfig") or {}).get("mode") != "Active":
        return None
    env = (inputs.get("environment") or {}).get("variables") or {}
    if env.get("RESILIENT_TRACING") == "otel" or env.get("AWS_LAMBDA_EXEC_WRAPPER") == OTEL_WRAPPER:
        return "otel"
    return "xray"


def tracing_support_problem(
    inputs: Mapping[str, Any], on: date, warn_days: int = defaults.TRACING_END_OF_SUPPORT_WARNING_DAYS
) -> str | None:
    """What is wrong, on day ``on``, with the tracing path of a function with these inputs: its
    path's end of support is past, or within ``warn_days``; None when it is not."""
    path = tracing_path(inputs)
    fact = aws_facts.TRACING_PATHS.get(path) if path is not None else None
    left = fact.days_left(on) if fact is not None else None
    if fact is None or left is None or left > warn_days:
        return None
    assert fact.end_of_support_on is not None
    when = (
        f"ended on {fact.end_of_support_on} ({-left} days ago)"
        if left <= 0
        else f"ends on {fact.end_of_support_on} (in {left} days)"
    )
    return (
        f"traces go through {fact.description}, whose support {when} ({fact.source}); "
        "set tracing_provider='otel' with the region's ADOT layer (otel_layer_arn)"
    )


@rule(
    "tracing-path-supported",
    "warning",
    (FUNCTION,),
    "A traced function's tracing path is not past or near its end of support (X-Ray SDKs and daemon: 2027-02-25)",
    needs_graph=False,
)
def tracing_path_supported(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    problem = tracing_support_problem(fn.inputs, aws_facts.today())
    if problem is not None:
        yield problem
