"""A redelivered start: the execution named after the job already exists, which is the start
having succeeded. The starter counts it as started (and says so in its log) instead of failing
the message until it reaches the DLQ."""

from __future__ import annotations

import json
import logging
import time
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber

from .conftest import JobsAws

JOB = "AAAAAAAAAAAAAAAAAAAAAA"
ALREADY_STARTED = f"job {JOB} was already started (a redelivered start message): counted as started"


def start_record(message_id: str = "1") -> dict[str, Any]:
    return {"messageId": message_id, "body": json.dumps({"job_id": JOB, "input": {"rows": []}, "input_pointer": None})}


def test_execution_already_exists_is_a_start_that_succeeded(
    jobs_aws: JobsAws, caplog: pytest.LogCaptureFixture
) -> None:
    from handlers.jobs.common import client
    from handlers.jobs.starter import handle_batch

    # GIVEN Step Functions answering StartExecution with ExecutionAlreadyExists (the execution of
    # this job exists: a first delivery started it, and its input held another deadline)
    sfn = client("stepfunctions")
    with Stubber(sfn) as stub, caplog.at_level(logging.INFO, logger="handlers.jobs.starter"):
        stub.add_client_error(
            "start_execution",
            service_error_code="ExecutionAlreadyExists",
            service_message=f"Execution Already Exists: 'arn:aws:states:eu-west-1:123456789012:execution:jobs:{JOB}'",
            http_status_code=400,
        )
        # WHEN the redelivered start message is handled
        response = handle_batch([start_record()], jobs_aws.start_dlq)
        stub.assert_no_pending_responses()
    # THEN it is acknowledged (no batch item failure: SQS deletes it) and the log says why
    assert response == {"batchItemFailures": []}
    assert [r.getMessage() for r in caplog.records if r.name == "handlers.jobs.starter"] == [ALREADY_STARTED]


def test_other_start_errors_stay_on_the_queue(jobs_aws: JobsAws) -> None:
    from handlers.jobs.common import client
    from handlers.jobs.starter import handle_batch

    # GIVEN StartExecution throttled
    sfn = client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", service_error_code="ThrottlingException", http_status_code=400)
        # WHEN the start is handled THEN it fails alone, for SQS to deliver again
        assert handle_batch([start_record("7")], jobs_aws.start_dlq) == {"batchItemFailures": [{"itemIdentifier": "7"}]}


def test_a_redelivery_through_step_functions_starts_one_execution(
    jobs_aws: JobsAws, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.jobs import starter

    # GIVEN a job started once (moto Step Functions)
    assert starter.handle_batch([start_record("1")], jobs_aws.start_dlq) == {"batchItemFailures": []}
    # WHEN its start message comes back after the visibility timeout (its input now holds a later
    # deadline, so Step Functions answers ExecutionAlreadyExists rather than the same execution)
    later = time.time() + 60
    monkeypatch.setattr(starter, "time", SimpleNamespace(time=lambda: later))
    with caplog.at_level(logging.INFO, logger="handlers.jobs.starter"):
        assert starter.handle_batch([start_record("2")], jobs_aws.start_dlq) == {"batchItemFailures": []}
    # THEN there is still one execution, the starter said why it counted the second as started,
    # and nothing went to the DLQ
    assert [r.getMessage() for r in caplog.records if r.name == "handlers.jobs.starter"] == [ALREADY_STARTED]
    executions = jobs_aws.sfn.list_executions(stateMachineArn=jobs_aws.state_machine)["executions"]
    assert [e["name"] for e in executions] == [JOB]
    assert "Messages" not in jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.start_dlq)
