"""GET /jobs/{job_id}: the job's status with its timestamps, and its error when it failed."""

from __future__ import annotations

from typing import Any

from .common import ApiError, answer, config, effective_status, error, job_id_of, load_job, parse_request

__all__ = ["lambda_handler", "status"]

TIMESTAMPS = ("created_at", "updated_at", "started_at", "finished_at")


def view(job: dict[str, Any]) -> dict[str, Any]:
    cfg = config()
    state = effective_status(job, cfg.execution_timeout_s)
    body: dict[str, Any] = {"job_id": job["job_id"], "status": state}
    body |= {k: job[k] for k in TIMESTAMPS if job.get(k)}
    if state in ("failed", "timed_out"):
        code = job.get("error") or ("States.Timeout" if state == "timed_out" else "Jobs.Failed")
        body["error"] = {"code": code, "message": job.get("cause") or code}
    body["links"] = {"self": f"{cfg.path}/{job['job_id']}", "result": f"{cfg.path}/{job['job_id']}/result"}
    return body


def status(event: dict[str, Any]) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        request = parse_request(event)
        job = load_job(job_id_of(request), request.caller)
    except ApiError as exc:
        return error(exc)
    except (ClientError, BotoCoreError):
        return error(ApiError(503, "unavailable", "the job store is unavailable; retry later", {"Retry-After": "1"}))
    return answer(200, view(job))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return status(event)
