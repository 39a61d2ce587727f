"""Every dead-letter queue a component creates is alarmed the same way, from one default."""

from __future__ import annotations

from pathlib import Path

import pytest
from resilient_serverless.components import defaults
from resilient_serverless.components.testing import Graph, run_stack

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def prod() -> Graph:
    return run_stack("prod", ROOT)


def test_dlq_depth_alarm_default_fires_on_the_first_dead_letter() -> None:
    assert (defaults.DLQ_DEPTH_ALARM_THRESHOLD, defaults.DLQ_DEPTH_ALARM_PERIODS) == (0, 1)


def test_every_dlq_of_every_component_has_a_depth_alarm_from_the_default(prod: Graph) -> None:
    # GIVEN the DLQs of the prod stack (functions, queue pairs, job workflows, alarm delivery)
    dlqs = [q for q in prod.of_type("aws:sqs/queue:Queue") if q.name.endswith("dlq")]
    owners = {prod.parent_of(q).type.split(":")[-1] for q in dlqs}
    assert {"ResilientFunction", "PriorityQueuePair", "AsyncJobWorkflow", "AlarmDeliveryDLQ"} <= owners
    alarms = prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    for dlq in dlqs:
        # WHEN its alarm is looked up by the queue it watches
        [alarm] = [
            a
            for a in alarms
            if a.inputs.get("metricName") == "ApproximateNumberOfMessagesVisible"
            and a.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}
        ]
        # THEN it fires above the default threshold after the default number of minutes
        assert alarm.inputs["threshold"] == defaults.DLQ_DEPTH_ALARM_THRESHOLD, dlq.urn
        assert alarm.inputs["evaluationPeriods"] == defaults.DLQ_DEPTH_ALARM_PERIODS, dlq.urn
        assert alarm.inputs["datapointsToAlarm"] == defaults.DLQ_DEPTH_ALARM_PERIODS, dlq.urn
        assert alarm.inputs["statistic"] == "Maximum", dlq.urn
