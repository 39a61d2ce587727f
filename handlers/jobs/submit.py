"""POST /jobs: validate, record the job, queue its start, answer 202 at once.

Idempotent on ``Idempotency-Key`` (Powertools idempotency on DynamoDB, scoped to the caller): a
retried submit returns the same job; the same key with another body is a 422. A backend failure
answers 503 with Retry-After (never a 2xx for a job that was not queued); the idempotency record
is then released, so the client's retry starts afresh.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import time
from typing import Any, Final

from .common import (
    ANONYMOUS,
    ApiError,
    ApiRequest,
    answer,
    client,
    config,
    error,
    new_job_id,
    now_iso,
    parse_json,
    parse_request,
    transition,
)

__all__ = ["lambda_handler", "submit"]

FIELDS: Final = ("input", "callback_url")
KEY_CHARS: Final = frozenset(chr(c) for c in range(0x21, 0x7F))
KEY_MAX: Final = 255


def _body(request: ApiRequest) -> dict[str, Any]:
    cfg = config()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(
            400, "unsupported_content_type", f"Content-Type {content_type or '(none)'!r} must be application/json"
        )
    body = request.body or b""
    if len(body) > cfg.max_body_bytes:
        raise ApiError(
            400, "body_too_large", f"the body has {len(body)} bytes; at most {cfg.max_body_bytes} are accepted"
        )
    parsed = parse_json(body)
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_body", f"the body must be a JSON object, got {type(parsed).__name__}")
    unknown = sorted(set(parsed) - set(FIELDS))
    if unknown:
        raise ApiError(400, "unknown_fields", f"unknown fields {', '.join(unknown)} (allowed: {', '.join(FIELDS)})")
    if "input" not in parsed:
        raise ApiError(400, "missing_input", "the body needs an 'input' field")
    _check_input(parsed["input"])
    callback = parsed.get("callback_url")
    if callback is not None:
        from .webhooks import check_callback_url, verified_hook  # noqa: PLC0415 (only when a callback is given)

        check_callback_url(callback)
        if verified_hook(request.caller, callback) is None:
            raise ApiError(
                400,
                "unverified_callback_url",
                f"callback_url {callback!r} is not a verified webhook of this caller: "
                f"register it first at POST {config().path}/webhooks",
            )
    return parsed


def _check_input(value: Any) -> None:
    schema = config().input_schema
    if schema == {"type": "object"}:
        if not isinstance(value, dict):
            raise ApiError(400, "invalid_input", f"'input' must be a JSON object, got {type(value).__name__}")
        return
    import jsonschema  # noqa: PLC0415 (only for a workflow with its own input schema)

    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        raise ApiError(400, "invalid_input", f"'input' at {where}: {errors[0].message}")


def _idempotency_key(request: ApiRequest) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= KEY_MAX or not set(key) <= KEY_CHARS:
        raise ApiError(
            400, "malformed_idempotency_key", f"Idempotency-Key must be 1 to {KEY_MAX} visible ASCII characters"
        )
    return key


def _link_prefix(request_context: dict[str, Any]) -> str:
    """``https://<domain>[/<stage>]<path>``, or the bare path when the event names no domain."""
    domain = request_context.get("domainName")
    stage = request_context.get("stage")
    prefix = ""
    if domain:
        prefix = f"https://{domain}" + (f"/{stage}" if stage and stage != "$default" else "")
    return prefix + config().path


def _start(job_id: str, message: dict[str, Any]) -> None:
    cfg = config()
    if cfg.start_queue_url:
        client("sqs").send_message(QueueUrl=cfg.start_queue_url, MessageBody=json.dumps(message))
        return
    from .starter import start_execution  # noqa: PLC0415 (direct start: low rates only)

    start_execution(message)


def create_job(request: dict[str, Any]) -> dict[str, Any]:
    """Record the job and queue its start; the 202 body. Raises on any backend failure."""
    cfg = config()
    job_id = new_job_id()
    created = now_iso()
    encoded = json.dumps(request["input"], separators=(",", ":"))
    item: dict[str, Any] = {
        "job_id": {"S": job_id},
        "status": {"S": "queued"},
        "created_at": {"S": created},
        "updated_at": {"S": created},
        "expires_at": {"N": str(int(time.time()) + cfg.job_ttl_s)},
    }
    if request["caller"] != ANONYMOUS:
        item["owner"] = {"S": request["caller"]}
    message: dict[str, Any] = {"job_id": job_id, "input": request["input"], "input_pointer": None}
    if len(encoded) > cfg.inline_input_bytes:
        # Step Functions and SQS carry 256 KiB: a larger input travels as a pointer to S3.
        key = f"inputs/{job_id}.json"
        client("s3").put_object(Bucket=cfg.bucket, Key=key, Body=encoded.encode(), ContentType="application/json")
        message |= {"input": None, "input_pointer": {"bucket": cfg.bucket, "key": key}}
        item["input_key"] = {"S": key}
    base = f"{request['link_prefix']}/{job_id}"
    body: dict[str, Any] = {
        "job_id": job_id,
        "status": "queued",
        "created_at": created,
        "status_url": base,
        "result_url": f"{base}/result",
    }
    if request.get("callback_url"):
        item["callback_url"] = {"S": request["callback_url"]}
        body["callback"] = {"url": request["callback_url"], "verified": False}
    if cfg.push_url:
        token = secrets.token_urlsafe(32)
        expires = int(time.time()) + cfg.push_token_ttl_s
        item["push_token_sha256"] = {"S": hashlib.sha256(token.encode()).hexdigest()}
        item["push_token_expires_at"] = {"N": str(expires)}
        body["push"] = {"url": cfg.push_url, "token": token, "expires_at": expires}
    client("dynamodb").put_item(TableName=cfg.table, Item=item, ConditionExpression="attribute_not_exists(job_id)")
    try:
        _start(job_id, message)
    except Exception:
        # The job exists but will never run: say so on it, then let the client retry.
        transition(job_id, "failed", extra={"error": "Jobs.StartFailed", "cause": "the start could not be queued"})
        raise
    return body


@functools.cache
def _idempotent_create() -> Any:
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 (only for keyed submits)
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    cfg = config()
    store = DynamoDBPersistenceLayer(table_name=cfg.idempotency_table, boto3_client=client("dynamodb"))
    settings = IdempotencyConfig(
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="body_sha256",
        expires_after_seconds=cfg.idempotency_ttl_s,
    )

    decorated = idempotent_function(data_keyword_argument="request", persistence_store=store, config=settings)
    return decorated(create_job), settings


def submit(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The API answer to one submit event."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        request = parse_request(event)
        body = _body(request)
        key = _idempotency_key(request)
    except ApiError as exc:
        return error(exc)
    data = {
        "caller": request.caller,
        "key": key,
        "body_sha256": hashlib.sha256(request.body or b"").hexdigest(),
        "input": body["input"],
        "callback_url": body.get("callback_url"),
        "link_prefix": _link_prefix(event.get("requestContext") or {}),
    }
    try:
        created = create_job(data) if key is None else _keyed(data, context)
    except ApiError as exc:
        return error(exc)
    except (ClientError, BotoCoreError):
        return error(ApiError(503, "unavailable", "the job could not be queued; retry later", {"Retry-After": "1"}))
    return answer(202, created, {"Location": created["status_url"]})


def _keyed(data: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    try:
        create, settings = _idempotent_create()
        if context is not None:
            # An in-progress record then expires with this invocation, not after the full TTL.
            settings.register_lambda_context(context)
        result: dict[str, Any] = create(request=data)
    except IdempotencyValidationError as exc:
        raise ApiError(
            422, "idempotency_key_reused", "this Idempotency-Key was used with a different body; use a new key"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise ApiError(
            409, "submit_in_progress", "a submit with this Idempotency-Key is in progress", {"Retry-After": "1"}
        ) from exc
    except IdempotencyPersistenceLayerError as exc:
        raise ApiError(503, "unavailable", "the job could not be queued; retry later", {"Retry-After": "1"}) from exc
    return result


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return submit(event, context)
