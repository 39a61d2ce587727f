"""Queue with DLQ: the dead-letter queue, the queue that redrives to it, and a DLQ's policy."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..grants import policy_json

if TYPE_CHECKING:
    from ..base import ResilientComponent

__all__ = ["dead_letter_queue", "queue_with_dlq", "service_may_send"]


def _fifo_args(fifo: bool, content_based_deduplication: bool | None) -> dict[str, Any]:
    if not fifo:
        return {}
    return {"fifo_queue": True, "content_based_deduplication": content_based_deduplication}


def dead_letter_queue(
    owner: ResilientComponent,
    suffix: str = "dlq",
    *,
    key: str = "dlq",
    fifo: bool = False,
    content_based_deduplication: bool | None = None,
) -> aws.sqs.Queue:
    """The child ``<name>-<suffix>``: encrypted, keeping a message as long as SQS allows
    (``defaults.DLQ_RETENTION_S``) so nothing ages out before triage. A FIFO queue's DLQ is FIFO
    too (SQS refuses a redrive between types)."""
    return owner._child(
        key,
        aws.sqs.Queue,
        suffix,
        {
            "name": owner.physical("sqs", suffix, fifo=fifo),
            "message_retention_seconds": defaults.DLQ_RETENTION_S,
            "sqs_managed_sse_enabled": True,
            **_fifo_args(fifo, content_based_deduplication),
        },
    )


def queue_with_dlq(
    owner: ResilientComponent,
    suffix: str,
    dlq: aws.sqs.Queue,
    *,
    visibility_timeout_s: int,
    max_receive_count: int,
    retention_s: int = defaults.QUEUE_RETENTION_S,
    fifo: bool = False,
    content_based_deduplication: bool | None = None,
    key: str = "queue",
) -> aws.sqs.Queue:
    """The child ``<name>-<suffix>``: encrypted, redriving to ``dlq`` after ``max_receive_count``
    receives, with the visibility timeout its consumer needs (``queues.visibility_timeout_for``)."""
    return owner._child(
        key,
        aws.sqs.Queue,
        suffix,
        {
            "name": owner.physical("sqs", suffix, fifo=fifo),
            "visibility_timeout_seconds": visibility_timeout_s,
            "redrive_policy": dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count})
            ),
            "message_retention_seconds": retention_s,
            "sqs_managed_sse_enabled": True,
            **_fifo_args(fifo, content_based_deduplication),
        },
    )


def service_may_send(
    owner: ResilientComponent,
    suffix: str,
    queue: aws.sqs.Queue,
    *,
    service: str,
    source_arn: pulumi.Input[str],
    sid: str,
    key: str = "queue_policy",
) -> aws.sqs.QueuePolicy:
    """The queue's policy: ``service`` may send, on behalf of ``source_arn`` only (``aws:SourceArn``,
    so another account's rule or topic cannot write into the queue)."""
    return owner._child(
        key,
        aws.sqs.QueuePolicy,
        suffix,
        {
            "queue_url": queue.url,
            "policy": policy_json(
                [
                    {
                        "Sid": sid,
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sqs:SendMessage",
                        "Resource": queue.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
                    }
                ]
            ),
        },
    )
