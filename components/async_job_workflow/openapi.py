"""The job API as documents: the OpenAPI description of the routes, the submit body's schema,
and the throttle each route gets from the capacity of the function behind it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .. import defaults


def route_throttle(reserved_concurrency: int | None, latency_ms: int) -> dict[str, Any]:
    """Throttle a route at what its function can serve (Little's law: concurrency / latency), so
    excess is shed at the edge with a 429 rather than throttled by Lambda behind it."""
    concurrency = reserved_concurrency or defaults.FUNCTION_RESERVED_CONCURRENCY
    rate = min(concurrency * 1000 // latency_ms, defaults.API_ACCOUNT_BURST_MAX)
    return {"rate": float(max(rate, 1)), "burst": int(max(rate, 1))}


def submit_body_schema(input_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The submit body (JSON schema draft 4, which API Gateway models speak)."""
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["input"],
        "additionalProperties": False,
        "properties": {
            "input": dict(input_schema),
            "callback_url": {"type": "string", "pattern": "^https://", "maxLength": 2048},
        },
    }


_ERROR_DETAIL: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "additionalProperties": False,
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": _ERROR_DETAIL},
}


_STATUS_ENUM = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"]
_JOB_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"}


def _responses(ok: int, ok_schema: Mapping[str, Any], errors: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {str(ok): {"description": "success", "content": {"application/json": {"schema": ok_schema}}}}
    for code in (*errors, 503):
        out[str(code)] = {"description": "error", "content": {"application/json": {"schema": _ERROR}}}
    return out


# The answers' schemas: every field a client may read, and no other.
_ACCEPTED = {
    "type": "object",
    "required": ["job_id", "status", "created_at", "status_url", "result_url"],
    "additionalProperties": False,
    "properties": {
        "job_id": _JOB_ID,
        "status": {"enum": ["queued"]},
        "created_at": {"type": "string"},
        "status_url": {"type": "string"},
        "result_url": {"type": "string"},
        "callback": {"type": "object"},
        "push": {"type": "object", "required": ["url", "token", "expires_at"]},
    },
}
_STATUS = {
    "type": "object",
    "required": ["job_id", "status", "links"],
    "additionalProperties": False,
    "properties": {
        "job_id": _JOB_ID,
        "status": {"enum": _STATUS_ENUM},
        **{k: {"type": "string"} for k in ("created_at", "updated_at", "started_at", "finished_at")},
        "error": _ERROR_DETAIL,
        "links": {"type": "object"},
    },
}
_RESULT = {
    "type": "object",
    "required": ["job_id", "url", "expires_in"],
    "additionalProperties": False,
    "properties": {"job_id": _JOB_ID, "url": {"type": "string"}, "expires_in": {"type": "integer"}},
}
_CANCELLED = {
    "type": "object",
    "required": ["job_id", "status"],
    "additionalProperties": False,
    "properties": {"job_id": _JOB_ID, "status": {"enum": ["cancelled"]}},
}
_REGISTERED = {
    "type": "object",
    "required": ["url", "all_jobs", "verified", "secret"],
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string"},
        "all_jobs": {"type": "boolean"},
        "verified": {"const": True},
        "secret": {"type": "string"},
    },
}
_HOOK_BODY = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {"url": {"type": "string"}, "all_jobs": {"type": "boolean"}},
}


def openapi_document(path: str, input_schema: Mapping[str, Any], *, webhooks: bool = True) -> dict[str, Any]:
    """The routes as OpenAPI 3.0: what clients may send and every answer they may get."""
    item = f"{path}/{{job_id}}"
    job_param = [{"name": "job_id", "in": "path", "required": True, "schema": _JOB_ID}]
    body = submit_body_schema(input_schema)
    body.pop("$schema")
    paths: dict[str, Any] = {
        path: {
            "post": {
                "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": _responses(202, _ACCEPTED, (400, 409, 422)),
            }
        },
        item: {
            "get": {"parameters": job_param, "responses": _responses(200, _STATUS, (400, 404))},
            "delete": {"parameters": job_param, "responses": _responses(202, _CANCELLED, (400, 404, 409))},
        },
        f"{item}/result": {
            "get": {"parameters": job_param, "responses": _responses(200, _RESULT, (400, 404, 409, 410))}
        },
    }
    if webhooks:
        paths[f"{path}/webhooks"] = {
            "post": {
                "requestBody": {"required": True, "content": {"application/json": {"schema": _HOOK_BODY}}},
                "responses": _responses(201, _REGISTERED, (400, 422)),
            }
        }
    # A copy: the caller may edit its document without changing the next one.
    return copy.deepcopy({"openapi": "3.0.3", "info": {"title": f"jobs at {path}", "version": "1"}, "paths": paths})
