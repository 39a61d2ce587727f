"""GET /jobs/{job_id}/result: a short-lived pre-signed URL to the result.

409 while the job has no result (queued, running, or ended without one), 404 for an unknown id
(or another caller's), 410 once the result has expired (the bucket's lifecycle removed it).
Signing is local: no AWS call beyond reading the job.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from .common import ApiError, answer, config, effective_status, epoch, error, job_id_of, load_job, parse_request

__all__ = ["lambda_handler", "result", "signer"]


@functools.cache
def signer() -> Any:
    """An S3 client that signs with SigV4 (X-Amz-Expires, honoured up to 7 days; SigV2 is refused
    in newer regions). Signing is local: this client never calls AWS."""
    from botocore.config import Config  # noqa: PLC0415

    from ..resilience.clients import _session  # noqa: PLC0415

    return _session().create_client("s3", config=Config(signature_version="s3v4"))


def result_url(job: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    cfg = config()
    job_id = job["job_id"]
    state = effective_status(job, cfg.execution_timeout_s)
    if state != "succeeded":
        if state in ("queued", "running"):
            raise ApiError(
                409, "not_ready", f"job {job_id!r} is {state}; poll {cfg.path}/{job_id}", {"Retry-After": "5"}
            )
        raise ApiError(409, "no_result", f"job {job_id!r} is {state} and has no result")
    finished = epoch(job.get("finished_at")) or 0.0
    if (now or time.time()) > finished + cfg.result_retention_s:
        raise ApiError(
            410, "result_expired", f"the result of job {job_id!r} expired {cfg.result_retention_s} s after it finished"
        )
    url = signer().generate_presigned_url(
        "get_object",
        Params={"Bucket": job.get("result_bucket") or cfg.bucket, "Key": job["result_key"]},
        ExpiresIn=cfg.result_url_ttl_s,
    )
    return {"job_id": job_id, "url": url, "expires_in": cfg.result_url_ttl_s}


def result(event: dict[str, Any]) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        request = parse_request(event)
        body = result_url(load_job(job_id_of(request), request.caller))
    except ApiError as exc:
        return error(exc)
    except (ClientError, BotoCoreError):
        return error(ApiError(503, "unavailable", "the job store is unavailable; retry later", {"Retry-After": "1"}))
    return answer(200, body)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return result(event)
