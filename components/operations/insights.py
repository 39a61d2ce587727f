"""Contributor Insights rules: the top contributors in the stack's JSON logs.

Bodies follow CloudWatch's ``CloudWatchLogRule`` schema version 1: ``Schema``, ``LogGroupNames``,
``LogFormat`` JSON, ``Contribution`` with at most 4 ``Keys`` and optional ``Filters`` (each a
``Match`` and one operator), and ``AggregateOn`` (Count or Sum).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from ..base import ResilientComponent

__all__ = ["RULES", "InsightSpec", "contributor_insight_rules", "rule_body"]

MAX_KEYS = 4  # CloudWatch's limit per rule
OPERATORS = ("In", "NotIn", "StartsWith", "GreaterThan", "LessThan", "EqualTo", "NotEqualTo", "IsPresent")


@dataclass(frozen=True)
class InsightSpec:
    name: str
    source: str  # access | consumer
    keys: tuple[str, ...]
    filters: tuple[dict[str, Any], ...] = ()


RULES: tuple[InsightSpec, ...] = (
    # ``client`` is the API key id on REST and the source IP on HTTP (which has no keys).
    InsightSpec("top-clients", "access", ("$.client",)),
    InsightSpec("top-ips", "access", ("$.ip",)),
    InsightSpec("top-clients-4xx", "access", ("$.client", "$.status"), ({"Match": "$.status", "StartsWith": ["4"]},)),
    InsightSpec("top-ips-5xx", "access", ("$.ip", "$.route"), ({"Match": "$.status", "StartsWith": ["5"]},)),
    # Which consumer (queue, surge or shard) dead-letters or drops most, and why.
    InsightSpec(
        "top-consumer-losses",
        "consumer",
        ("$.service", "$.reason"),
        ({"Match": "$.message", "In": ["message dead-lettered", "message dropped by TTL"]},),
    ),
)


def rule_body(spec: InsightSpec, log_groups: Sequence[str]) -> str:
    contribution: dict[str, Any] = {"Keys": list(spec.keys)}
    if spec.filters:
        contribution["Filters"] = [dict(f) for f in spec.filters]
    return json.dumps(
        {
            "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
            "LogGroupNames": list(log_groups),
            "LogFormat": "JSON",
            "Contribution": contribution,
            "AggregateOn": "Count",
        },
        sort_keys=True,
    )


def contributor_insight_rules(
    ops: ResilientComponent, log_groups: Mapping[str, Sequence[pulumi.Input[str]]]
) -> list[aws.cloudwatch.ContributorInsightRule]:
    created = []
    prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}"
    for spec in RULES:
        groups = list(log_groups.get(spec.source, []))
        if not groups:
            continue
        body = pulumi.Output.all(*groups).apply(functools.partial(rule_body, spec))
        created.append(
            ops._child(
                "insight_rule",
                aws.cloudwatch.ContributorInsightRule,
                f"insight-{spec.name}",
                {"rule_name": f"{prefix}-{spec.name}", "rule_state": "ENABLED", "rule_definition": body},
            )
        )
    return created
