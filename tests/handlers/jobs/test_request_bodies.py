"""Request bodies a client controls (depth, size, types, encoding, the base64 flag) never make a
job route answer 5xx or raise: a body nested deeper than ``MAX_JSON_DEPTH`` is a 400 naming the
depth, before it is parsed or copied."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import JobsAws, api_event

JOB = "QUEUEDQUEUEDQUEUEDQUEU"


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


def deep_text(levels: int) -> str:
    """``levels`` of arrays as text, built without json.dumps (which would recurse)."""
    return "[" * levels + "]" * levels


@pytest.fixture
def production_body_limit(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> JobsAws:
    from handlers.jobs import common, webhooks

    monkeypatch.setenv("MAX_BODY_BYTES", "1048576")  # the component's default: 1 MiB
    common.config.cache_clear()
    monkeypatch.setattr(webhooks, "SENDER", [lambda url, body, headers, timeout: (200, b'{"challenge": "no"}')])
    return jobs_aws


def answered(response: dict[str, Any]) -> tuple[int, dict[str, str]]:
    return response["statusCode"], json.loads(response["body"])["error"]


def test_a_200_kb_nested_submit_is_a_400_naming_the_depth(production_body_limit: JobsAws) -> None:
    from handlers.jobs.submit import lambda_handler

    # GIVEN a 200 KB body of 100,000 nested arrays WHEN submitted THEN 400 with the depth and the bound
    event = api_event("POST", "/jobs", raw=deep_text(100_000))
    assert answered(lambda_handler(event, None)) == (
        400,
        {"code": "too_deeply_nested", "message": "the body nests 100000 levels deep; at most 32 are accepted"},
    )


def test_a_keyed_submit_with_valid_input_nested_500_levels_is_a_400_before_the_idempotency_layer(
    production_body_limit: JobsAws,
) -> None:
    from handlers.jobs.submit import lambda_handler

    # GIVEN a valid object input nested 500 levels and an Idempotency-Key (the layer deep-copies it)
    event = api_event("POST", "/jobs", body={"input": {"tree": nested(500)}}, headers={"Idempotency-Key": "k-1"})
    # WHEN submitted THEN 400, nothing recorded, nothing started
    assert answered(lambda_handler(event, None)) == (
        400,
        {"code": "too_deeply_nested", "message": "the body nests 502 levels deep; at most 32 are accepted"},
    )
    assert production_body_limit.ddb.scan(TableName="idempotency")["Items"] == []
    assert production_body_limit.started() == []


def test_a_submit_at_the_depth_bound_is_accepted(production_body_limit: JobsAws) -> None:
    from handlers.jobs.common import MAX_JSON_DEPTH
    from handlers.jobs.submit import lambda_handler

    # GIVEN a body exactly MAX_JSON_DEPTH deep (the body, its input object, then 30 more levels)
    event = api_event(
        "POST", "/jobs", body={"input": {"tree": nested(MAX_JSON_DEPTH - 2)}}, headers={"Idempotency-Key": "k"}
    )
    assert lambda_handler(event, None)["statusCode"] == 202


def test_a_nested_webhook_registration_is_a_400_naming_the_depth(production_body_limit: JobsAws) -> None:
    from handlers.jobs.webhooks import register_handler

    event = api_event("POST", "/jobs/webhooks", raw='{"url": ' + deep_text(2_000) + "}")
    assert answered(register_handler(event, None)) == (
        400,
        {"code": "too_deeply_nested", "message": "the body nests 2001 levels deep; at most 32 are accepted"},
    )


def test_a_webhook_registration_over_8_kib_is_a_400_before_it_is_read(production_body_limit: JobsAws) -> None:
    from handlers.jobs.webhooks import register_handler

    # GIVEN a valid registration padded with whitespace to 8193 bytes WHEN registered THEN 400
    text = json.dumps({"url": "https://hooks.example.com/x"})
    event = api_event("POST", "/jobs/webhooks", raw=text + " " * (8193 - len(text)), caller="key-a")
    assert answered(register_handler(event, None)) == (
        400,
        {"code": "body_too_large", "message": "the body has 8193 bytes; at most 8192 are accepted"},
    )


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    from handlers.jobs.common import json_depth

    assert json_depth(b'{"a": "[[[{{", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert json_depth(b'"unterminated [[[') == 0
    assert json_depth(b"") == 0


def test_a_body_with_a_lone_surrogate_is_a_400(production_body_limit: JobsAws) -> None:
    from handlers.jobs.submit import lambda_handler

    # GIVEN a body that is not valid UTF-8 (a lone surrogate, as a "\udc80" escape in the event gives)
    event = api_event("POST", "/jobs", raw='{"input": {"a": "\udc80"}}')
    assert answered(lambda_handler(event, None)) == (
        400,
        {"code": "malformed_body", "message": "the body is not valid UTF-8"},
    )


# --- every route, every body -----------------------------------------------------------------------
ROUTES = {
    "submit": ("POST", "/jobs", None, "lambda_handler"),
    "status": ("GET", f"/jobs/{JOB}", JOB, "lambda_handler"),
    "result": ("GET", f"/jobs/{JOB}/result", JOB, "lambda_handler"),
    "cancel": ("DELETE", f"/jobs/{JOB}", JOB, "lambda_handler"),
    "webhooks": ("POST", "/jobs/webhooks", None, "register_handler"),
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
# depths either side of MAX_JSON_DEPTH, and far beyond it
depths = st.integers(0, 40) | st.integers(41, 3_000)
bodies = st.one_of(
    depths.map(lambda d: json.dumps({"input": {"tree": "x"}}).replace('"x"', deep_text(d)).encode()),
    # valid object inputs (json.dumps of such a value would itself recurse when deep)
    depths.map(lambda d: ('{"input": ' + '{"k": ' * d + "1" + "}" * d + "}").encode()),
    st.builds(lambda d: json.dumps({"input": {"tree": nested(d)}}).encode(), st.integers(0, 60)),
    st.builds(
        lambda size: json.dumps({"input": {"blob": "x" * size}}).encode(),
        st.integers(0, 2_000) | st.integers(1_048_500, 1_100_000),
    ),
    depths.map(lambda d: ('{"url": ' + deep_text(d) + "}").encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda v: json.dumps({"url": v, "all_jobs": True}).encode(), json_values),
    st.binary(max_size=64),
    st.sampled_from([b"\xff\xfe", b'{"input": {"a": "\xc3\x28"}}', b"\xed\xa0\x80", b"[" * 40 + b"\x80"]),
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(sorted(ROUTES)))
    method, path, job_id, _ = ROUTES[route]
    raw = draw(bodies)
    as_base64 = draw(st.booleans())
    if as_base64:
        text = draw(st.sampled_from([base64.b64encode(raw).decode(), raw.decode("latin-1"), "not base64!"]))
    else:
        text = raw.decode("utf-8", errors="surrogateescape")  # invalid UTF-8 arrives as lone surrogates
    headers = {"Idempotency-Key": "k-1"} if draw(st.booleans()) else {}
    event = api_event(
        method,
        path,
        raw=text,
        headers=headers,
        job_id=job_id,
        caller=draw(st.sampled_from([None, "key-a"])),
        flavor=draw(st.sampled_from(["rest", "http"])),
    )
    event["isBase64Encoded"] = as_base64
    return {"route": route, "event": event}


def test_no_body_on_any_job_route_gets_a_5xx_or_raises(production_body_limit: JobsAws) -> None:
    import importlib

    production_body_limit.put_job(JOB, "queued", owner="key-a")

    @settings(
        max_examples=250,
        deadline=None,
        database=None,
        derandomize=True,  # the same bodies on every run: the reach check below never flakes
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(requests())
    def check(request: dict[str, Any]) -> None:
        _, _, _, handler = ROUTES[request["route"]]
        response = getattr(importlib.import_module(f"handlers.jobs.{request['route']}"), handler)(
            request["event"], None
        )
        assert response["statusCode"] < 500, (request["route"], response)
        answer = json.loads(response["body"])
        code = answer["error"]["code"] if "error" in answer else None
        seen.add((request["route"], response["statusCode"], code))

    seen: set[tuple[str, int, str | None]] = set()
    check()
    # the bodies reached past validation as well as into each refusal this test is about
    for expected in [
        ("submit", 202, None),
        ("submit", 400, "too_deeply_nested"),
        ("submit", 400, "malformed_json"),
        ("webhooks", 400, "too_deeply_nested"),
    ]:
        assert expected in seen, sorted(seen, key=str)
