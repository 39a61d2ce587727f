"""A deployed stack for the operating commands: moto's SQS, SNS and Step Functions hold the
resources, and a ``pulumi stack export`` document (version 3, as the CLI writes it) names them
with their parents, the way the reference deployment's components own them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

STACK = "prod"
PROJECT = "resilient-serverless"
ROOT_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
PAIR_URN = f"urn:pulumi:{STACK}::{PROJECT}::resilient-serverless:index:PriorityQueuePair::orders-inbox"
DELIVERY_URN = f"urn:pulumi:{STACK}::{PROJECT}::resilient-serverless:index:AlarmDeliveryDLQ::ops-alarms"
WORKFLOW_URN = f"urn:pulumi:{STACK}::{PROJECT}::resilient-serverless:index:AsyncJobWorkflow::reports"
ROLE_ARN = "arn:aws:iam::123456789012:role/sfn"
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


class FakedAtBoundary:
    """moto's client, except for ``operations`` (which moto lacks): those go to a client whose
    responses a botocore Stubber gives, so the command under test holds one client as in AWS."""

    def __init__(self, moto_client: Any, stubbed_client: Any, operations: set[str]) -> None:
        self._moto, self._stubbed, self._operations = moto_client, stubbed_client, operations

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stubbed if name in self._operations else self._moto, name)


@dataclass
class Deployed:
    state_file: Path
    queues: Mapping[str, Mapping[str, str]]
    """name -> {url, arn}"""
    machines: Mapping[str, str]
    """name -> arn"""
    sqs: Any
    sfn: Any


def _resource(type_: str, name: str, parent: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    parent_type = parent.split("::")[-2] if parent != ROOT_URN else "pulumi:pulumi:Stack"
    prefix = f"urn:pulumi:{STACK}::{PROJECT}::" + (f"{parent_type}$" if parent != ROOT_URN else "")
    return {
        "urn": f"{prefix}{type_}::{name}",
        "custom": True,
        "type": type_,
        "outputs": dict(outputs),
        "parent": parent,
    }


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Deployed]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-1")
        sns = boto3.client("sns", region_name="eu-west-1")
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        queues: dict[str, dict[str, str]] = {}
        for name in ("orders-inbox-high-dlq", "orders-inbox-low-dlq", "ops-alarms-dlq"):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queues[name] = {"url": url, "arn": arn}
        for role in ("high", "low"):
            name = f"orders-inbox-{role}"
            policy = json.dumps({"deadLetterTargetArn": queues[f"{name}-dlq"]["arn"], "maxReceiveCount": 5})
            url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            queues[name] = {"url": url, "arn": arn, "redrivePolicy": policy}
        topic = sns.create_topic(Name="ops-alarms")["TopicArn"]
        machines = {
            "reports": sfn.create_state_machine(name="reports", definition=PASS, roleArn=ROLE_ARN, type="STANDARD")[
                "stateMachineArn"
            ],
            "thumbnails": sfn.create_state_machine(
                name="thumbnails", definition=PASS, roleArn=ROLE_ARN, type="EXPRESS"
            )["stateMachineArn"],
        }
        resources = [{"urn": ROOT_URN, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}}]
        resources.append({"urn": PAIR_URN, "custom": False, "type": PAIR_URN.split("::")[-2], "parent": ROOT_URN})
        resources.append(
            {"urn": DELIVERY_URN, "custom": False, "type": DELIVERY_URN.split("::")[-2], "parent": ROOT_URN}
        )
        resources.append(
            {"urn": WORKFLOW_URN, "custom": False, "type": WORKFLOW_URN.split("::")[-2], "parent": ROOT_URN}
        )
        for name, q in queues.items():
            parent = DELIVERY_URN if name.startswith("ops-") else PAIR_URN
            resources.append(_resource("aws:sqs/queue:Queue", name, parent, {"name": name, **q}))
        subscription = {
            "topic": topic,
            "protocol": "email",
            "redrivePolicy": json.dumps({"deadLetterTargetArn": queues["ops-alarms-dlq"]["arn"]}),
        }
        resources.append(
            _resource("aws:sns/topicSubscription:TopicSubscription", "ops-alarms-email", ROOT_URN, subscription)
        )
        for name, arn in machines.items():
            kind = "STANDARD" if name == "reports" else "EXPRESS"
            resources.append(
                _resource(
                    "aws:sfn/stateMachine:StateMachine", name, WORKFLOW_URN, {"name": name, "arn": arn, "type": kind}
                )
            )
        state = tmp_path / "prod.json"
        state.write_text(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": resources}}))
        yield Deployed(state, queues, machines, sqs, sfn)
