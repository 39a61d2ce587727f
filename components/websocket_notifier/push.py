"""How a job's terminal status reaches its subscribers: the states AsyncJobWorkflow runs after
recording the status (one Request Response invoke of notify, never gating the job)."""

from __future__ import annotations

from typing import Any

import pulumi

# Shared with ThrottledApi (the same checks and log fields for every flavour of the front door).

# Lambda faults worth a retry inside the state machine (the function's own errors are not).
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


# Step Functions gives the notify Lambda this long beyond its own timeout to answer.
NOTIFY_TASK_MARGIN_S = 5
# JOBS_TABLE of a notifier no workflow bound: parentheses make it no valid DynamoDB table name, so it
# never names a real table (handlers.push.store.NO_JOB_TABLE reads the same literal).
NO_JOB_TABLE = "(none)"
# The terminal statuses a workflow announces (AsyncJobWorkflow records them).
PUSHED_STATUSES = ("succeeded", "failed", "timed_out")


def push_states(
    *,
    notify_function: Any,
    partition: Any,
    notify_timeout_s: int,
    status: str,
    entry: str,
    next_state: str,
    fallback_state: str,
) -> dict[str, Any]:
    """The ASL state ``entry``: tell the job's subscribers it ended with ``status``, already
    recorded. A Request Response ``lambda:invoke`` (Express workflows run no other pattern):
    nothing waits for a client. Values may be Pulumi outputs; plain strings give plain ASL."""
    if isinstance(partition, str):
        invoke_resource: Any = f"arn:{partition}:states:::lambda:invoke"
    else:
        invoke_resource = pulumi.Output.concat("arn:", partition, ":states:::lambda:invoke")
    retry = [
        {
            "ErrorEquals": LAMBDA_SERVICE_ERRORS,
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 10,  # capped: 1, 2, 4 s with full jitter, never more than 10 s
            "JitterStrategy": "FULL",
        }
    ]
    return {
        entry: {
            "Type": "Task",
            "Comment": f"Tell the job's subscribers it {status.replace('_', ' ')} (recorded already; a failed "
            "push never changes the job's status)",
            "Resource": invoke_resource,
            "Parameters": {"FunctionName": notify_function, "Payload": {"job_id.$": "$.job_id", "status": status}},
            "ResultSelector": {"delivered.$": "$.Payload.delivered", "gone.$": "$.Payload.gone"},
            "ResultPath": "$.push",
            "TimeoutSeconds": notify_timeout_s + NOTIFY_TASK_MARGIN_S,
            "Retry": retry,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.push_error", "Next": fallback_state}],
            "Next": next_state,
        }
    }
