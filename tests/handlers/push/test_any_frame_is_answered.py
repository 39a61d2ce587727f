"""Property: whatever a client sends to any WebSocket route (any depth, size, type or encoding),
the socket function answers with a well-formed JSON answer, never an exception. Run on moto's
DynamoDB and S3 with real job and connection items, so every lookup a frame can reach is made."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from handlers.push.routes import handle

from .test_subscribe_and_notify import TOKEN_A, World

ROUTES = ("$connect", "$disconnect", "subscribe", "$default", "publish", None)
ANSWER_TYPES = {"error", "subscribed", "result"}
STATUSES = {200, 400, 403}

lone_surrogates = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
any_text = st.one_of(st.text(), lone_surrogates, st.sampled_from(["job-a", TOKEN_A, "", "job-b"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def nested(depth: int, opener: str) -> str:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return opener * depth + "1" + closer * depth


deep = st.builds(nested, st.integers(1, 6000), st.sampled_from(["[", '{"a":']))
subscribe_shaped = st.fixed_dictionaries(
    {"action": st.sampled_from(["subscribe", "publish"]) | json_values},
    optional={"job_id": json_values | st.just("job-a"), "token": json_values | st.just(TOKEN_A)},
).map(json.dumps)
deep_in_a_field = st.builds(
    lambda depth: '{"action": "subscribe", "job_id": "job-a", "token": ' + nested(depth, "[") + "}",
    st.integers(1, 3000),
)
oversized = st.builds(lambda n, c: c * n, st.integers(4000, 140_000), st.sampled_from(["x", "[", "é", "\U0001f600"]))
bodies = st.one_of(
    subscribe_shaped,
    deep,
    deep_in_a_field,
    oversized,
    any_text,
    json_values.map(json.dumps),
    json_values,  # not even a string: no API Gateway event looks like this, and still no exception
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(ROUTES))
    event: dict[str, Any] = {
        "requestContext": {"routeKey": route, "connectionId": draw(st.sampled_from(["c-1", "c-2"]))}
    }
    if draw(st.booleans()):
        binary = draw(st.binary(max_size=64) | st.builds(str.encode, deep, st.just("utf-8")))
        event |= {"body": base64.b64encode(binary).decode(), "isBase64Encoded": True}
    else:
        event["body"] = draw(bodies)
    if route == "$connect":
        event["queryStringParameters"] = draw(
            st.none() | st.fixed_dictionaries({}, optional={"job_id": any_text, "token": any_text})
        )
    return event


def well_formed(response: Any) -> None:
    assert isinstance(response, dict) and set(response) == {"statusCode", "body"}, response
    assert response["statusCode"] in STATUSES, response
    body = json.loads(response["body"])
    assert isinstance(body, dict), body
    if "type" in body:
        assert body["type"] in ANSWER_TYPES, body
    else:
        assert body in ({"connected": True}, {"disconnected": True}), body
    if body.get("type") == "error":
        assert set(body) == {"type", "error", "message"} and response["statusCode"] != 200, body


def test_no_frame_on_any_route_raises_and_every_answer_is_well_formed() -> None:
    with mock_aws():
        world = World()
        world.finish("job-b")  # an ended job too: a subscribe to it is answered with its result
        world.s3.put_object(Bucket="results", Key="job-b.json", Body=b'{"total": 42}')
        world.connect("c-1", "job-a", TOKEN_A)

        @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(event=events())
        def check(event: dict[str, Any]) -> None:
            well_formed(handle(event, world.deps))

        check()


def test_a_deep_frame_is_refused_by_its_depth_before_any_parsing() -> None:
    # 4,000 bytes of nesting: enough to overflow a recursive parser, well inside the size limit
    with mock_aws():
        world = World()
        for route in ("subscribe", "$default"):
            response = handle(world.event(route, "c-1", nested(1999, "[")), world.deps)
            assert json.loads(response["body"]) == {
                "type": "error",
                "error": "too_deep",
                "message": "frame nests 1999 levels, above the limit of 4",
            }
