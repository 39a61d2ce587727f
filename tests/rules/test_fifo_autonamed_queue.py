"""A FIFO target that Pulumi names itself (no ``name`` input, the physical name only in its
outputs) is still found by the api-fifo-target-grouped rule, so its content-based deduplication
counts: the queue a user creates as ``aws.sqs.Queue("jobs", fifo_queue=True, ...)``."""

from __future__ import annotations

import pulumi_aws as aws
from resilient_serverless.components import rules
from resilient_serverless.components.testing import run_program

from .hand_built import messages, out, res

FIFO_URI = "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/jobs-5d9a17c.fifo"


def test_an_autonamed_content_based_fifo_queue_needs_no_dedup_id() -> None:
    # GIVEN a FIFO queue named by Pulumi (its name only in the outputs), deduplicating by content
    queue = out(
        rules.QUEUE,
        "jobs",
        {"fifoQueue": True, "contentBasedDeduplication": True},
        {"name": "jobs-5d9a17c.fifo", "arn": "arn:aws:sqs:eu-west-1:123456789012:jobs-5d9a17c.fifo"},
    )
    send = res(rules.REST_INTEGRATION, "i", {"uri": FIFO_URI, "requestTemplates": {"a": "MessageGroupId=g"}})
    # THEN a send with a group id and no dedup id is fine
    assert messages("api-fifo-target-grouped", queue, send) == []


def test_an_autonamed_fifo_queue_without_content_based_dedup_still_needs_a_dedup_id() -> None:
    queue = out(rules.QUEUE, "jobs", {"fifoQueue": True}, {"name": "jobs-5d9a17c.fifo"})
    send = res(rules.REST_INTEGRATION, "i", {"uri": FIFO_URI, "requestTemplates": {"a": "MessageGroupId=g"}})
    assert messages("api-fifo-target-grouped", queue, send) == [
        "sends to FIFO queue jobs-5d9a17c.fifo without a MessageDeduplicationId and the queue has no "
        "content-based deduplication: SQS refuses every message (route dedup_id)"
    ]


def _program() -> None:
    aws.sqs.Queue("jobs", fifo_queue=True, content_based_deduplication=True)


def test_a_queue_pulumi_names_has_its_name_in_its_outputs_only() -> None:
    # The premise of the tests above, on a captured program: the rule must look at the outputs.
    queue = run_program(_program, project="shop", stack="dev").one(rules.QUEUE, name="jobs")
    assert "name" not in queue.inputs
    assert str(queue.outputs["name"]).endswith(".fifo")
