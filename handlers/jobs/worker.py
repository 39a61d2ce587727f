"""A sample worker: renders a report (CSV) from rows, honouring cancellation and its deadline.

The workflow invokes it with ``{job_id, input, input_pointer, deadline}`` (plus ``task_token``
in callback mode). Between chunks it checks the job's status (a cancelled job stops) and the
time left (the earlier of the execution's deadline and the Lambda timeout, with a margin), so it
never writes a result nobody will read.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any, Final

from .common import client, config

__all__ = ["DeadlineExceeded", "JobCancelled", "lambda_handler", "render"]

CHUNK: Final = 500  # rows between two cancellation checks
MARGIN_S: Final = 2.0  # stop this long before the deadline, so the answer still arrives


class JobCancelled(Exception):
    pass


class DeadlineExceeded(Exception):
    pass


def render(
    job_id: str, spec: dict[str, Any], *, cancelled: Callable[[], bool], time_left: Callable[[], float]
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
        writer.writerows(rows[start : start + CHUNK])
    return out.getvalue().encode()


def _input(event: dict[str, Any]) -> dict[str, Any]:
    pointer = event.get("input_pointer")
    if pointer:
        body = client("s3").get_object(Bucket=pointer["bucket"], Key=pointer["key"])["Body"].read()
        loaded: dict[str, Any] = json.loads(body)
        return loaded
    return dict(event.get("input") or {})


def run(event: dict[str, Any], remaining_s: Callable[[], float]) -> dict[str, str]:
    cfg = config()
    job_id = event["job_id"]
    deadline = float(event.get("deadline") or 0) or float("inf")

    def cancelled() -> bool:
        item = (
            client("dynamodb")
            .get_item(
                TableName=cfg.table,
                Key={"job_id": {"S": job_id}},
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "status"},
            )
            .get("Item")
        )
        return item is None or item["status"]["S"] == "cancelled"

    def time_left() -> float:
        return min(remaining_s(), deadline - time.time())

    report = render(job_id, _input(event), cancelled=cancelled, time_left=time_left)
    key = f"results/{job_id}"
    client("s3").put_object(Bucket=cfg.bucket, Key=key, Body=report, ContentType="text/csv")
    return {"bucket": cfg.bucket, "key": key}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    token = event.get("task_token")
    remaining = (lambda: context.get_remaining_time_in_millis() / 1000) if context else (lambda: float("inf"))
    if not token:
        return run(event, remaining)
    sfn = client("stepfunctions")
    try:
        answer = run(event, remaining)
    except (JobCancelled, DeadlineExceeded) as exc:
        sfn.send_task_failure(taskToken=token, error=type(exc).__name__, cause=str(exc))
        raise
    sfn.send_task_success(taskToken=token, output=json.dumps(answer))
    return answer
