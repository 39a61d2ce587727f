"""The SQS event source mapping every queue consumer has: batches with partial batch responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from .. import defaults

if TYPE_CHECKING:
    from ..base import ResilientComponent

__all__ = ["sqs_mapping"]


def sqs_mapping(
    owner: ResilientComponent,
    suffix: str,
    *,
    queue: aws.sqs.Queue,
    function_name: pulumi.Input[str],
    grants: Sequence[pulumi.Resource],
    batch_size: int = defaults.QUEUE_BATCH_SIZE,
    batching_window_s: int | None = defaults.QUEUE_BATCHING_WINDOW_S,
    max_concurrency: int | None = None,
    pollers: Mapping[str, int] | None = None,
    key: str = "mapping",
) -> aws.lambda_.EventSourceMapping:
    """The child ``<name>-<suffix>`` feeding ``queue`` to ``function_name``.

    ``ReportBatchItemFailures`` always: only the failed records of a batch come back, not the
    whole batch. ``batching_window_s=None`` leaves the window out (FIFO queues have none).
    Scaling is either ``pollers`` (provisioned mode, ``{"min": .., "max": ..}``) or
    ``max_concurrency`` (AWS refuses both on one mapping). The mapping waits for ``grants``: a
    mapping created before its consumer may receive fails its first polls.
    """
    args: dict[str, Any] = {
        "event_source_arn": queue.arn,
        "function_name": function_name,
        "batch_size": batch_size,
        "function_response_types": ["ReportBatchItemFailures"],
    }
    if batching_window_s is not None:
        args["maximum_batching_window_in_seconds"] = batching_window_s
    if pollers is not None:
        args["provisioned_poller_config"] = {"minimum_pollers": pollers["min"], "maximum_pollers": pollers["max"]}
    elif max_concurrency is not None:
        args["scaling_config"] = {"maximum_concurrency": max_concurrency}
    return owner._child(key, aws.lambda_.EventSourceMapping, suffix, args, pulumi.ResourceOptions(depends_on=grants))
