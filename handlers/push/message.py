"""What a subscriber is told when its job ends: one JSON message, built from the job as recorded.

Every message carries ``job_id`` and ``status``: a client may be told twice (the workflow's push
and its own subscribe can both see the ended job) and drops the second copy by those two.

- ``succeeded``: the result inline when the message fits in ``inline_max_bytes`` (default one
  32 KB frame), else a pre-signed S3 URL (the WebSocket message limit is 128 KB).
- ``failed`` / ``timed_out``: the recorded error name; ``cancelled``: nothing more.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ..resilience.contract import PUSH_MESSAGE, read
from .store import status_of

__all__ = ["NotifyConfig", "message_for", "message_for_job"]


@dataclass(frozen=True)
class NotifyConfig:
    inline_max_bytes: int = 32 * 1024
    url_ttl_s: int = 900
    concurrency: int = 8

    @classmethod
    def from_env(cls, environ: Any = None) -> NotifyConfig:
        env = os.environ if environ is None else environ
        values = read(PUSH_MESSAGE, env, module="handlers.push")
        return cls(values["PUSH_INLINE_MAX_BYTES"], values["PUSH_RESULT_URL_TTL_S"], values["PUSH_NOTIFY_CONCURRENCY"])


def message_for(job_id: str, result: dict[str, Any], s3: Any, config: NotifyConfig) -> bytes:
    """A succeeded job's message: the result inline when it fits, else a pre-signed URL."""
    bucket, key = result["bucket"], result["key"]
    head = {"type": "result", "job_id": job_id, "status": "succeeded"}
    size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    if size <= config.inline_max_bytes:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            inline: Any = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested beyond the parser: sent as text
            inline = body.decode("utf-8", errors="replace")
        message = json.dumps({**head, "result": inline}).encode()
        if len(message) <= config.inline_max_bytes:
            return message
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=config.url_ttl_s)
    return json.dumps({**head, "url": url, "expires_in_s": config.url_ttl_s, "bytes": size}).encode()


def message_for_job(job: dict[str, Any], s3: Any, config: NotifyConfig) -> bytes:
    """The message for an ended job (a DynamoDB item of the job table)."""
    job_id = job["job_id"]["S"]
    status = status_of(job)
    if status == "succeeded":
        bucket = (job.get("result_bucket") or {}).get("S")
        key = (job.get("result_key") or {}).get("S")
        return message_for(job_id, {"bucket": bucket, "key": key}, s3, config)
    message: dict[str, Any] = {"type": "result", "job_id": job_id, "status": status}
    error = (job.get("error") or {}).get("S")
    if error and status != "cancelled":
        message["error"] = error
    return json.dumps(message).encode()
