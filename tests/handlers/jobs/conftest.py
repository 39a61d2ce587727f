"""Job handler tests: moto for DynamoDB, S3, SQS and Step Functions; the handlers' configuration
from the environment the component sets; API events of both flavours built here."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "eu-west-1"
ENV = {
    "JOBS_TABLE": "jobs",
    "IDEMPOTENCY_TABLE": "idempotency",
    "RESULTS_BUCKET": "results",
    "JOBS_PATH": "/jobs",
    "RESULT_URL_TTL_S": "900",
    "RESULT_RETENTION_S": str(7 * 86_400),
    "JOB_TTL_S": str(30 * 86_400),
    "IDEMPOTENCY_TTL_S": "3600",
    "MAX_BODY_BYTES": "4096",
    "INLINE_INPUT_BYTES": "1000",
    "EXECUTION_TIMEOUT_S": "3600",
}


def _table(ddb: Any, name: str, key: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


class JobsAws:
    def __init__(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        _table(self.ddb, "jobs", "job_id")
        _table(self.ddb, "idempotency", "id")
        self.s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.starts = self.sqs.create_queue(QueueName="starts")["QueueUrl"]
        self.start_dlq = self.sqs.create_queue(QueueName="starts-dlq")["QueueUrl"]
        role = boto3.client("iam", region_name=REGION).create_role(RoleName="sm", AssumeRolePolicyDocument="{}")
        self.state_machine = self.sfn.create_state_machine(
            name="jobs",
            roleArn=role["Role"]["Arn"],
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]

    def job(self, job_id: str) -> dict[str, str]:
        item = self.ddb.get_item(TableName="jobs", Key={"job_id": {"S": job_id}})["Item"]
        return {k: str(next(iter(v.values()))) for k, v in item.items()}

    def started(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.starts, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def put_job(self, job_id: str, status: str, owner: str | None = None, **fields: str) -> None:
        item = {"job_id": {"S": job_id}, "status": {"S": status}, "created_at": {"S": "2026-01-01T00:00:00.000000Z"}}
        if owner:
            item["owner"] = {"S": owner}
        item |= {k: {"S": v} for k, v in fields.items()}
        self.ddb.put_item(TableName="jobs", Item=item)


@pytest.fixture
def jobs_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobsAws]:
    from handlers.jobs import common, result, submit, webhooks
    from handlers.resilience.clients import aws_client

    with mock_aws():
        aws = JobsAws()
        for key, value in {**ENV, "START_QUEUE_URL": aws.starts, "STATE_MACHINE_ARN": aws.state_machine}.items():
            monkeypatch.setenv(key, value)
        common.config.cache_clear()
        aws_client.cache_clear()
        submit._idempotent_create.cache_clear()
        result.signer.cache_clear()
        monkeypatch.setattr(webhooks, "RESOLVER", [lambda host, port: {"hooks.example.com": ["93.184.216.34"]}[host]])
        yield aws
    common.config.cache_clear()
    aws_client.cache_clear()
    submit._idempotent_create.cache_clear()


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: str | None = None,
    headers: dict[str, str] | None = None,
    job_id: str | None = None,
    caller: str | None = None,
    flavor: str = "rest",
    base64_body: bool = False,
) -> dict[str, Any]:
    """A proxy event as API Gateway sends it (REST v1 or HTTP v2)."""
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    hdrs = {"Content-Type": "application/json", **(headers or {})} if text is not None else dict(headers or {})
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    params = {"job_id": job_id} if job_id is not None else None
    if flavor == "rest":
        context: dict[str, Any] = {"domainName": "api.example.com", "stage": "live", "identity": {}}
        if caller:
            context["identity"]["apiKeyId"] = caller
        return {
            "httpMethod": method,
            "path": path,
            "headers": hdrs,
            "pathParameters": params,
            "body": text,
            "isBase64Encoded": base64_body,
            "requestContext": context,
        }
    context = {"domainName": "api.example.com", "stage": "$default", "http": {"method": method, "path": path}}
    if caller:
        context["authorizer"] = {"jwt": {"claims": {"sub": caller}}}
    return {
        "version": "2.0",
        "rawPath": path,
        "headers": {k.lower(): v for k, v in hdrs.items()},
        "pathParameters": params,
        "body": text,
        "isBase64Encoded": base64_body,
        "requestContext": context,
    }
