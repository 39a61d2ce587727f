"""One layer owns retries: requests counted on the wire against a failing local
endpoint, and no attempt started that cannot finish before the deadline."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers.resilience.backoff import Deadline, RetryPolicy, retry
from handlers.resilience.clients import aws_client
from tests.conftest import client_error

MAX_REQUESTS = 20  # the endpoint refuses to serve more: a runaway retry loop cannot hang the suite


class FailingEndpoint(http.server.ThreadingHTTPServer):
    """A DynamoDB look-alike on 127.0.0.1 that answers every request with one error."""

    def __init__(self, status: int, code: str) -> None:
        self.status, self.code, self.requests = status, code, 0
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FailingEndpoint

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests += 1
        status = self.server.status if self.server.requests <= MAX_REQUESTS else 400
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self.server.code}", "message": "injected"})
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(params=[(500, "InternalServerError"), (400, "ThrottlingException")], ids=["5xx", "throttled"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[FailingEndpoint]:
    server = FailingEndpoint(*request.param)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_retry_around_a_library_client_makes_three_requests_not_nine(endpoint: FailingEndpoint) -> None:
    # GIVEN a client with the library's defaults against an endpoint that always fails
    client = aws_client(
        "dynamodb", endpoint_url=endpoint.url, region="eu-west-1", connect_timeout_s=1, read_timeout_s=1
    )
    # WHEN one logical call goes through retry() with its default budget
    with pytest.raises(ClientError, match=endpoint.code):
        retry(
            lambda: client.get_item(TableName="t", Key={"pk": {"S": "1"}}),
            sleep=lambda s: None,
            deadline=Deadline.after(30),
        )
    # THEN the wire sees the one documented budget: 3 requests
    assert endpoint.requests == RetryPolicy().attempts == 3


class SlowDependency:
    """Each attempt takes 4 s on a fake clock and fails with a throttle."""

    def __init__(self, seconds: float) -> None:
        self.now, self.seconds, self.starts = 0.0, seconds, list[float]()

    def __call__(self) -> Any:
        self.starts.append(round(self.now, 3))
        self.now += self.seconds
        raise client_error("ThrottlingException", 400)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_attempt_starts_that_cannot_finish_before_the_deadline() -> None:
    # GIVEN a 10 s budget and a dependency that takes 4 s to fail
    slow = SlowDependency(4.0)
    deadline = Deadline(10.0, clock=lambda: slow.now)
    # WHEN retried with the top delays (50 ms, then 100 ms)
    with pytest.raises(ClientError):
        retry(slow, deadline=deadline, sleep=slow.sleep, rand=lambda: 1.0)
    # THEN the third attempt (8.15 s + 4 s > 10 s) is not started: no work past the deadline
    assert slow.starts == [0.0, 4.05]
    assert slow.now <= 10.0


def test_a_declared_attempt_timeout_is_used_before_any_attempt_was_measured() -> None:
    slow = SlowDependency(0.5)
    deadline = Deadline(3.0, clock=lambda: slow.now)
    with pytest.raises(ClientError):
        retry(slow, deadline=deadline, sleep=slow.sleep, rand=lambda: 1.0, policy=RetryPolicy(attempt_timeout_s=3.0))
    assert slow.starts == [0.0]  # 0.5 s + 50 ms + up to 3 s would pass the 3 s deadline


def test_no_call_is_made_with_no_time_left() -> None:
    calls: list[int] = []
    with pytest.raises(TimeoutError, match="no time left before the deadline: the call was not made"):
        retry(lambda: calls.append(1), deadline=Deadline(0.0, clock=lambda: 1.0))
    assert calls == []


def test_attempt_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempt_timeout_s=0 must be above 0"):
        RetryPolicy(attempt_timeout_s=0)
