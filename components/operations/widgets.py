"""What each component contributes to its stack's operations: dashboard widgets along the request
path, its alarms, the symptoms they belong to and the log groups that queries and Contributor
Insights rules read.

A component type joins with one decorated function that reads only the component's public
attributes, so component files never import this module::

    from resilient_serverless.components.operations import Contribution, contributes

    @contributes(AsyncJobWorkflow)
    def _workflow(wf: AsyncJobWorkflow, ctx: Context) -> Contribution:
        return Contribution(
            "workflows",
            f"Workflow {wf._name}",
            widgets=[ctx.metric("runs", [["AWS/States", "ExecutionsStarted", "StateMachineArn", wf.arn]])],
            alarms=list(wf.alarm_resources),
        )

Builders are looked up along the class's MRO, so a subclass inherits its parent's builder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi

__all__ = [
    "SECTIONS",
    "Context",
    "Contribution",
    "builder_for",
    "contributes",
]

SECTIONS: tuple[str, ...] = ("front door", "functions", "queues", "workflows", "tables", "websocket")
"""Dashboard sections in request-path order: what a request meets first comes first."""

Metric = list[Any]  # ["AWS/Lambda", "Errors", "FunctionName", name, {"stat": "Sum"}]


@dataclass
class Context:
    """What builders share: the region every metric widget names, and the stack's project (the
    default EMF namespace)."""

    region: pulumi.Input[str]
    period_s: int = 60

    def metric(
        self,
        title: str,
        metrics: Sequence[Metric],
        *,
        stat: str = "Sum",
        lines: Sequence[tuple[str, float]] = (),
    ) -> dict[str, Any]:
        """A time-series metric widget; ``lines`` are horizontal annotations (label, value),
        e.g. the reserved concurrency or the timeout a metric must stay under."""
        properties: dict[str, Any] = {
            "title": title,
            "view": "timeSeries",
            "region": self.region,
            "stat": stat,
            "period": self.period_s,
            "metrics": [list(m) for m in metrics],
        }
        if lines:
            properties["annotations"] = {"horizontal": [{"label": label, "value": value} for label, value in lines]}
        return {"type": "metric", "properties": properties}

    def logs(self, title: str, log_groups: Sequence[pulumi.Input[str]], query: str) -> dict[str, Any]:
        """A Logs Insights widget: ``query`` runs over ``log_groups`` (``SOURCE`` clauses)."""
        sources = pulumi.Output.all(*log_groups).apply(lambda names: " | ".join(f"SOURCE '{n}'" for n in names))
        return {
            "type": "log",
            "properties": {
                "title": title,
                "region": self.region,
                "view": "timeSeries",
                "query": sources.apply(lambda s: f"{s} | {query}"),
            },
        }


@dataclass
class Contribution:
    """One component's share of the operations of its stack."""

    section: str
    """One of ``SECTIONS``."""
    title: str
    widgets: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[pulumi.Resource] = field(default_factory=list)
    """Shown in this contribution's alarm widget."""
    symptoms: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    """User-facing symptom -> alarms that cause it; one composite alarm per symptom."""
    log_groups: dict[str, list[pulumi.Input[str]]] = field(default_factory=dict)
    """``access`` (API access logs), ``function`` (Powertools JSON logs), ``consumer``
    (queue consumers' logs): what saved queries and Contributor Insights rules read."""
    nested: list[Any] = field(default_factory=list)
    """Components this one composes (a queue pair's consumers, an API's functions): they join
    the dashboard too, once, even when the user lists only the outer component."""
    filters: list[Any] = field(default_factory=list)
    """Metric filters (``builders.MetricFilterSpec``) ``Operations`` creates for metrics that
    exist only in logs (an API's 429s)."""


C = TypeVar("C")
Builder = Callable[[Any, Context], Contribution]
_BUILDERS: dict[type, Builder] = {}


def contributes(cls: type[C]) -> Callable[[Callable[[C, Context], Contribution]], Callable[[C, Context], Contribution]]:
    """Register the builder of ``cls``'s contribution (the one line a new component adds)."""

    def register(fn: Callable[[C, Context], Contribution]) -> Callable[[C, Context], Contribution]:
        _BUILDERS[cls] = fn
        return fn

    return register


def builder_for(obj: object) -> Builder | None:
    """The builder registered for ``obj``'s class or its nearest base class."""
    for cls in type(obj).__mro__:
        if cls in _BUILDERS:
            return _BUILDERS[cls]
    return None
