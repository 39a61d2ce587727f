"""What every job handler shares: configuration from the environment, clients, API events of
both API Gateway flavours, JSON error answers, job ids, callers, and forward-only status writes.

Status moves forward only: queued -> running -> one of succeeded, failed, timed_out, cancelled.
Every write is a DynamoDB conditional update naming the states it may come from, so two writers
racing (a cancel and the workflow's success) leave exactly one winner and the loser learns it.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any, Final

from ..resilience import contract
from ..resilience.clients import aws_client

__all__ = [
    "ALLOWED_FROM",
    "MAX_JSON_DEPTH",
    "TERMINAL",
    "ApiError",
    "ApiRequest",
    "Config",
    "answer",
    "config",
    "effective_status",
    "error",
    "is_standard_execution",
    "new_job_id",
    "parse_json",
    "parse_request",
    "transition",
]

JOB_ID: Final = re.compile(r"^[A-Za-z0-9_-]{22}$")  # token_urlsafe(16): 128 random bits
TERMINAL: Final = ("succeeded", "failed", "timed_out", "cancelled")
STATUSES: Final = ("queued", "running", *TERMINAL)
ALLOWED_FROM: Final[dict[str, tuple[str, ...]]] = {
    "running": ("queued",),
    "succeeded": ("running",),
    "failed": ("queued", "running"),
    "timed_out": ("queued", "running"),
    "cancelled": ("queued", "running"),
}
ANONYMOUS: Final = "anonymous"
# How deeply a request body may nest arrays and objects, the body itself counting as level 1.
# Deeper bodies are refused before they are parsed: Python's JSON decoder and copy.deepcopy (the
# idempotency layer copies each keyed request) recurse once per level and fail with RecursionError
# at a few hundred levels, a 5xx for a client's mistake. A job input may nest 31 levels.
MAX_JSON_DEPTH: Final = 32
# A JSON string, escapes included; an unterminated one runs to the end. The closing quote is
# optional so that a match never fails after scanning ahead: the scan stays linear in the body.
_JSON_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET: Final = bytes(b for b in range(256) if b not in b"[]{}")
_NESTING_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


@dataclass(frozen=True)
class Config:
    """The function's environment, set by AsyncJobWorkflow (``contract.JOB_CONFIG``)."""

    table: str
    idempotency_table: str
    bucket: str
    path: str
    result_url_ttl_s: int
    result_retention_s: int
    job_ttl_s: int
    idempotency_ttl_s: int
    max_body_bytes: int
    inline_input_bytes: int
    execution_timeout_s: int
    state_machine_arn: str
    start_queue_url: str | None
    input_schema: Mapping[str, Any]
    push_url: str | None
    push_token_ttl_s: int

    @classmethod
    def from_env(cls, env: Mapping[str, str], module: str = "handlers.jobs") -> Config:
        """Read through the declared contract: a missing table, bucket or state machine is a
        ``MissingVariable`` naming it, never a guess at someone else's resource."""
        v = contract.read(contract.JOB_CONFIG, env, module=module)
        return cls(
            table=v["JOBS_TABLE"],
            idempotency_table=v["IDEMPOTENCY_TABLE"],
            bucket=v["RESULTS_BUCKET"],
            path=v["JOBS_PATH"],
            result_url_ttl_s=v["RESULT_URL_TTL_S"],
            result_retention_s=v["RESULT_RETENTION_S"],
            job_ttl_s=v["JOB_TTL_S"],
            idempotency_ttl_s=v["IDEMPOTENCY_TTL_S"],
            max_body_bytes=v["MAX_BODY_BYTES"],
            inline_input_bytes=v["INLINE_INPUT_BYTES"],
            execution_timeout_s=v["EXECUTION_TIMEOUT_S"],
            state_machine_arn=v["STATE_MACHINE_ARN"],
            start_queue_url=v["START_QUEUE_URL"],
            input_schema=v["INPUT_SCHEMA"],
            push_url=v["PUSH_URL"],
            push_token_ttl_s=v["PUSH_TOKEN_TTL_S"],
        )


@functools.cache
def config() -> Config:
    return Config.from_env(os.environ)


def client(service: str) -> Any:
    return aws_client(service)


class ApiError(Exception):
    """A client mistake (4xx) with a machine-readable code and a sentence naming the problem."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


def answer(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store", **dict(headers or {})},
        "body": json.dumps(body, sort_keys=True),
    }


def error(exc: ApiError) -> dict[str, Any]:
    return answer(exc.status, {"error": {"code": exc.code, "message": exc.message}}, exc.headers)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    headers: dict[str, str]  # lower-cased names
    path_parameters: dict[str, str]
    body: bytes | None
    caller: str


def _cognito_identity(pool_id: Any, identity_id: Any) -> str | None:
    """A Cognito identity pool user: every user of a pool signs as the pool's one role, so the role
    ARN names the pool, not the user; the identity id names the user (unique within its pool)."""
    if isinstance(identity_id, str) and identity_id:
        return f"cognito:{pool_id if isinstance(pool_id, str) and pool_id else '(no pool)'}/{identity_id}"
    return None


def _token_subject(claims: Mapping[str, Any]) -> str | None:
    """A JWT's subject, qualified by its issuer: ``sub`` is unique only within the issuer that
    minted it, and one API may trust several issuers (user pools, OIDC providers)."""
    sub, iss = claims.get("sub"), claims.get("iss")
    if not isinstance(sub, str) or not sub:
        return None
    return f"{iss}#{sub}" if isinstance(iss, str) and iss else sub


def _caller(context: Mapping[str, Any]) -> str:
    """The caller's identity, the owner of the jobs it submits (the README's table lists them):
    a Lambda authorizer's principal; else a JWT's ``iss#sub``; else, on IAM-signed routes, the
    Cognito identity pool user (``cognito:<pool id>/<identity id>``) or the signing principal's
    ARN (``identity.userArn`` on REST, ``authorizer.iam.userArn`` on HTTP); else the REST API key
    id; else anonymous."""
    authorizer = _mapping(context.get("authorizer"))
    jwt = _mapping(authorizer.get("jwt"))
    claims = _mapping(jwt.get("claims")) or _mapping(authorizer.get("claims"))
    lambda_ctx = _mapping(authorizer.get("lambda"))
    iam = _mapping(authorizer.get("iam"))
    cognito = _mapping(iam.get("cognitoIdentity"))
    identity = _mapping(context.get("identity"))
    for candidate in (
        authorizer.get("principalId"),
        lambda_ctx.get("principalId"),
        _token_subject(claims),
        _cognito_identity(cognito.get("identityPoolId"), cognito.get("identityId")),
        iam.get("userArn"),
        _cognito_identity(identity.get("cognitoIdentityPoolId"), identity.get("cognitoIdentityId")),
        identity.get("userArn"),
        identity.get("apiKeyId"),
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return ANONYMOUS


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_request(event: Mapping[str, Any]) -> ApiRequest:
    """A REST (v1) or HTTP (v2) proxy event as one shape."""
    context = event.get("requestContext") or {}
    method = event.get("httpMethod") or (context.get("http") or {}).get("method") or ""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body")
    body: bytes | None = None
    if raw is not None:
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw, validate=True)
            except ValueError as exc:
                raise ApiError(400, "malformed_body", "the body is not valid base64") from exc
        else:
            try:
                body = str(raw).encode()
            except UnicodeEncodeError as exc:  # a lone surrogate (a JSON "\udc80" escape gives one)
                raise ApiError(400, "malformed_body", "the body is not valid UTF-8") from exc
    return ApiRequest(
        method=str(method).upper(),
        headers=headers,
        path_parameters=dict(event.get("pathParameters") or {}),
        body=body,
        caller=_caller(context),
    )


def json_depth(body: bytes) -> int:
    """How deeply ``body`` nests arrays and objects, brackets inside strings aside, without parsing
    it (linear, in C: a 1 MB body costs milliseconds)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET)
    return max(accumulate(map(_NESTING_STEP.__getitem__, brackets)), default=0)


def parse_json(body: bytes | None) -> Any:
    """The body as JSON; a 400 naming the problem when it is not JSON or nests deeper than
    ``MAX_JSON_DEPTH``."""
    raw = body or b""
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(
            400, "too_deeply_nested", f"the body nests {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted"
        )
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not JSON: {exc}") from exc


def new_job_id() -> str:
    """128 random bits, URL-safe: unguessable and never sequential."""
    return secrets.token_urlsafe(16)


def job_id_of(request: ApiRequest) -> str:
    job_id = request.path_parameters.get("job_id", "")
    if not JOB_ID.match(job_id):
        raise ApiError(400, "malformed_job_id", f"job id {job_id[:64]!r} is not a job id (22 URL-safe characters)")
    return job_id


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (S, N, BOOL, NULL attributes) as plain values."""
    out: dict[str, Any] = {}
    for key, typed in item.items():
        ((kind, value),) = typed.items()
        out[key] = float(value) if kind == "N" else (None if kind == "NULL" else value)
    return out


def load_job(job_id: str, caller: str, *, table: str | None = None) -> dict[str, Any]:
    """The job if ``caller`` owns it; 404 for unknown ids and for other callers' jobs alike, so an
    id says nothing about whether it exists."""
    response = client("dynamodb").get_item(
        TableName=table or config().table, Key={"job_id": {"S": job_id}}, ConsistentRead=True
    )
    item = response.get("Item")
    if item is None or item.get("owner", {}).get("S", ANONYMOUS) != caller:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}")
    return plain(item)


def transition(job_id: str, to: str, *, extra: Mapping[str, str] | None = None, table: str | None = None) -> bool:
    """Move the job to ``to`` if it is in a state that may precede it; False when another writer
    got there first (or the job does not exist)."""
    if to not in ALLOWED_FROM:
        raise ValueError(f"status {to!r} is not one of {', '.join(ALLOWED_FROM)}")
    names = {"#s": "status", "#u": "updated_at"}
    values: dict[str, Any] = {":to": {"S": to}, ":now": {"S": now_iso()}}
    sets = ["#s = :to", "#u = :now"]
    for i, (field, value) in enumerate((extra or {}).items()):
        names[f"#e{i}"] = field
        values[f":e{i}"] = {"S": value}
        sets.append(f"#e{i} = :e{i}")
    allowed = ALLOWED_FROM[to]
    values |= {f":f{i}": {"S": s} for i, s in enumerate(allowed)}
    condition = "attribute_exists(job_id) AND (" + " OR ".join(f"#s = :f{i}" for i in range(len(allowed))) + ")"
    try:
        client("dynamodb").update_item(
            TableName=table or config().table,
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except client("dynamodb").exceptions.ConditionalCheckFailedException:
        return False
    return True


def effective_status(job: Mapping[str, Any], execution_timeout_s: int, now: float | None = None) -> str:
    """The job's state as every reader reports it (status, result, cancel): the recorded status,
    except that a job still running past its execution's deadline (``started_at`` plus the
    execution timeout: the execution is gone, and an Express one leaves no event to record it)
    is timed out. Forward-only: once reported timed out it is never reported otherwise."""
    status = str(job.get("status", "queued"))
    started = epoch(job.get("started_at"))
    if status == "running" and started is not None and (now or time.time()) > started + execution_timeout_s:
        return "timed_out"
    return status


def is_standard_execution(execution_arn: str) -> bool:
    """``arn:aws:states:<region>:<account>:execution:...`` (Standard) rather than ``...:express:...``:
    ``StopExecution`` (and any IAM grant on ``:execution:``) exists for Standard executions only."""
    parts = execution_arn.split(":")
    return len(parts) > 5 and parts[5] == "execution"
