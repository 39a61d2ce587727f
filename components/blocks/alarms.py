"""Alarms several components raise the same way: a DLQ's depth, and a table of API Gateway alarms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from .. import defaults

if TYPE_CHECKING:
    import pulumi_aws as aws

    from ..base import ResilientComponent

__all__ = ["AlarmSpec", "api_gateway_alarms", "dlq_depth_alarm", "statistic_args"]


def statistic_args(statistic: str) -> dict[str, str]:
    """A percentile (``p99``) is an extended statistic in CloudWatch; the others are statistics."""
    return {"extended_statistic": statistic} if statistic.startswith("p") else {"statistic": statistic}


def dlq_depth_alarm(
    owner: ResilientComponent,
    suffix: str,
    dlq: aws.sqs.Queue,
    topic: pulumi.Input[str] | None,
    description: str,
) -> pulumi.Resource:
    """The alarm ``<name>-alarm-<suffix>``: a message is waiting in ``dlq``. Above
    ``defaults.DLQ_DEPTH_ALARM_THRESHOLD`` in ``defaults.DLQ_DEPTH_ALARM_PERIODS`` minute(s)."""
    return owner._alarm(
        suffix,
        topic,
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": dlq.name},
        statistic="Maximum",
        threshold=defaults.DLQ_DEPTH_ALARM_THRESHOLD,
        evaluation_periods=defaults.DLQ_DEPTH_ALARM_PERIODS,
        datapoints_to_alarm=defaults.DLQ_DEPTH_ALARM_PERIODS,
        alarm_description=description,
    )


@dataclass(frozen=True)
class AlarmSpec:
    """One row of an alarm table: fires when ``metric`` (by ``statistic``) is above ``threshold``."""

    suffix: str
    metric: str
    statistic: str
    threshold: float
    description: str


def api_gateway_alarms(
    owner: ResilientComponent,
    topic: pulumi.Input[str] | None,
    dimensions: Mapping[str, Any],
    specs: Sequence[AlarmSpec],
) -> dict[str, pulumi.Resource]:
    """One ``AWS/ApiGateway`` alarm per row of ``specs`` on the API stage named by ``dimensions``
    (REST: ``ApiName`` and ``Stage``; HTTP and WebSocket: ``ApiId`` and ``Stage``), by suffix."""
    return {
        spec.suffix: owner._alarm(
            spec.suffix,
            topic,
            namespace="AWS/ApiGateway",
            metric_name=spec.metric,
            dimensions=dict(dimensions),
            threshold=spec.threshold,
            alarm_description=spec.description,
            **statistic_args(spec.statistic),
        )
        for spec in specs
    }
