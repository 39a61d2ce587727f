"""The AsyncJobWorkflow state machine, generated from code (see ``asl``).

    MarkRunning --(queued -> running, conditional)--> RunWorker --> RecordSucceeded
        |  ConditionalCheckFailed (cancelled, or a duplicate Express start): NotRunnable (Succeed)
        |  anything else: RecordFailed
    RunWorker  --States.Timeout / HeartbeatTimeout--> RecordTimedOut --> [PushTimedOut] --> ...
               --any other error, after retries----> RecordFailed   --> [PushFailed]   --> ...
    RecordSucceeded --> [PushSucceeded] --> [NotifySucceeded] --> Done (Succeed)
    RecordFailed / RecordTimedOut --> ... --> [NotifyFailed / NotifyTimedOut] --> JobFailed / JobTimedOut (Fail)
    Push<Status> --any error--> RecordPushError<Status> (push_error on the job) --> on as above

Push (a ``PushChannel``) comes after the status is recorded, never before: a job is finished for
pollers the moment its result is stored, and a push that fails changes nothing but ``push_error``.

Every status write is conditional (status only moves forward: a job cancelled while it ran stays
cancelled). Failed and timed-out jobs end the execution in a Fail state, so the state machine's
``ExecutionsFailed`` alarm counts them. The execution's input is what the starter sends:
``{"job_id", "input", "input_pointer", "deadline", "owner"}`` (``input`` null when the job input
is in S3, ``input_pointer`` null when it is inline).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import asl

__all__ = ["TERMINAL_STATES", "WorkflowShape", "workflow_definition"]

DYNAMODB_UPDATE: Final = "arn:aws:states:::dynamodb:updateItem"
LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"
SQS_SEND: Final = "arn:aws:states:::sqs:sendMessage"
CONDITION_FAILED: Final = "DynamoDB.ConditionalCheckFailedException"
# Transient errors of the services the workflow calls; a failed condition is not transient.
DYNAMODB_TRANSIENT: Final = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.AmazonDynamoDBException",
)
LAMBDA_TRANSIENT: Final = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
SQS_TRANSIENT: Final = ("SQS.SdkClientException", "SQS.AmazonSQSException", "States.TaskFailed")
TERMINAL_STATES: Final = ("Done", "JobFailed", "JobTimedOut", "NotRunnable")
# The bookkeeping tasks (a single DynamoDB or SQS call) answer in milliseconds.
BOOKKEEPING_TIMEOUT_S: Final = 10


@dataclass(frozen=True)
class WorkflowShape:
    """What the definition depends on; values may be ``pulumi.Output``."""

    table_name: Any
    worker_arn: Any
    worker_mode: str  # invoke | callback
    task_timeout_s: int
    heartbeat_s: int | None
    execution_timeout_s: int
    worker_retry: asl.RetryPolicy
    notify_queue_url: Any = None  # webhooks: where terminal jobs are announced
    # PushChannel.workflow_states: called once per recorded terminal status.
    push_states: Callable[..., Mapping[str, Any]] | None = None
    results_bucket: Any = None  # where the worker writes results/<job_id> (sent in its payload)


def _bookkeeping_retry(errors: tuple[str, ...]) -> asl.RetryPolicy:
    return asl.RetryPolicy(errors=errors, interval_s=1, max_attempts=3, backoff_rate=2.0, max_delay_s=10)


def _set_status(
    shape: WorkflowShape,
    status: str,
    *,
    allowed_from: tuple[str, ...],
    extra_sets: Mapping[str, tuple[str, Any]],
    next_state: str,
    on_error: str,
) -> dict[str, Any]:
    """A conditional ``UpdateItem``: ``status`` only if the job is in one of ``allowed_from``."""
    # Every field through a name placeholder: "error", "status" and many more are reserved words.
    names = {"#s": "status"} | {f"#{field}": field for field in extra_sets}
    sets = [f"#s = :{status}", *(f"#{field} = :{field}" for field in extra_sets)]
    values: dict[str, Any] = {f":{status}": {"S": status}}
    values |= {f":from_{s}": {"S": s} for s in allowed_from}
    for field, (kind, path) in extra_sets.items():
        values[f":{field}"] = {f"{kind}.$": path}
    condition = " OR ".join(f"#s = :from_{s}" for s in allowed_from)
    catches = [asl.catch([CONDITION_FAILED], "NotRunnable")]
    catches.append(asl.catch(["States.ALL"], on_error))
    return asl.task(
        DYNAMODB_UPDATE,
        timeout_s=BOOKKEEPING_TIMEOUT_S,
        retry=[_bookkeeping_retry(DYNAMODB_TRANSIENT)],
        catches=catches,
        next_state=next_state,
        parameters={
            "TableName": shape.table_name,
            "Key": {"job_id": {"S.$": "$.job_id"}},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        },
        result_path=None,
    )


def _notify(shape: WorkflowShape, status: str, next_state: str) -> dict[str, Any]:
    return asl.task(
        SQS_SEND,
        timeout_s=BOOKKEEPING_TIMEOUT_S,
        retry=[_bookkeeping_retry(SQS_TRANSIENT)],
        catches=[asl.catch(["States.ALL"], "NotifyLost", "$.notify_error")],
        next_state=next_state,
        parameters={
            "QueueUrl": shape.notify_queue_url,
            "MessageBody": {"job_id.$": "$.job_id", "status": status},
        },
        result_path=None,
        comment="Announce the terminal status to the webhook dispatcher",
    )


def _worker(shape: WorkflowShape, after: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "job_id.$": "$.job_id",
        "input.$": "$.input",
        "input_pointer.$": "$.input_pointer",
        "deadline.$": "$.deadline",
        # The worker is created before the workflow, so it cannot get these as environment
        # variables: where to write and which job table to read travel with each job.
        "results_bucket": shape.results_bucket,
        "result_key.$": "States.Format('results/{}', $.job_id)",
        "jobs_table": shape.table_name,
    }
    callback = shape.worker_mode == "callback"
    if callback:
        payload["task_token.$"] = "$$.Task.Token"
        payload["heartbeat_s"] = shape.heartbeat_s
        selector = {"bucket.$": "$.bucket", "key.$": "$.key"}
    else:
        selector = {"bucket.$": "$.Payload.bucket", "key.$": "$.Payload.key"}
    return asl.task(
        LAMBDA_INVOKE + (asl.CALLBACK_SUFFIX if callback else ""),
        timeout_s=shape.task_timeout_s,
        heartbeat_s=shape.heartbeat_s if callback else None,
        retry=[shape.worker_retry],
        catches=[
            asl.catch(["States.Timeout", "States.HeartbeatTimeout"], "RecordTimedOut"),
            asl.catch(["States.ALL"], "RecordFailed"),
        ],
        next_state=after,
        parameters={"FunctionName": shape.worker_arn, "Payload": payload},
        result_selector=selector,
        result_path="$.result",
        comment="The user's worker: writes the result to S3 and answers {bucket, key}",
    )


def _place_push(shape: WorkflowShape, states: dict[str, Any], status: str, title: str, then: str) -> str:
    """``Push<Title>`` and its fallback ``RecordPushError<Title>`` between the status record and
    ``then``; the state the record goes on to."""
    assert shape.push_states is not None
    entry, fallback = f"Push{title}", f"RecordPushError{title}"
    states.update(shape.push_states(status=status, entry=entry, next_state=then, fallback_state=fallback))
    states[fallback] = asl.task(
        DYNAMODB_UPDATE,
        timeout_s=BOOKKEEPING_TIMEOUT_S,
        retry=[_bookkeeping_retry(DYNAMODB_TRANSIENT)],
        catches=[asl.catch(["States.ALL"], then, "$.record_error")],
        next_state=then,
        parameters={
            "TableName": shape.table_name,
            "Key": {"job_id": {"S.$": "$.job_id"}},
            "UpdateExpression": "SET push_error = :e",
            "ConditionExpression": "attribute_exists(job_id)",  # never create a job by recording this
            "ExpressionAttributeValues": {":e": {"S.$": "States.JsonToString($.push_error)"}},
        },
        result_path=None,
        comment="The push failed: keep the reason on the job; its status stays as recorded",
    )
    return entry


def workflow_definition(shape: WorkflowShape) -> dict[str, Any]:
    """The ASL definition (a dict; values may be Outputs)."""
    notify = shape.notify_queue_url is not None
    states: dict[str, Any] = {}
    states["MarkRunning"] = _set_status(
        shape,
        "running",
        allowed_from=("queued",),
        extra_sets={"started_at": ("S", "$$.State.EnteredTime"), "execution_arn": ("S", "$$.Execution.Id")},
        next_state="RunWorker",
        on_error="RecordFailed",
    )
    states["RunWorker"] = _worker(shape, "RecordSucceeded")
    ends = {"succeeded": "Done", "failed": "JobFailed", "timed_out": "JobTimedOut"}
    record_names = {"succeeded": "RecordSucceeded", "failed": "RecordFailed", "timed_out": "RecordTimedOut"}
    for status, record in record_names.items():
        then = f"Notify{record.removeprefix('Record')}" if notify else ends[status]
        if notify:
            states[then] = _notify(shape, status, ends[status])
        if shape.push_states is not None:
            then = _place_push(shape, states, status, record.removeprefix("Record"), then)
        extra: dict[str, tuple[str, Any]] = {"finished_at": ("S", "$$.State.EnteredTime")}
        if status == "succeeded":
            extra |= {"result_bucket": ("S", "$.result.bucket"), "result_key": ("S", "$.result.key")}
        else:
            extra |= {"error": ("S", "$.error.Error"), "cause": ("S", "States.Format('{}', $.error.Cause)")}
        states[record] = _set_status(
            shape,
            status,
            allowed_from=("running",) if status == "succeeded" else ("queued", "running"),
            extra_sets=extra,
            next_state=then,
            on_error="RecordFailed" if status == "succeeded" else "RecordingLost",
        )
    states["Done"] = asl.succeed("The result is in S3 and recorded on the job")
    states["NotRunnable"] = asl.succeed("The job was no longer queued or running (cancelled, or a repeated start)")
    states["JobFailed"] = asl.fail("Jobs.Failed", "The worker failed after its retries; recorded on the job")
    states["JobTimedOut"] = asl.fail("Jobs.TimedOut", "The worker passed its deadline; recorded on the job")
    states["RecordingLost"] = asl.fail("Jobs.RecordingFailed", "The job table refused the final status")
    if notify:
        states["NotifyLost"] = asl.fail("Jobs.NotifyFailed", "The webhook queue refused the notification")
    return asl.state_machine(
        "MarkRunning",
        states,
        timeout_s=shape.execution_timeout_s,
        comment="AsyncJobWorkflow: run one job, record its status, hand the result back",
    )
