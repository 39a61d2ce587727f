"""A PriorityQueuePair is accepted wherever a queue is: as a route target and by grants.send_to."""

from __future__ import annotations

import json

import pytest
from resilient_serverless.components import ConfigError, PriorityQueuePair, ResilientFunction
from resilient_serverless.components.testing import run_program

from tests.conftest import HANDLERS


def test_send_to_a_pair_allows_its_producer_entries_only() -> None:
    def program() -> None:
        inbox = PriorityQueuePair(
            "inbox",
            {
                "handler": "app.handlers.ingest.lambda_handler",
                "code": HANDLERS,
                "surge": {"backlog": 1000, "age_s": 60},
            },
        )
        producer = ResilientFunction("producer", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        producer.grants.send_to(inbox)

    graph = run_program(program, project="shop", stack="qa")
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "producer-grant-send-inbox").inputs["policy"])
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [
                "arn:aws:sqs:eu-west-1:123456789012:shop-qa-inbox-high",
                "arn:aws:sqs:eu-west-1:123456789012:shop-qa-inbox-surge",
            ],
        }
    ]


def test_send_to_something_else_says_what_to_pass() -> None:
    def program() -> None:
        producer = ResilientFunction("producer", {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS})
        producer.grants.send_to("https://sqs.eu-west-1.amazonaws.com/1/q")

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == ["send_to takes an aws.sqs.Queue or a PriorityQueuePair, got str"]
