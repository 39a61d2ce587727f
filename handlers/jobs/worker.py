"""A sample worker: renders a report (CSV) from rows, honouring cancellation and its deadline.

The workflow invokes it with ``{job_id, input, input_pointer, deadline, results_bucket,
result_key, jobs_table}`` (plus ``task_token`` and ``heartbeat_s`` in callback mode): where to
write and what to read travel in the payload, because the worker is the user's function, created
before the workflow, and its environment cannot be added afterwards. Between chunks it checks
the job's status (a cancelled job stops) and the time left (the earlier of the execution's
deadline and the Lambda timeout, with a margin), so it never writes a result nobody will read.

In callback mode every exit reports: the answer with ``SendTaskSuccess``, any exception (bad
input, an S3 refusal, cancellation, the deadline) with ``SendTaskFailure``, and long work sends
``SendTaskHeartbeat`` at half the heartbeat interval, so one late heartbeat does not time it out.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any, Final

from .common import client

__all__ = ["BadInput", "DeadlineExceeded", "JobCancelled", "lambda_handler", "render", "run"]

CHUNK: Final = 500  # rows between two cancellation checks
MARGIN_S: Final = 2.0  # stop this long before the deadline, so the answer still arrives
PAYLOAD_FIELDS: Final = ("job_id", "results_bucket", "result_key", "jobs_table")
CAUSE_MAX: Final = 32_768  # SendTaskFailure's cause limit (characters)


class JobCancelled(Exception):
    pass


class DeadlineExceeded(Exception):
    pass


class BadInput(ValueError):
    """The payload lacks what the workflow always sends: the worker was invoked by something else."""


def render(
    job_id: str,
    spec: dict[str, Any],
    *,
    cancelled: Callable[[], bool],
    time_left: Callable[[], float],
    tick: Callable[[], None] = lambda: None,
) -> bytes:
    rows = spec.get("rows") or []
    columns = list(spec.get("columns") or (sorted(rows[0]) if rows else []))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for start in range(0, len(rows), CHUNK):
        if cancelled():
            raise JobCancelled(f"job {job_id} was cancelled")
        if time_left() < MARGIN_S:
            raise DeadlineExceeded(f"job {job_id} passed its deadline after {start} rows")
        tick()
        writer.writerows(rows[start : start + CHUNK])
    return out.getvalue().encode()


def _input(event: dict[str, Any]) -> dict[str, Any]:
    pointer = event.get("input_pointer")
    if pointer:
        body = client("s3").get_object(Bucket=pointer["bucket"], Key=pointer["key"])["Body"].read()
        loaded: dict[str, Any] = json.loads(body)
        return loaded
    spec = event.get("input") or {}
    if not isinstance(spec, dict):
        raise BadInput(f"input must be a JSON object, not {type(spec).__name__}")
    return dict(spec)


def _where(event: dict[str, Any]) -> tuple[str, str, str, str]:
    missing = [f for f in PAYLOAD_FIELDS if not isinstance(event.get(f), str) or not event.get(f)]
    if missing:
        raise BadInput(f"the payload lacks {', '.join(missing)} (AsyncJobWorkflow sends them with every job)")
    return event["job_id"], event["results_bucket"], event["result_key"], event["jobs_table"]


def run(
    event: dict[str, Any], remaining_s: Callable[[], float], tick: Callable[[], None] = lambda: None
) -> dict[str, str]:
    job_id, bucket, key, table = _where(event)
    deadline = float(event.get("deadline") or 0) or float("inf")

    def cancelled() -> bool:
        item = (
            client("dynamodb")
            .get_item(
                TableName=table,
                Key={"job_id": {"S": job_id}},
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "status"},
            )
            .get("Item")
        )
        return item is None or item["status"]["S"] == "cancelled"

    def time_left() -> float:
        return min(remaining_s(), deadline - time.time())

    report = render(job_id, _input(event), cancelled=cancelled, time_left=time_left, tick=tick)
    client("s3").put_object(Bucket=bucket, Key=key, Body=report, ContentType="text/csv")
    return {"bucket": bucket, "key": key}


def heartbeat(
    sfn: Any, token: str, interval_s: float, clock: Callable[[], float] = time.monotonic
) -> Callable[[], None]:
    """A tick that sends ``SendTaskHeartbeat`` once half of ``interval_s`` has passed since the last."""
    last = clock()

    def tick() -> None:
        nonlocal last
        if clock() - last >= interval_s / 2:
            sfn.send_task_heartbeat(taskToken=token)
            last = clock()

    return tick


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    token = event.get("task_token")
    remaining = (lambda: context.get_remaining_time_in_millis() / 1000) if context else (lambda: float("inf"))
    if not token:
        return run(event, remaining)
    sfn = client("stepfunctions")
    try:
        tick = heartbeat(sfn, token, float(event.get("heartbeat_s") or 60))
        answer = run(event, remaining, tick)
    except Exception as exc:
        # Whatever went wrong, the execution learns it now rather than at its heartbeat timeout.
        sfn.send_task_failure(taskToken=token, error=type(exc).__name__, cause=str(exc)[:CAUSE_MAX])
        raise
    sfn.send_task_success(taskToken=token, output=json.dumps(answer))
    return answer
