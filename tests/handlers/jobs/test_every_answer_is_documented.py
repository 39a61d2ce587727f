"""Schema-driven fuzzing of the job routes: requests drawn from the routes' OpenAPI document (valid
bodies generated from its schemas, and malformed ones beside them) go through a
local adapter (an API Gateway proxy event, REST or HTTP) to the real handlers on moto. Every
answer must be documented for its route: a status the document lists, never a 5xx, and a body
that matches the schema of that status."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from resilient_serverless.components.async_job_workflow import openapi_document

from .conftest import JobsAws, api_event

DOC = openapi_document("/jobs", {"type": "object"})
CASES = 1200
OWNED = {
    "QUEUEDQUEUEDQUEUEDQUEU": "queued",
    "RUNNINGRUNNINGRUNNINGR": "running",
    "SUCCEEDEDSUCCEEDEDSUCC": "succeeded",
    "EXPIREDEXPIREDEXPIREDE": "succeeded",
    "FAILEDFAILEDFAILEDFAIL": "failed",
}
HANDLERS = {
    ("post", "/jobs"): ("submit", "lambda_handler"),
    ("get", "/jobs/{job_id}"): ("status", "lambda_handler"),
    ("delete", "/jobs/{job_id}"): ("cancel", "lambda_handler"),
    ("get", "/jobs/{job_id}/result"): ("result", "lambda_handler"),
    ("post", "/jobs/webhooks"): ("webhooks", "register_handler"),
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:  # noqa: PLR0911 (one return per schema kind)
    """Values valid for the subset of JSON schema the routes' document uses. (hypothesis-jsonschema
    0.23 relies on Hypothesis internals that 6.170 changed: it fails on any object schema.)"""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        if not properties:
            return st.dictionaries(st.text(max_size=8), json_values, max_size=4)
        required = {k: from_schema(properties[k]) for k in schema.get("required", [])}
        optional = {k: from_schema(v) for k, v in properties.items() if k not in required}
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"]).filter(lambda v: len(v) <= schema.get("maxLength", 2048))
        return st.text(max_size=schema.get("maxLength", 40))
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers()
    return json_values


def body_strategy(operation: dict[str, Any]) -> st.SearchStrategy[str | None]:
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    valid = from_schema(schema).map(json.dumps) if schema else st.just("{}")
    return st.one_of(
        valid,
        json_values.map(json.dumps),
        st.text(max_size=40),
        st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
        st.none(),
    )


job_ids = st.one_of(
    st.sampled_from(sorted(OWNED)),
    st.from_regex(r"\A[A-Za-z0-9_-]{22}\Z"),
    st.text(max_size=30),
)
requests = st.sampled_from(sorted(HANDLERS)).flatmap(
    lambda route: st.fixed_dictionaries(
        {
            "route": st.just(route),
            "body": body_strategy(DOC["paths"][route[1]][route[0]]),
            "job_id": job_ids,
            "content_type": st.sampled_from(
                ["application/json", "application/json; charset=utf-8", "text/plain", None]
            ),
            "idempotency_key": st.none() | st.text(max_size=300),
            "caller": st.sampled_from([None, "key-a", "key-b"]),
            "flavor": st.sampled_from(["rest", "http"]),
        }
    )
)


def adapter(request: dict[str, Any]) -> dict[str, Any]:
    """The request as API Gateway would hand it to the route's function."""
    method, template = request["route"]
    job_id = request["job_id"] if "{job_id}" in template else None
    headers: dict[str, str] = {}
    if request["content_type"] is not None:
        headers["Content-Type"] = request["content_type"]
    if request["idempotency_key"] is not None:
        headers["Idempotency-Key"] = request["idempotency_key"]
    event = api_event(
        method.upper(),
        template.replace("{job_id}", job_id or ""),
        raw=request["body"],
        headers=headers,
        job_id=job_id,
        caller=request["caller"],
        flavor=request["flavor"],
    )
    if request["content_type"] is None:
        event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    module, handler = HANDLERS[request["route"]]
    response: dict[str, Any] = getattr(importlib.import_module(f"handlers.jobs.{module}"), handler)(event, None)
    return response


@pytest.fixture
def seeded(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> JobsAws:
    from handlers.jobs import webhooks

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for job_id, status in OWNED.items():
        finished = "2020-01-01T00:00:00Z" if job_id.startswith("EXPIRED") else now
        jobs_aws.put_job(
            job_id, status, owner="key-a", started_at=now, finished_at=finished, result_key=f"results/{job_id}"
        )
    # No network: every endpoint answers the challenge wrongly, so registrations end in 422.
    monkeypatch.setattr(webhooks, "SENDER", [lambda url, body, headers, timeout: (200, b'{"challenge": "no"}')])
    monkeypatch.setattr(webhooks, "RESOLVER", [lambda host, port: ["93.184.216.34"]])
    return jobs_aws


def test_no_request_gets_a_5xx_or_an_undocumented_answer(seeded: JobsAws) -> None:
    seen: dict[tuple[str, str, int], int] = {}

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(requests)
    def check(request: dict[str, Any]) -> None:
        method, template = request["route"]
        response = adapter(request)
        status = response["statusCode"]
        documented = DOC["paths"][template][method]["responses"]
        assert status < 500, (request, response)
        assert str(status) in documented, (request, response)
        schema = documented[str(status)]["content"]["application/json"]["schema"]
        jsonschema.validate(json.loads(response["body"]), schema)
        seen[(method, template, status)] = seen.get((method, template, status), 0) + 1

    check()
    print(f"\nfuzz: {sum(seen.values())} requests, answers {sorted(seen.items())}")
    assert sum(seen.values()) >= 1000, seen
    # the fuzzer reached past validation: accepted jobs, read statuses, URLs, conflicts and expiries
    reached = {(m, t, s) for (m, t, s) in seen}
    for expected in [
        ("post", "/jobs", 202),
        ("post", "/jobs", 400),
        ("get", "/jobs/{job_id}", 200),
        ("get", "/jobs/{job_id}", 404),
        ("get", "/jobs/{job_id}/result", 409),
        ("delete", "/jobs/{job_id}", 400),
    ]:
        assert expected in reached, sorted(reached)
