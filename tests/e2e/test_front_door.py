"""The front door as the graph configures it: throttles as token buckets, request validation."""

from __future__ import annotations

import pulumi_aws as aws
import pytest
from resilient_serverless.components import ThrottledApi
from resilient_serverless.components.testing import LocalRun, run_locally, run_program

from .conftest import CALLER


def queue_api(flavor: str) -> None:
    """A user's program: one throttled queue route in front of a plain queue (no function)."""
    inbox = aws.sqs.Queue("inbox", name="shop-inbox")
    ThrottledApi(
        "shop",
        {
            "flavor": flavor,
            "throttle": {"rate": 1, "burst": 3},
            "routes": [{"method": "POST", "path": "/items", "queue": inbox}],
        },
    )


@pytest.mark.usefixtures("own_run")
def test_requests_past_the_stage_burst_are_throttled_with_429() -> None:
    for flavor in ("rest", "http"):
        graph = run_program(lambda flavor=flavor: queue_api(flavor), project="shop", stack="qa")
        with run_locally(graph) as shop, shop.clock.frozen():
            # GIVEN a route whose stage allows a burst of 3 at 1 request per second
            # WHEN 4 requests arrive at once
            answers = [shop.request("POST", "/items", json={"n": n}).status for n in range(4)]
            # THEN 3 reach the queue and the 4th is throttled
            assert answers == [answers[0]] * 3 + [429], (flavor, answers)
            assert answers[0] in (200, 202), (flavor, answers)
            queue_url = shop.client("sqs").get_queue_url(QueueName="shop-inbox")["QueueUrl"]
            stored = shop.client("sqs").get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            assert stored["Attributes"]["ApproximateNumberOfMessages"] == "3", flavor


def test_a_report_without_its_input_is_refused_with_400(stack: LocalRun) -> None:
    # GIVEN a report request without the required "input"; WHEN it is posted
    answer = stack.request("POST", "/reports", json={"title": "no input"}, caller=CALLER)
    # THEN the API (REST: by the route's model) or the handler (HTTP) refuses it
    assert answer.status == 400, answer


@pytest.mark.usefixtures("own_run")
def test_a_rest_queue_route_answers_its_configured_502_when_sqs_refuses_the_message() -> None:
    graph = run_program(lambda: queue_api("rest"), project="shop", stack="qa")
    with run_locally(graph) as shop:
        # GIVEN a REST queue route whose queue is gone (SQS answers 400 to the integration)
        sqs = shop.client("sqs")
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="shop-inbox")["QueueUrl"])
        # WHEN a message is posted
        answer = shop.request("POST", "/items", json={"n": 1})
        # THEN the integration response selected by SQS's 4xx answers, with its own template
        assert answer.status == 502, answer
        assert answer.json()["accepted"] is False
        # AND a body past API Gateway's 10 MB payload quota is refused before the integration
        assert shop.request("POST", "/items", body=b"x" * (10 * 1024 * 1024 + 1)).status == 413
