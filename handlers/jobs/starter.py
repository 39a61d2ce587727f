"""Drain the start queue: one ``StartExecution`` per job, named after the job.

The name makes a Standard start idempotent (a redelivered message meets
``ExecutionAlreadyExists``, which counts as started). A throttled or failed start stays on the
queue (partial batch response) and is retried after the visibility timeout; a malformed message
goes to the DLQ at once with the reason. The mapping's maximum concurrency keeps the start rate
within the account's ``StartExecution`` quota: a spike waits in the queue instead of failing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from .common import JOB_ID, client, config

__all__ = ["handle_batch", "lambda_handler", "start_execution"]

log = logging.getLogger(__name__)


def start_execution(message: dict[str, Any]) -> bool:
    """Start the job's execution. True when this call started it; False when it already existed
    (a redelivered start message), which is the start having succeeded."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    cfg = config()
    job_id = message["job_id"]
    payload = {
        "job_id": job_id,
        "input": message.get("input"),
        "input_pointer": message.get("input_pointer"),
        "deadline": int(time.time()) + cfg.execution_timeout_s,
    }
    try:
        client("stepfunctions").start_execution(
            stateMachineArn=cfg.state_machine_arn, name=job_id, input=json.dumps(payload)
        )
    except ClientError as error:
        # By code rather than the modelled class, so any client's error counts. A redelivery's
        # input holds another deadline, so Step Functions answers ExecutionAlreadyExists rather
        # than returning the running execution: the execution exists, the start is done.
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        log.info("job %s was already started (a redelivered start message): counted as started", job_id)
        return False
    return True


def _malformed(body: str) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(message, dict) or not JOB_ID.match(str(message.get("job_id", ""))):
        return "the message has no valid job_id"
    return None


def handle_batch(records: list[dict[str, Any]], dlq_url: str | None) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    failures = []
    for record in records:
        reason = _malformed(record["body"])
        try:
            if reason is not None:
                if not dlq_url:
                    raise RuntimeError("no DLQ configured for a malformed start")
                client("sqs").send_message(
                    QueueUrl=dlq_url,
                    MessageBody=record["body"],
                    MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}},
                )
                continue
            start_execution(json.loads(record["body"]))
        except (ClientError, BotoCoreError, RuntimeError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_batch(event.get("Records") or [], os.environ.get("START_DLQ_URL"))
