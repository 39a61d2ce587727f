"""The reference deployment's ops topic: an alarm SNS cannot deliver is kept in a DLQ (never
dropped), which only that topic may write to, and which is on the dashboard and alarmed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from resilient_serverless.components.testing import Graph, run_stack
from resilient_serverless.components.testing.operations import dashboard_bodies

ROOT = Path(__file__).resolve().parents[2]
QUEUE, POLICY = "aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


@pytest.fixture(scope="module")
def prod() -> Graph:
    return run_stack("prod", ROOT)  # prod subscribes an email address to the ops topic


def test_the_email_subscription_dead_letters_into_the_alarm_delivery_queue(prod: Graph) -> None:
    # GIVEN prod's ops topic with its email subscription
    subscription = prod.one(SUBSCRIPTION, "ops-alarms-email")
    dlq = prod.one(QUEUE, "ops-alarms-dlq")
    policy = prod.one(POLICY, "ops-alarms-dlq-policy")
    # THEN an undeliverable notification goes to the DLQ, which keeps it 14 days, and the
    # subscription waits for the queue policy that lets SNS write there
    assert json.loads(subscription.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dlq.outputs["arn"]}
    assert dlq.inputs["messageRetentionSeconds"] == 1_209_600, dlq.urn
    assert policy.urn in subscription.dependencies, subscription.urn


def test_only_the_ops_topic_may_write_to_the_alarm_delivery_queue(prod: Graph) -> None:
    # GIVEN the DLQ's queue policy THEN SNS may send, on behalf of the ops topic alone
    topic = prod.one("aws:sns/topic:Topic", "ops-alarms")
    dlq = prod.one(QUEUE, "ops-alarms-dlq")
    policy = prod.one(POLICY, "ops-alarms-dlq-policy")
    assert policy.inputs["queueUrl"] == dlq.outputs["url"]
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "SnsDeliveryFailuresOfTheTopic",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": dlq.outputs["arn"],
            "Condition": {"ArnEquals": {"aws:SourceArn": topic.outputs["arn"]}},
        }
    ]


def test_an_undelivered_alarm_is_alarmed_and_on_the_dashboard(prod: Graph) -> None:
    # GIVEN the DLQ's depth alarm
    alarm = prod.one("aws:cloudwatch/metricAlarm:MetricAlarm", "ops-alarms-alarm-dlq-depth")
    dlq = prod.one(QUEUE, "ops-alarms-dlq")
    topic = prod.one("aws:sns/topic:Topic", "ops-alarms")
    # THEN one message in the DLQ fires it, to the ops topic
    assert (alarm.inputs["metricName"], alarm.inputs["dimensions"]) == (
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": dlq.outputs["name"]},
    ), alarm.urn
    assert (alarm.inputs["threshold"], alarm.inputs["evaluationPeriods"]) == (0, 1), alarm.urn
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], alarm.urn
    # AND the dashboard shows the alarm and plots the queue's depth
    (body,) = dashboard_bodies(prod).values()
    widgets = body["widgets"]
    assert any(alarm.outputs["arn"] in w["properties"].get("alarms", []) for w in widgets if w["type"] == "alarm")
    plotted = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq.outputs["name"]] in plotted


def test_a_stack_without_subscribers_has_no_alarm_delivery_queue() -> None:
    # GIVEN dev, whose stack file subscribes nobody to the ops topic WHEN it runs
    dev = run_stack("dev", ROOT)
    # THEN there is nothing to deliver and no queue for it
    assert dev.of_type(SUBSCRIPTION) == []
    assert [q.name for q in dev.of_type(QUEUE) if q.name.startswith("ops-alarms")] == []
