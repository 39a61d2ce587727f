"""Bench rows for AsyncJobWorkflow (see bench/__main__.py): AWS calls per job lifecycle as a
client sees it (submit, 10 status polls, one result URL) on moto, counted by botocore's event hook
on the handlers' own clients; and the calls the workflow makes per job, read from its definition."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

ENV = {
    "JOBS_TABLE": "jobs",
    "IDEMPOTENCY_TABLE": "idempotency",
    "RESULTS_BUCKET": "results",
    # Required by the job handlers' contract; unused here: the starts go to the start queue.
    "STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:jobs",
    "START_QUEUE_URL": "",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}


def _event(method: str, job_id: str | None = None, body: Any = None, key: str | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/json"} | ({"idempotency-key": key} if key else {})
    return {
        "httpMethod": method,
        "headers": headers,
        "pathParameters": {"job_id": job_id} if job_id else None,
        "body": json.dumps(body) if body is not None else None,
        "requestContext": {"domainName": "api.example.com", "stage": "live", "identity": {}},
    }


def calls_per_lifecycle(idempotency_key: bool) -> Counter[str]:
    """Calls the job API makes for submit + 10 polls + 1 result, by operation."""
    import boto3
    from moto import mock_aws

    from handlers.jobs import common, result, status, submit
    from handlers.resilience.clients import _session, aws_client

    calls: Counter[str] = Counter()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        for table, key in (("jobs", "job_id"), ("idempotency", "id")):
            ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        queue = boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="starts")["QueueUrl"]
        os.environ.update({**ENV, "START_QUEUE_URL": queue})
        for cache in (common.config, aws_client, submit._idempotent_create, result.signer):
            cache.cache_clear()
        session = _session()

        def count(model: Any, **_: Any) -> None:
            calls.update([model.name])

        session.register("before-call", count)
        try:
            answer = submit.lambda_handler(
                _event("POST", body={"input": {"pages": 3}}, key="k1" if idempotency_key else None), None
            )
            job_id = json.loads(answer["body"])["job_id"]
            for _ in range(10):
                status.lambda_handler(_event("GET", job_id), None)
            # the workflow's writes, on another client (not counted: they are the state machine's)
            ddb.update_item(
                TableName="jobs",
                Key={"job_id": {"S": job_id}},
                UpdateExpression="SET #s = :s, finished_at = :f, result_key = :k",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":s": {"S": "succeeded"},
                    ":f": {"S": common.now_iso()},
                    ":k": {"S": f"results/{job_id}"},
                },
            )
            assert result.lambda_handler(_event("GET", job_id), None)["statusCode"] == 200
        finally:
            session.unregister("before-call", count)
            for cache in (common.config, aws_client, submit._idempotent_create, result.signer):
                cache.cache_clear()
    return calls


def workflow_calls_per_job() -> dict[str, int]:
    """Service calls on the success path of the generated definition (with webhooks), plus the start."""
    from resilient_serverless.components import asl
    from resilient_serverless.components.job_states import WorkflowShape, workflow_definition

    shape = WorkflowShape(
        table_name="jobs",
        worker_arn="arn:aws:lambda:eu-west-1:123456789012:function:w",
        worker_mode="invoke",
        task_timeout_s=70,
        heartbeat_s=None,
        execution_timeout_s=3600,
        worker_retry=asl.RetryPolicy(("States.TaskFailed",), 2, 2, 2.0, 30),
        notify_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/hooks",
    )
    states = workflow_definition(shape)["States"]
    path, name = [], "MarkRunning"
    while name in states and states[name]["Type"] == "Task":
        path.append(states[name]["Resource"].removeprefix("arn:aws:states:::"))
        name = states[name]["Next"]
    return {"StartExecution (starter)": 1, **Counter(path)}
