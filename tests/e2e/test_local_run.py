"""What the local run itself guarantees: roles are enforced as the graph grants, async invokes
retry and then reach their on-failure destination."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from resilient_serverless.components import ResilientFunction, package_function
from resilient_serverless.components.testing import LocalRun, run_locally, run_program

ROOT = Path(__file__).resolve().parents[2]


def function_named(stack: LocalRun, suffix: str) -> str:
    return next(name for name in stack.functions.specs if name.endswith(suffix))


def test_a_function_role_may_make_the_calls_its_grants_allow_and_no_other(stack: LocalRun) -> None:
    # GIVEN the role of the read function (granted dynamodb:GetItem on the orders table only)
    role = stack.functions.resolve(function_named(stack, "-orders-api")).role_arn
    dynamodb = stack.client("dynamodb", role_arn=role)
    table = stack.outputs["orders_table"]
    # WHEN it reads, then writes
    dynamodb.get_item(TableName=table, Key={"order_id": {"S": "any"}})
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item={"order_id": {"S": "forged"}})
    # THEN the write is refused as AWS refuses it (moto answers in XML: boto3 reads the code as "403")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not authorized to perform: dynamodb:PutItem" in str(refused.value)


def test_a_queue_grant_names_its_queue_and_no_other(stack: LocalRun) -> None:
    # GIVEN the high consumer's role (it may send to the low queue and its DLQ, to defer and dead-letter)
    high = stack.functions.resolve(stack.outputs["ingest_functions"]["high"])
    sqs = stack.client("sqs", role_arn=high.role_arn)
    # WHEN it sends to the low queue, then to a queue of the reports workflow
    sqs.send_message(QueueUrl=stack._local_queue_url(high.environment["RESILIENT_LOW_QUEUE_URL"]), MessageBody="{}")
    starts = next(u for u in stack.client("sqs").list_queues()["QueueUrls"] if u.endswith("-reports-starts"))
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=starts, MessageBody="{}")
    # THEN only the queue its grant names accepts it (moto matches SQS resource ARNs)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not authorized to perform: sqs:SendMessage" in str(refused.value)
    stack.settle()


def failing_async_worker() -> None:
    """A user's async function whose handler fails on an event without a job id."""
    code = package_function(str(ROOT / "handlers"), package_name="handlers", library=False)
    ResilientFunction(
        "worker",
        {"handler": "handlers.jobs.worker.lambda_handler", "code": code, "invocation": "async", "async_max_retries": 1},
    )


@pytest.mark.usefixtures("own_run")
def test_a_failing_async_invoke_is_retried_then_sent_to_its_on_failure_destination() -> None:
    graph = run_program(failing_async_worker, project="shop", stack="qa")
    with run_locally(graph) as shop:
        # GIVEN an async function with one retry and a DLQ as its on-failure destination
        name = next(iter(shop.functions.specs))
        # WHEN an event it cannot handle is invoked asynchronously and the work settles
        shop.invoke_async(name, {"no": "job id"})
        shop.settle()
        # THEN it ran twice (the call and one retry), then the failure record reached the DLQ
        assert [i.function for i in shop.invocations] == [name, name]
        sqs = shop.client("sqs")
        dlq = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-dlq"))
        record = json.loads(sqs.receive_message(QueueUrl=dlq)["Messages"][0]["Body"])
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 2
        assert record["requestPayload"] == {"no": "job id"}
