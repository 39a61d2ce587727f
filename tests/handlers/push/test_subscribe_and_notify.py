"""The push handlers on moto (DynamoDB, S3, the management API) and botocore's Stubber (410s and
throttling, which moto does not fail on its own)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any, Final

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from handlers.push import protocol
from handlers.push.deps import PushDeps
from handlers.push.notify import JobNotFinished, NotifyConfig, PushFailed, notify
from handlers.push.routes import handle
from handlers.push.store import NO_JOB_TABLE, Connections, Jobs, subscribers_of

NOW = 1_800_000_000.0
REGION: Final = "eu-west-1"
ENDPOINT = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/live"
TOKEN_A, TOKEN_B = "token-of-job-a-" + "x" * 28, "token-of-job-b-" + "y" * 28


def create_tables(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="connections",
        KeySchema=[{"AttributeName": "connection_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "connection_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def put_job(dynamodb: Any, job_id: str, token: str | None, expires_at: float = NOW + 600) -> None:
    """A job item as AsyncJobWorkflow's submit writes it when push is on (the contract's fields)."""
    item: dict[str, Any] = {"job_id": {"S": job_id}, "status": {"S": "running"}}
    if token is not None:
        item["push_token_sha256"] = {"S": protocol.token_digest(token)}
        item["push_token_expires_at"] = {"N": str(int(expires_at))}
    dynamodb.put_item(TableName="jobs", Item=item)


class World:
    def __init__(self) -> None:
        self.dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
        self.s3: Any = boto3.client("s3", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.management = boto3.client("apigatewaymanagementapi", region_name=REGION, endpoint_url=ENDPOINT)
        create_tables(self.dynamodb)
        self.s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": REGION})
        self.connections = Connections(self.dynamodb, "connections")
        self.jobs = Jobs(self.dynamodb, "jobs")
        self.deps = PushDeps(self.dynamodb, self.connections, self.jobs, "token", clock=lambda: NOW, s3=self.s3)
        put_job(self.dynamodb, "job-a", TOKEN_A)
        put_job(self.dynamodb, "job-b", TOKEN_B)

    def event(self, route: str, connection_id: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        event: dict[str, Any] = {"requestContext": {"routeKey": route, "connectionId": connection_id}}
        if body is not None:
            event["body"] = body if isinstance(body, str) else json.dumps(body)
        if query is not None:
            event["queryStringParameters"] = query
        return event

    def connect(self, connection_id: str, job_id: str, token: str) -> dict[str, Any]:
        return handle(self.event("$connect", connection_id, query={"job_id": job_id, "token": token}), self.deps)

    def subscribe(self, connection_id: str, job_id: str, token: str | None) -> dict[str, Any]:
        frame = {"action": "subscribe", "job_id": job_id, **({"token": token} if token is not None else {})}
        return handle(self.event("subscribe", connection_id, frame), self.deps)

    def subscribed(self, job_id: str) -> list[str]:
        return subscribers_of(self.jobs.get(job_id) or {})

    def finish(self, job_id: str, status: str = "succeeded") -> None:
        """What the workflow's Record<Status> writes before it pushes."""
        values: dict[str, Any] = {":s": {"S": status}}
        update = "SET #s = :s"
        if status == "succeeded":
            update += ", result_bucket = :b, result_key = :k"
            values |= {":b": {"S": "results"}, ":k": {"S": f"{job_id}.json"}}
        elif status in ("failed", "timed_out"):
            update += ", #e = :e"
            values[":e"] = {"S": "Jobs.WorkerFailed" if status == "failed" else "States.Timeout"}
        names = {"#s": "status"} | ({"#e": "error"} if ":e" in values else {})
        self.dynamodb.update_item(
            TableName="jobs",
            Key={"job_id": {"S": job_id}},
            UpdateExpression=update,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def notify(self, job_id: str, management: Any = None, config: NotifyConfig | None = None, **kw: Any) -> Any:
        """The workflow's steps after the worker: record the success, then push."""
        self.finish(job_id, kw.pop("status", "succeeded"))
        return notify(
            {"job_id": job_id, "status": "succeeded"},
            jobs=self.jobs,
            connections=self.connections,
            management=management or self.management,
            s3=self.s3,
            config=config or NotifyConfig(),
            sleep=kw.pop("sleep", lambda _: None),
            **kw,
        )

    def received(self, connection_id: str) -> bytes:
        from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

        backend = apigatewaymanagementapi_backends["123456789012"][REGION]
        return backend.connections[connection_id].data if connection_id in backend.connections else b""


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def refused(response: dict[str, Any]) -> bool:
    return response["statusCode"] == 403 and body(response)["error"] == "forbidden"


# --- token check (pure) -------------------------------------------------------------------------------
def item(token: str, expires_at: float = NOW + 60) -> dict[str, Any]:
    return {
        "job_id": {"S": "j"},
        "push_token_sha256": {"S": protocol.token_digest(token)},
        "push_token_expires_at": {"N": str(int(expires_at))},
    }


@pytest.mark.parametrize(
    ("token", "job", "reason"),
    [
        (None, item(TOKEN_A), "missing token"),
        ("", item(TOKEN_A), "missing token"),
        (TOKEN_A, None, "unknown job"),
        (TOKEN_A, {"job_id": {"S": "j"}}, "push not requested for this job"),
        (TOKEN_B, item(TOKEN_A), "token does not match the job"),
        (TOKEN_A, item(TOKEN_A, expires_at=NOW), "token expired"),
        (TOKEN_A, item(TOKEN_A), None),
    ],
)
def test_token_problem_names_each_reason(token: str | None, job: Any, reason: str | None) -> None:
    assert protocol.token_problem(token, job, NOW) == reason


def test_token_is_compared_in_constant_time_even_for_an_unknown_job(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = protocol.hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(protocol.hmac, "compare_digest", recording)
    protocol.token_problem(TOKEN_B, item(TOKEN_A), NOW)
    protocol.token_problem(TOKEN_B, None, NOW)
    assert [a for a, _ in calls] == [protocol.token_digest(TOKEN_B).encode()] * 2
    assert calls[0][1] == protocol.token_digest(TOKEN_A).encode()


# --- security: every bad subscription refused, nothing delivered to the wrong connection ------------------
def test_refused_subscriptions_never_receive_the_result(world: World) -> None:
    # GIVEN the rightful client of job A, connected and subscribed
    assert world.connect("c-good", "job-a", TOKEN_A)["statusCode"] == 200
    assert world.subscribe("c-good", "job-a", TOKEN_A)["statusCode"] == 200
    # AND attackers: a wrong token, job B's token, an expired token, no token, a replay after disconnect
    assert refused(world.connect("c-wrong", "job-a", "guess"))
    assert world.connect("c-other", "job-b", TOKEN_B)["statusCode"] == 200
    assert refused(world.subscribe("c-other", "job-a", TOKEN_B))  # admitted for job B, asks for A
    assert refused(world.subscribe("c-wrong", "job-a", TOKEN_A))  # never admitted
    put_job(world.dynamodb, "job-old", "old-token", expires_at=NOW - 1)
    assert refused(world.connect("c-old", "job-old", "old-token"))
    assert world.subscribe("c-good", "job-a", None)["statusCode"] == 400
    # WHEN the result is pushed
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b'{"total": 42}')
    summary = world.notify("job-a")
    # THEN only the rightful connection got it
    assert world.subscribed("job-a") == ["c-good"]
    assert summary["delivered"] == 1 and summary["posts"] == 1
    assert json.loads(world.received("c-good")) == {
        "type": "result",
        "job_id": "job-a",
        "status": "succeeded",
        "result": {"total": 42},
    }
    for other in ("c-wrong", "c-other", "c-old"):
        assert world.received(other) == b"", other


def test_a_replayed_token_opens_no_second_connection_while_the_first_is_live(world: World) -> None:
    # GIVEN the rightful client of job A, connected (not yet subscribed)
    assert world.connect("c-1", "job-a", TOKEN_A)["statusCode"] == 200
    # WHEN a copy of the same token connects while c-1 is still open
    replay = world.connect("c-2", "job-a", TOKEN_A)
    # THEN the copy is refused and stored nowhere; the first connection still subscribes
    assert refused(replay) and world.connections.get("c-2") is None
    assert refused(world.subscribe("c-2", "job-a", TOKEN_A))
    assert world.subscribe("c-1", "job-a", TOKEN_A)["statusCode"] == 200
    assert world.subscribed("job-a") == ["c-1"]


def test_the_token_claim_is_one_conditional_write_that_names_its_holder(world: World) -> None:
    # GIVEN a token claimed by c-1 WHEN c-1 claims again, c-2 claims, and c-3 claims after expiry
    assert world.connections.claim_token("job-a", "c-1", NOW, until=NOW + 10)
    assert world.connections.claim_token("job-a", "c-1", NOW, until=NOW + 10)  # a retried connect
    assert not world.connections.claim_token("job-a", "c-2", NOW, until=NOW + 10)
    # THEN only the holder wins until the claim's time has passed (TTL deletes late, not on time)
    assert world.connections.claim_token("job-a", "c-3", NOW + 11, until=NOW + 20)
    assert (world.connections.get("token#job-a") or {})["holder"] == {"S": "c-3"}


def test_a_token_replayed_after_disconnect_is_refused(world: World) -> None:
    # GIVEN a client that subscribed with job A's token, then left
    world.connect("c-1", "job-a", TOKEN_A)
    world.subscribe("c-1", "job-a", TOKEN_A)
    handle(world.event("$disconnect", "c-1"), world.deps)
    # WHEN the same token comes back, on a new connection or on the old connection id
    reconnect = world.connect("c-2", "job-a", TOKEN_A)
    old_id = world.subscribe("c-1", "job-a", TOKEN_A)
    # THEN both are refused, and job A has no subscriber to push to
    assert refused(reconnect) and refused(old_id)
    assert world.subscribed("job-a") == []
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"{}")
    assert world.notify("job-a") == {
        "job_id": "job-a",
        "status": "succeeded",
        "delivered": 0,
        "gone": 0,
        "failed": 0,
        "posts": 0,
    }


def test_iam_connections_subscribe_with_the_token_and_replays_are_refused_there_too(world: World) -> None:
    world.deps.connect_auth = "iam"
    event = world.event("$connect", "c-iam")
    event["requestContext"]["identity"] = {"userArn": "arn:aws:iam::123456789012:user/app"}
    assert handle(event, world.deps)["statusCode"] == 200
    assert refused(world.subscribe("c-iam", "job-a", "guess"))
    assert world.subscribe("c-iam", "job-a", TOKEN_A)["statusCode"] == 200
    second = event | {"requestContext": {**event["requestContext"], "connectionId": "c-iam-2"}}
    handle(second, world.deps)
    assert refused(world.subscribe("c-iam-2", "job-a", TOKEN_A))  # c-iam is live and holds the token
    handle(world.event("$disconnect", "c-iam"), world.deps)
    assert refused(world.subscribe("c-iam-2", "job-a", TOKEN_A))  # and keeps it once gone


def test_connect_without_a_job_id_is_refused_before_any_lookup(world: World) -> None:
    response = handle(world.event("$connect", "c", query={"token": TOKEN_A}), world.deps)
    assert refused(response) and world.connections.get("c") is None


# --- bad frames: a JSON error on the socket, never a 5xx ------------------------------------------------
DEEP = "[" * 2000 + "]" * 2000  # 4,000 bytes: past Python's recursion limit for a recursive parser


@pytest.mark.parametrize(
    ("route", "frame", "error", "message"),
    [
        ("$default", "hello", "not_json", "frame is not JSON"),
        ("$default", "[1, 2]", "not_json_object", "frame must be a JSON object"),
        ("$default", '{"action": "publish"}', "unknown_action", "unknown action 'publish' (valid actions: subscribe)"),
        ("$default", '{"job_id": "a"}', "unknown_action", "unknown action None (valid actions: subscribe)"),
        ("$default", "x" * 5000, "frame_too_large", "frame of 5000 bytes is above the 4096-byte limit"),
        ("$default", DEEP, "too_deep", "frame nests 2000 levels, above the limit of 4"),
        ("subscribe", DEEP, "too_deep", "frame nests 2000 levels, above the limit of 4"),
        (
            "subscribe",
            '{"action": "subscribe", "job_id": ' + "{" * 1990 + "}" * 1990 + "}",
            "too_deep",
            "frame nests 1991 levels, above the limit of 4",
        ),
        ("subscribe", '{"action": "subscribe", "job_id": "\ud800"}', "not_utf8", "frame is not valid UTF-8"),
        ("$default", '{"a": "[[[[[[[["}', "unknown_action", "unknown action None (valid actions: subscribe)"),
        ("subscribe", '{"action": "subscribe", "token": "t"}', "missing_field", "field 'job_id' is required"),
        ("subscribe", '{"action": "subscribe", "job_id": "a"}', "missing_field", "field 'token' is required"),
        (
            "subscribe",
            '{"action": "subscribe", "job_id": 7, "token": "t"}',
            "bad_field",
            "field 'job_id' must be a string of 1 to 128 characters of valid Unicode",
        ),
        (  # a JSON escape that decodes to a lone surrogate: no DynamoDB key can hold it
            "subscribe",
            r'{"action": "subscribe", "job_id": "\ud800", "token": "t"}',
            "bad_field",
            "field 'job_id' must be a string of 1 to 128 characters of valid Unicode",
        ),
    ],
)
def test_bad_frames_get_a_json_error(world: World, route: str, frame: str, error: str, message: str) -> None:
    world.connect("c", "job-a", TOKEN_A)
    response = handle(world.event(route, "c", frame), world.deps)
    assert response["statusCode"] == 400
    assert body(response) == {"type": "error", "error": error, "message": message}
    assert world.subscribed("job-a") == []


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (b"\xff\xfe{}", "not_utf8", "frame is not valid UTF-8"),
        (b"[" * 100 + b"]" * 100, "too_deep", "frame nests 100 levels, above the limit of 4"),
    ],
)
def test_binary_frames_are_checked_as_text_frames_are(world: World, frame: bytes, error: str, message: str) -> None:
    event = world.event("$default", "c", base64.b64encode(frame).decode()) | {"isBase64Encoded": True}
    assert body(handle(event, world.deps)) == {"type": "error", "error": error, "message": message}


def test_a_valid_subscribe_that_reaches_default_is_answered_not_dropped(world: World) -> None:
    response = handle(world.event("$default", "c", {"action": "subscribe", "job_id": "a", "token": "t"}), world.deps)
    assert (response["statusCode"], body(response)["error"]) == (400, "unrouted")


# --- a subscriber after the end: answered at once, by the subscribe itself -------------------------------
def test_a_subscriber_after_the_end_gets_the_result_in_the_answer(world: World) -> None:
    # GIVEN job A, recorded succeeded (its push found nobody)
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b'{"total": 42}')
    assert world.notify("job-a")["delivered"] == 0
    world.connect("c-1", "job-a", TOKEN_A)
    # WHEN the client subscribes
    response = world.subscribe("c-1", "job-a", TOKEN_A)
    # THEN the answer on its socket is the result message the push would have sent
    assert response["statusCode"] == 200
    assert body(response) == {"type": "result", "job_id": "job-a", "status": "succeeded", "result": {"total": 42}}


@pytest.mark.parametrize(
    ("status", "told"),
    [("failed", {"error": "Jobs.WorkerFailed"}), ("timed_out", {"error": "States.Timeout"}), ("cancelled", {})],
)
def test_a_subscriber_to_a_job_that_did_not_succeed_is_told_how_it_ended(
    world: World, status: str, told: dict[str, str]
) -> None:
    world.finish("job-a", status)
    world.connect("c-1", "job-a", TOKEN_A)
    assert body(world.subscribe("c-1", "job-a", TOKEN_A)) == {
        "type": "result",
        "job_id": "job-a",
        "status": status,
        **told,
    }


def test_a_running_job_answers_subscribed_and_the_push_reaches_the_subscriber(world: World) -> None:
    world.connect("c-1", "job-a", TOKEN_A)
    assert body(world.subscribe("c-1", "job-a", TOKEN_A)) == {
        "type": "subscribed",
        "job_id": "job-a",
        "status": "running",
    }
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"{}")
    assert world.notify("job-a")["delivered"] == 1
    assert json.loads(world.received("c-1"))["status"] == "succeeded"


def test_a_late_subscriber_whose_result_cannot_be_read_is_told_to_poll(world: World) -> None:
    world.finish("job-a")  # recorded, but the object is not in the bucket
    world.connect("c-1", "job-a", TOKEN_A)
    assert body(world.subscribe("c-1", "job-a", TOKEN_A)) == {
        "type": "subscribed",
        "job_id": "job-a",
        "status": "succeeded",
        "poll": True,
    }


# --- notify ----------------------------------------------------------------------------------------------
def subscribe_all(world: World, job_id: str, token: str, ids: list[str]) -> None:
    """Connections subscribed to the job as a subscribe leaves them (the first through the routes;
    a token opens one connection, so the others as the store records them)."""
    world.connect(ids[0], job_id, token)
    assert world.subscribe(ids[0], job_id, token)["statusCode"] == 200
    for connection_id in ids[1:]:
        world.connections.admit(connection_id, NOW, job_id, None)
        world.jobs.add_subscriber(job_id, connection_id, NOW)


def test_several_subscribers_are_each_reached(world: World) -> None:
    subscribe_all(world, "job-a", TOKEN_A, ["c-1", "c-2", "c-3"])
    subscribe_all(world, "job-b", TOKEN_B, ["c-b"])
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b'{"ok": true}')
    summary = world.notify("job-a")
    assert (summary["delivered"], summary["gone"], summary["failed"], summary["mode"]) == (3, 0, 0, "inline")
    for connection_id in ("c-1", "c-2", "c-3"):
        assert json.loads(world.received(connection_id))["result"] == {"ok": True}
    assert world.received("c-b") == b""


@pytest.mark.parametrize(("size", "limit"), [(40_000, 32 * 1024), (200_000, 128 * 1024)])
def test_results_above_the_frame_or_message_limit_go_as_a_presigned_url(world: World, size: int, limit: int) -> None:
    subscribe_all(world, "job-a", TOKEN_A, ["c-1"])
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"x" * size)
    summary = world.notify("job-a", config=NotifyConfig(inline_max_bytes=limit))
    message = json.loads(world.received("c-1"))
    assert summary["mode"] == "url" and len(world.received("c-1")) < limit
    assert message["url"].startswith("https://results.s3") and "job-a.json" in message["url"]
    assert (message["bytes"], message["expires_in_s"], message["status"]) == (size, 900, "succeeded")


def test_a_result_whose_envelope_passes_the_limit_goes_as_a_url(world: World) -> None:
    subscribe_all(world, "job-a", TOKEN_A, ["c-1"])
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=json.dumps("y" * 300).encode())
    assert world.notify("job-a", config=NotifyConfig(inline_max_bytes=310))["mode"] == "url"


def test_a_gone_connection_is_removed_and_never_retried(world: World) -> None:
    subscribe_all(world, "job-a", TOKEN_A, ["c-gone", "c-live"])
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"{}")
    with Stubber(world.management) as api:
        api.add_client_error("post_to_connection", "GoneException", http_status_code=410)
        api.add_response("post_to_connection", {}, {"ConnectionId": "c-live", "Data": ANY})
        summary = world.notify("job-a", config=NotifyConfig(concurrency=1))
        api.assert_no_pending_responses()
    assert (summary["delivered"], summary["gone"], summary["posts"]) == (1, 1, 2)
    assert world.connections.get("c-gone") is None and world.subscribed("job-a") == ["c-live"]


def test_throttling_is_retried_with_backoff_then_delivered(world: World) -> None:
    subscribe_all(world, "job-a", TOKEN_A, ["c-1"])
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"{}")
    slept: list[float] = []
    with Stubber(world.management) as api:
        for _ in range(2):
            api.add_client_error("post_to_connection", "LimitExceededException", http_status_code=429)
        api.add_response("post_to_connection", {}, {"ConnectionId": "c-1", "Data": ANY})
        summary = world.notify("job-a", sleep=slept.append)
        api.assert_no_pending_responses()
    assert (summary["delivered"], summary["posts"]) == (1, 3)
    assert len(slept) == 2 and 0 <= slept[0] <= 0.1 and 0 <= slept[1] <= 0.2  # full jitter, doubling cap


def test_throttling_that_never_ends_fails_the_push_not_the_job(world: World) -> None:
    subscribe_all(world, "job-a", TOKEN_A, ["c-1"])
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"{}")
    with Stubber(world.management) as api:
        for _ in range(6):
            api.add_client_error("post_to_connection", "LimitExceededException", http_status_code=429)
        with pytest.raises(PushFailed) as raised:
            world.notify("job-a")
        api.assert_no_pending_responses()
    assert json.loads(str(raised.value)) == {
        "job_id": "job-a",
        "status": "succeeded",
        "delivered": 0,
        "gone": 0,
        "failed": 1,
        "posts": 6,
        "mode": "inline",
    }
    assert world.subscribed("job-a") == ["c-1"]  # throttled is not gone: the connection stays
    assert (world.jobs.get("job-a") or {})["status"] == {"S": "succeeded"}


class GatedManagement:
    """A management API that holds each post until ``limit`` are in flight (or a short wait passes),
    recording the most posts it ever saw at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self.posted: list[str] = []
        self.lock = threading.Lock()
        self.full = threading.Event()

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:  # botocore names the keywords
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.in_flight >= self.limit:
                self.full.set()
        self.full.wait(timeout=1)
        with self.lock:
            self.in_flight -= 1
            self.posted.append(ConnectionId)


def test_posts_are_bounded_by_the_notify_concurrency(world: World) -> None:
    ids = [f"c-{i:02d}" for i in range(10)]
    subscribe_all(world, "job-a", TOKEN_A, ids)
    world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"{}")
    gated = GatedManagement(limit=3)
    summary = world.notify("job-a", management=gated, config=NotifyConfig(concurrency=3))
    assert summary["delivered"] == 10 and sorted(gated.posted) == ids
    assert gated.peak == 3


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        ({"status": "succeeded"}, ValueError, "notify needs a job_id of 1 to 128 characters"),
        ({"job_id": "job-a"}, JobNotFinished, "job 'job-a' is 'running', not finished"),
        ({"job_id": "job-none"}, JobNotFinished, "job 'job-none' is 'unknown', not finished"),
    ],
)
def test_notify_refuses_a_job_it_cannot_announce(world: World, event: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        notify(
            event,
            jobs=world.jobs,
            connections=world.connections,
            management=world.management,
            s3=world.s3,
            config=NotifyConfig(),
        )


def test_notify_config_defaults_match_the_component() -> None:
    assert NotifyConfig() == NotifyConfig(inline_max_bytes=32 * 1024, url_ttl_s=900, concurrency=8)
    assert NotifyConfig.from_env({"PUSH_INLINE_MAX_BYTES": "1000", "PUSH_NOTIFY_CONCURRENCY": "2"}) == NotifyConfig(
        1000, 900, 2
    )


# --- the Lambda entry points, configured from their environment -------------------------------------
def test_socket_and_notify_entry_points_read_their_environment(
    world: World, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    from handlers.push import deps, routes
    from handlers.push import notify as notify_module

    monkeypatch.setenv("CONNECTIONS_TABLE", "connections")
    monkeypatch.setenv("JOBS_TABLE", "jobs")
    monkeypatch.setenv("PUSH_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("PUSH_INLINE_MAX_BYTES", "1000")
    deps.deps_from_env.cache_clear()
    notify_module._clients.cache_clear()
    try:
        event = world.event("$connect", "c-1", query={"job_id": "job-a", "token": TOKEN_A})
        assert routes.lambda_handler(event, context)["statusCode"] == 200
        frame = {"action": "subscribe", "job_id": "job-a", "token": TOKEN_A}
        assert routes.lambda_handler(world.event("subscribe", "c-1", frame), context)["statusCode"] == 200
        world.s3.put_object(Bucket="results", Key="job-a.json", Body=b"z" * 2000)  # above 1000: a URL
        world.finish("job-a")
        assert notify_module.lambda_handler({"job_id": "job-a", "status": "succeeded"}, context)["mode"] == "url"
        assert "url" in json.loads(world.received("c-1"))
    finally:
        deps.deps_from_env.cache_clear()
        notify_module._clients.cache_clear()


def test_a_socket_bound_to_no_job_table_serves_signed_connections_and_no_jobs(world: World) -> None:
    # GIVEN a notifier no workflow bound (JOBS_TABLE is the "(none)" marker, never empty)
    world.deps.jobs = Jobs(world.dynamodb, NO_JOB_TABLE)
    # WHEN a token connect, a signed connect and a subscribe arrive
    token_connect = world.connect("c-1", "job-a", TOKEN_A)
    world.deps.connect_auth = "iam"
    signed = handle(world.event("$connect", "c-2"), world.deps)
    subscribe = world.subscribe("c-2", "job-a", TOKEN_A)
    # THEN no job is looked up anywhere: tokens are refused, signed sockets stay open for your messages
    assert refused(token_connect) and world.connections.get("c-1") is None
    assert signed["statusCode"] == 200 and world.connections.get("c-2") is not None
    assert (subscribe["statusCode"], body(subscribe)) == (
        400,
        {"type": "error", "error": "no_jobs", "message": "this socket serves no job results"},
    )


def test_authorizer_connections_record_the_principal_and_still_need_the_token(world: World) -> None:
    world.deps.connect_auth = "authorizer"
    event = world.event("$connect", "c-auth")
    event["requestContext"]["authorizer"] = {"principalId": "user-42"}
    assert handle(event, world.deps)["statusCode"] == 200
    assert (world.connections.get("c-auth") or {})["principal"] == {"S": "user-42"}
    assert refused(world.subscribe("c-auth", "job-a", TOKEN_B))
    assert world.subscribe("c-auth", "job-a", TOKEN_A)["statusCode"] == 200
