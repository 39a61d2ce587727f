"""Bench rows for WebSocketNotifier's handlers (see bench/__main__.py).

- Messages posted per second by one notify invocation, against a stubbed management endpoint
  (a real botocore client: serialisation and signing included; the HTTP send answered in
  process, after a chosen latency), set beside the account's API Gateway rate.
- AWS calls per notified job, from connect to disconnect, counted by botocore's event hook on
  moto, set beside a client polling GET /jobs/{id} once a second.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

NOW = 1_800_000_000.0
REGION = "eu-west-1"
ENDPOINT = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/live"
TOKEN = "bench-token-" + "z" * 31
ACCOUNT_RATE = 10_000  # API Gateway requests per second per account and region (default quota)


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b""


def stubbed_management(latency_s: float, posted: Counter[str]) -> Any:
    """A management API client whose HTTP send is answered in process: 200 after ``latency_s``."""
    import boto3

    client = boto3.client(
        "apigatewaymanagementapi",
        region_name=REGION,
        endpoint_url=ENDPOINT,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )

    def send(request: Any, **_: Any) -> Any:
        if latency_s:
            time.sleep(latency_s)
        posted.update(["post"])
        return AWSResponse(request.url, 200, HTTPHeaders(), _Raw())

    client.meta.events.register_first("before-send.apigatewaymanagementapi.PostToConnection", send)
    return client


class _Subscribers:
    """The job item with its subscribers, and the connection registry, in memory: the rate is the
    notifier's and botocore's, not moto's DynamoDB."""

    def __init__(self, count: int) -> None:
        self.job = {
            "job_id": {"S": "job-a"},
            "status": {"S": "succeeded"},
            "result_bucket": {"S": "results"},
            "result_key": {"S": "job-a.json"},
            "push_connections": {"SS": [f"c-{i:05d}" for i in range(count)]},
        }

    def get(self, job_id: str) -> dict[str, Any]:
        return self.job

    def remove(self, connection_id: str) -> None:
        raise AssertionError(f"no connection is gone in this bench ({connection_id})")

    def remove_subscriber(self, job_id: str, connection_id: str) -> None:
        raise AssertionError(f"no connection is gone in this bench ({connection_id})")


class _Result:
    """S3's two reads of a small result, in memory (moto would intercept the management client too)."""

    body = json.dumps({"total": 42}).encode()

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        return {"ContentLength": len(self.body)}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        import io

        return {"Body": io.BytesIO(self.body)}


def posts_per_second(subscribers: int = 1000, latency_s: float = 0.0, concurrency: int = 8) -> float:
    """Messages one notify invocation posts per second to ``subscribers`` connections (median of 3)."""
    import statistics

    from handlers.push.notify import NotifyConfig, notify

    rates = []
    for _ in range(3):
        posted: Counter[str] = Counter()
        management = stubbed_management(latency_s, posted)
        start = time.perf_counter()
        store = _Subscribers(subscribers)
        summary = notify(
            {"job_id": "job-a", "status": "succeeded"},
            jobs=store,  # type: ignore[arg-type]
            connections=store,  # type: ignore[arg-type]
            management=management,
            s3=_Result(),
            config=NotifyConfig(concurrency=concurrency),
        )
        rates.append(subscribers / (time.perf_counter() - start))
        assert summary["delivered"] == subscribers == posted["post"], summary
    return statistics.median(rates)


def calls_per_notified_job() -> dict[str, int]:
    """AWS calls by phase for one job and one subscriber: connect (claims the token), subscribe
    (records the subscription on the job, reading it back), notify (reads the job, posts),
    disconnect."""
    from moto import mock_aws

    from handlers.push.notify import NotifyConfig, notify
    from handlers.push.routes import handle
    from tests.handlers.push.test_subscribe_and_notify import World, put_job

    with mock_aws():
        world = World()
        put_job(world.dynamodb, "job-x", TOKEN)
        world.s3.put_object(Bucket="results", Key="job-x.json", Body=b'{"total": 42}')
        posted: Counter[str] = Counter()
        management = stubbed_management(0.0, posted)
        calls: Counter[str] = Counter()
        phase = {"now": ""}
        for client in (world.dynamodb, world.s3, management):
            client.meta.events.register("before-call.*.*", lambda **_: calls.update([phase["now"]]))

        def run(name: str, fn: Any) -> None:
            phase["now"] = name
            fn()

        run("connect", lambda: world.connect("c-1", "job-x", TOKEN))
        run("subscribe", lambda: world.subscribe("c-1", "job-x", TOKEN))
        world.finish("job-x")  # the workflow's RecordSucceeded, not counted: it is not a push call
        run(
            "notify",
            lambda: notify(
                {"job_id": "job-x", "status": "succeeded"},
                jobs=world.jobs,
                connections=world.connections,
                management=management,
                s3=world.s3,
                config=NotifyConfig(),
            ),
        )
        run("disconnect", lambda: handle(world.event("$disconnect", "c-1"), world.deps))
    return dict(calls)
