"""Saved Logs Insights queries over the stack's JSON logs.

Three kinds of log group feed them: ``access`` (API Gateway access logs, the fields of
ThrottledApi's access log format), ``function`` and ``consumer`` (Powertools JSON logs: ``level``,
``message``, ``service``, ``cold_start``, ``xray_trace_id``, the consumers' extra keys such as
``reason``, and the EMF lines whose keys are the metric names). A query is saved only where its
log groups exist.

Left out: init duration. It lives in Lambda's ``platform.report`` system records, which are INFO
while the functions log system records at WARN (``defaults.SYSTEM_LOG_LEVEL``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from ..base import ResilientComponent

__all__ = ["QUERIES", "QuerySpec", "saved_queries"]


@dataclass(frozen=True)
class QuerySpec:
    name: str
    """Saved under ``<stack dashboard prefix>/<name>``; slashes make folders in the console."""
    sources: tuple[str, ...]
    """Kinds of log group it reads: access, function, consumer."""
    query: str


QUERIES: tuple[QuerySpec, ...] = (
    QuerySpec(
        "errors-by-route",
        ("access",),
        "fields @timestamp, route, status, integrationError"
        " | filter status like /^5/"
        " | stats count(*) as errors by route, status"
        " | sort errors desc",
    ),
    QuerySpec(
        "errors-by-service",
        ("function", "consumer"),
        'fields @timestamp, service, location, message | filter level = "ERROR"'
        " | stats count(*) as errors by service, location"
        " | sort errors desc",
    ),
    QuerySpec(
        "slowest-requests",
        ("access",),
        # latencyMs is written as a string; arithmetic makes it a number to sort on.
        "fields @timestamp, requestId, route, status, latencyMs * 1 as latency_ms, integrationLatencyMs"
        " | sort latency_ms desc"
        " | limit 25",
    ),
    QuerySpec(
        "slow-invocations-with-traces",
        ("function", "consumer"),
        # Powertools stamps every line with the invocation's X-Ray trace id: the last line of an
        # invocation minus its first gives the handler's own time.
        "fields @timestamp, service, function_request_id, xray_trace_id"
        " | filter ispresent(xray_trace_id)"
        " | stats min(@timestamp) as started, max(@timestamp) as ended by service, function_request_id, xray_trace_id"
        " | fields ended - started as handler_ms"
        " | sort handler_ms desc"
        " | limit 25",
    ),
    QuerySpec(
        "cold-starts",
        ("function", "consumer"),
        "fields @timestamp, service | filter cold_start = 1 | stats count(*) as cold_starts by service, bin(1h)",
    ),
    QuerySpec(
        "deferrals-and-ttl-drops",
        ("consumer",),
        # The EMF lines of the consumers carry each outcome count under its metric name.
        "fields @timestamp, service"
        " | filter ispresent(MessagesDeferred) or ispresent(MessagesDroppedTTL)"
        " | stats sum(MessagesDeferred) as deferred, sum(MessagesDroppedTTL) as ttl_drops by service, bin(5m)",
    ),
    QuerySpec(
        "poison-messages",
        ("consumer",),
        'fields @timestamp, service, message_id, reason | filter message = "message dead-lettered"'
        " | sort @timestamp desc"
        " | limit 50",
    ),
)


def saved_queries(
    ops: ResilientComponent, log_groups: Mapping[str, Sequence[pulumi.Input[str]]]
) -> list[aws.cloudwatch.QueryDefinition]:
    """One QueryDefinition per query whose log groups exist in the stack."""
    created = []
    prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}"
    for spec in QUERIES:
        groups = [g for kind in spec.sources for g in log_groups.get(kind, [])]
        if not groups:
            continue
        created.append(
            ops._child(
                "query",
                aws.cloudwatch.QueryDefinition,
                f"query-{spec.name}",
                {"name": f"{prefix}/{spec.name}", "query_string": spec.query, "log_group_names": groups},
            )
        )
    return created
