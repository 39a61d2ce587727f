"""AlarmDeliveryDLQ: the dead-letter queue of an ops topic's subscriptions, so an alarm that SNS
cannot deliver (an email address that bounces, an endpoint that is down) is kept rather than
dropped, shown on the dashboard and alarmed.

SNS retries a delivery by its protocol's policy and then, without a redrive policy, drops the
message. With one (every protocol supports it) the message lands in this queue, which SNS may
write to only on behalf of the topic (``aws:SourceArn``), and which keeps it 14 days.

    delivery = AlarmDeliveryDLQ("ops-alarms", {"topic_arn": topic.arn, "alarm_topic_arn": topic.arn})
    aws.sns.TopicSubscription("ops-email", topic=topic.arn, protocol="email", endpoint=email,
                              redrive_policy=delivery.redrive_policy,
                              opts=pulumi.ResourceOptions(depends_on=[delivery]))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar, TypedDict

import pulumi
import pulumi_aws as aws

from ..base import ResilientComponent, Transform
from ..blocks import dead_letter_queue, dlq_depth_alarm
from ..validation import Problems
from .widgets import Context, Contribution, contributes

__all__ = ["AlarmDeliveryDLQ", "AlarmDeliveryDLQArgs"]


class AlarmDeliveryDLQArgs(TypedDict, total=False):
    """Arguments of AlarmDeliveryDLQ. ``topic_arn`` is required.

    ``transform`` keys: queue, queue_policy, alarm.
    """

    topic_arn: pulumi.Input[str]
    """The topic whose subscriptions dead-letter here (the only sender the queue policy allows)."""
    alarm_topic_arn: pulumi.Input[str] | None
    """Where the alarm on this queue goes. Default: none (the dashboard still shows it). The ops
    topic itself is a fair choice: another of its subscriptions may still deliver."""
    tags: Mapping[str, str]
    transform: Mapping[str, Transform]


class AlarmDeliveryDLQ(ResilientComponent):
    """An SQS queue that keeps an ops topic's undeliverable notifications, with its alarm."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = ("queue", "queue_policy", "alarm")

    arn: pulumi.Output[str]
    url: pulumi.Output[str]
    redrive_policy: pulumi.Output[str]
    """The subscriptions' ``redrive_policy`` (JSON naming this queue)."""

    def __init__(self, name: str, args: AlarmDeliveryDLQArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        p = Problems(f"AlarmDeliveryDLQ {name!r}")
        p.check_known_keys(args, AlarmDeliveryDLQArgs.__annotations__, what="argument")
        if not args.get("topic_arn"):
            p.add("topic_arn is required (the topic whose subscriptions dead-letter here)")
        self.check_transform_keys(args.get("transform"), p)
        p.raise_if_any()
        super().__init__(name, tags=args.get("tags"), transform=args.get("transform"), opts=opts)
        topic_arn = args["topic_arn"]
        # The longest SQS keeps a message: an undelivered alarm is evidence for the review.
        self.queue = dead_letter_queue(self, "dlq", key="queue")
        self.queue_policy = self._child(
            "queue_policy",
            aws.sqs.QueuePolicy,
            "dlq-policy",
            {
                "queue_url": self.queue.url,
                "policy": pulumi.Output.all(self.queue.arn, topic_arn).apply(lambda v: sns_may_send(v[0], v[1])),
            },
        )
        self.alarm = dlq_depth_alarm(
            self,
            "dlq-depth",
            self.queue,
            args.get("alarm_topic_arn"),
            "an alarm notification was not delivered: read it with `resilient-serverless dlq show`",
        )
        self.arn, self.url = self.queue.arn, self.queue.url
        self.redrive_policy = self.queue.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn}))
        self.register_outputs({"arn": self.arn, "url": self.url, "redrive_policy": self.redrive_policy})


def sns_may_send(queue_arn: str, topic_arn: str) -> str:
    """The queue policy: SNS may send, on behalf of this topic only (``aws:SourceArn``, so another
    account's topic cannot write into the queue)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SnsDeliveryFailuresOfTheTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        },
        sort_keys=True,
    )


@contributes(AlarmDeliveryDLQ)
def _alarm_delivery(dlq: AlarmDeliveryDLQ, ctx: Context) -> Contribution:
    ns = "AWS/SQS"
    return Contribution(
        "queues",
        f"Alarm delivery: {dlq._name}",
        widgets=[
            ctx.metric(
                f"{dlq._name}: undelivered alarms",
                [[ns, "ApproximateNumberOfMessagesVisible", "QueueName", dlq.queue.name]],
                stat="Maximum",
                lines=[("any message is an alarm nobody got", 0)],
            ),
            ctx.metric(
                f"{dlq._name}: oldest undelivered alarm (s)",
                [[ns, "ApproximateAgeOfOldestMessage", "QueueName", dlq.queue.name]],
                stat="Maximum",
            ),
        ],
        alarms=[dlq.alarm],
    )
