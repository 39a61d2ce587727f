"""Handler behaviours no test pinned before (issue 9): each through the public functions, each
deterministic (a batch send that rejects one entry by its content, not by chance)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.resilience.backoff import Deadline, RetryPolicy, full_jitter_delay, is_retryable, retry
from handlers.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpenError, DynamoDBBreakerStore
from handlers.resilience.priority import PriorityConsumer, SqsMessage
from tests.conftest import client_error

NOW = 1_700_000_000.0
LOW, DLQ = "https://sqs.eu-west-1.amazonaws.com/1/low", "https://sqs.eu-west-1.amazonaws.com/1/dlq"


def record(message_id: str, body: Any, age_s: float = 0.0) -> SqsMessage:
    return SqsMessage(
        {
            "messageId": message_id,
            "body": body if isinstance(body, str) else json.dumps(body),
            "attributes": {"SentTimestamp": str(int((NOW - age_s) * 1000))},
            "messageAttributes": {},
        }
    )


class RejectingSqs:
    """SendMessageBatch that accepts the call but lists as ``Failed`` every entry whose body holds
    ``reject``: the partial failure SQS reports per entry with HTTP 200."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ok = [e for e in Entries if "reject" not in e["MessageBody"]]
        bad = [e for e in Entries if "reject" in e["MessageBody"]]
        self.sent += [(QueueUrl, e["MessageBody"]) for e in ok]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": f"new-{e['Id']}"} for e in ok],
            "Failed": [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in bad],
        }


def consumer(sqs: Any, **kwargs: Any) -> PriorityConsumer:
    return PriorityConsumer(process=lambda body, message: None, sqs=sqs, clock=lambda: NOW, **kwargs)


# --- batch sends: the per-entry Failed list --------------------------------------------------------
def test_a_deferral_listed_as_failed_is_not_acknowledged() -> None:
    # GIVEN three old messages on the high queue, and SQS rejecting the middle one's write
    sqs = RejectingSqs()
    high = consumer(sqs, role="high", low_queue_url=LOW, defer_after_s=60)
    batch = [record("a", {"n": 1}, 120), record("b", {"n": "reject"}, 120), record("c", {"n": 3}, 120)]
    # WHEN the batch is consumed
    outcomes = high.consume(batch)
    # THEN the rejected one is a failure (SQS delivers it again), the others are deferred
    assert outcomes == {"a": "deferred", "b": "failed", "c": "deferred"}
    assert [url for url, _ in sqs.sent] == [LOW, LOW]


def test_a_dead_letter_write_listed_as_failed_is_not_acknowledged() -> None:
    sqs = RejectingSqs()
    low = consumer(sqs, role="low", dlq_url=DLQ, validate=lambda body: "bad order" if "n" not in body else None)
    outcomes = low.consume([record("a", {"x": 1}), record("b", {"x": "reject"})])
    assert outcomes == {"a": "dead-lettered", "b": "failed"}
    assert sqs.sent == [(DLQ, json.dumps({"x": 1}))]


def test_the_partial_batch_response_names_exactly_the_rejected_writes() -> None:
    sqs = RejectingSqs()
    high = consumer(sqs, role="high", low_queue_url=LOW, defer_after_s=60)
    event = {"Records": [record(i, {"n": "reject" if i == "b" else i}, 120).record for i in ("a", "b", "c")]}
    assert high.handle(event) == {"batchItemFailures": [{"itemIdentifier": "b"}]}


# --- poison with nowhere to put it -----------------------------------------------------------------
def test_a_poison_message_with_no_dlq_configured_is_left_to_sqs_redrive() -> None:
    # GIVEN a consumer with no DLQ URL WHEN a body is not JSON THEN it is not acknowledged (never
    # lost): SQS delivers it again and its own redrive moves it after maxReceiveCount
    low = consumer(RejectingSqs(), role="low")
    assert low.consume([record("a", "{not json"), record("b", {"n": 1})]) == {"a": "failed", "b": "processed"}


@mock_aws
def test_a_poison_message_reaches_a_real_dlq_with_its_reason() -> None:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    low = consumer(sqs, role="low", dlq_url=dlq)
    assert low.consume([record("a", "{not json")]) == {"a": "dead-lettered"}
    got = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["{not json"]
    assert got[0]["MessageAttributes"]["reason"]["StringValue"].startswith("body is not JSON: ")


# --- retries ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_5xx_and_429_are_transient_whatever_the_code(status: int) -> None:
    assert is_retryable(client_error("SomethingNew", status))


@pytest.mark.parametrize("status", [400, 403, 404, 499])
def test_other_4xx_are_not_retried(status: int) -> None:
    assert not is_retryable(client_error("ValidationException", status))


@pytest.mark.parametrize(
    "code",
    [
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "KMSThrottlingException",
    ],
)
def test_each_throttling_or_transient_code_is_retried_even_with_a_400(code: str) -> None:
    assert is_retryable(client_error(code, 400))


@pytest.mark.parametrize(
    "name",
    [
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "TimeoutError",
        "ConnectionError",
    ],
)
def test_connection_faults_are_retried_by_their_type_name(name: str) -> None:
    fault = type(name, (Exception,), {})()
    assert is_retryable(fault)
    assert not is_retryable(type("ParamValidationError", (Exception,), {})())


def test_jitter_spreads_each_delay_over_zero_to_the_exponential_ceiling() -> None:
    # Full jitter: random(0, min(cap, base * 2**attempt)); rand's extremes give the bounds.
    assert [full_jitter_delay(n, 0.1, 10.0, rand=lambda: 1.0) for n in range(4)] == [0.1, 0.2, 0.4, 0.8]
    assert full_jitter_delay(3, 0.1, 10.0, rand=lambda: 0.0) == 0.0
    assert full_jitter_delay(3, 0.1, 10.0, rand=lambda: 0.5) == 0.4
    assert full_jitter_delay(10, 0.1, 1.5, rand=lambda: 1.0) == 1.5  # capped
    assert full_jitter_delay(1000, 0.1, 2.0, rand=lambda: 1.0) == 2.0  # no overflow far out


def test_retry_sleeps_the_jittered_delays() -> None:
    slept: list[float] = []
    calls = iter([client_error("Throttling", 400), client_error("Throttling", 400), None])

    def call() -> str:
        error = next(calls)
        if error is not None:
            raise error
        return "ok"

    result = retry(call, policy=RetryPolicy(attempts=3, base_s=0.1, cap_s=1.0), sleep=slept.append, rand=lambda: 0.5)
    assert result == "ok"
    assert slept == [0.05, 0.1]


# --- breaker ---------------------------------------------------------------------------------------
def test_half_open_lets_one_probe_through_and_rejects_calls_during_it() -> None:
    now = [0.0]
    breaker = CircuitBreaker("dep", failure_threshold=1, reset_timeout_s=10, clock=lambda: now[0])
    with pytest.raises(RuntimeError):
        breaker.call(lambda: (_ for _ in ()).throw(RuntimeError("down")))
    now[0] = 10.0  # the reset window has passed: half-open
    seen: list[str] = []

    def second_call() -> str:
        seen.append("second call")
        return "x"

    def probe() -> str:
        # a second call while the probe is out must not reach the dependency
        with pytest.raises(CircuitOpenError):
            breaker.call(second_call)
        return "up"

    assert breaker.state == "half_open"
    assert breaker.call(probe) == "up"
    assert seen == []
    assert breaker.state == "closed"


def test_the_open_window_ends_exactly_at_the_reset_timeout() -> None:
    now = [100.0]
    breaker = CircuitBreaker("dep", failure_threshold=1, reset_timeout_s=10, clock=lambda: now[0])
    with pytest.raises(RuntimeError):
        breaker.call(lambda: (_ for _ in ()).throw(RuntimeError("down")))
    now[0] = 109.999
    assert breaker.state == "open"
    now[0] = 110.0
    assert breaker.state == "half_open"


@mock_aws
def test_the_store_refuses_a_write_that_is_not_newer() -> None:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    client.create_table(
        TableName="breakers",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    store = DynamoDBBreakerStore("breakers", client)
    assert store.save("dep", BreakerState("closed", 1, 0.0, version=1))
    assert not store.save("dep", BreakerState("closed", 1, 0.0, version=1))  # same version: a concurrent writer won
    assert store.save("dep", BreakerState("open", 2, 5.0, version=2))
    assert not store.save("dep", BreakerState("closed", 0, 0.0, version=1))  # stale
    assert store.load("dep") == BreakerState("open", 2, 5.0, version=2)
    assert store.load("other") is None


# --- the retry budget's own checks -----------------------------------------------------------------
@pytest.mark.parametrize(("attempt", "base", "cap"), [(-1, 0.1, 1.0), (0, 0.0, 1.0), (0, 0.1, 0.0)])
def test_a_jitter_delay_refuses_a_negative_attempt_or_a_non_positive_base_or_cap(
    attempt: int, base: float, cap: float
) -> None:
    with pytest.raises(ValueError) as raised:
        full_jitter_delay(attempt, base, cap)
    assert str(raised.value) == f"attempt={attempt!r} must be >= 0, base={base!r} and cap={cap!r} > 0"


@pytest.mark.parametrize("attempts", [0, 11])
def test_a_retry_policy_takes_1_to_10_attempts(attempts: int) -> None:
    with pytest.raises(ValueError) as raised:
        RetryPolicy(attempts=attempts)
    assert str(raised.value) == f"attempts={attempts!r} is outside 1 to 10"
    assert RetryPolicy(attempts=1).attempts == 1
    assert RetryPolicy(attempts=10).attempts == 10


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (2.0, 1.0)])
def test_a_retry_policy_base_is_above_0_and_at_most_the_cap(base: float, cap: float) -> None:
    with pytest.raises(ValueError) as raised:
        RetryPolicy(base_s=base, cap_s=cap)
    assert str(raised.value) == f"base_s={base!r} must be > 0 and at most cap_s={cap!r}"
    assert RetryPolicy(base_s=1.0, cap_s=1.0).cap_s == 1.0


def test_a_deadline_after_n_seconds_is_n_seconds_from_its_clock() -> None:
    deadline = Deadline.after(5.0, clock=lambda: 100.0)
    assert (deadline.at, deadline.remaining()) == (105.0, 5.0)
    assert Deadline(at=1.0).clock is time.monotonic


def test_policies_and_deadlines_are_values() -> None:
    with pytest.raises(AttributeError):
        RetryPolicy().attempts = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Deadline(at=1.0).at = 2.0  # type: ignore[misc]


# --- the breaker's own values and checks -----------------------------------------------------------
def test_an_open_circuit_error_says_when_to_retry() -> None:
    error = CircuitOpenError("orders-db", 12.345)
    assert (str(error), error.name, error.retry_after) == (
        "circuit 'orders-db' is open; retry after 12.3 s",
        "orders-db",
        12.345,
    )


def test_a_fresh_breaker_state_is_closed_with_nothing_counted() -> None:
    assert BreakerState() == BreakerState("closed", 0, 0.0, 0)
    assert (BreakerState().opened_at, BreakerState().version) == (0.0, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_threshold": 0}, "failure_threshold=0 must be at least 1"),
        ({"reset_timeout_s": 0}, "reset_timeout_s=0 must be above 0"),
        ({"reset_timeout_s": -1.0}, "reset_timeout_s=-1.0 must be above 0"),
    ],
)
def test_a_breaker_refuses_a_zero_threshold_or_reset(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        CircuitBreaker("dep", **kwargs)
    assert str(raised.value) == message


def test_a_closed_breaker_passes_calls_with_no_probe_pending() -> None:
    breaker = CircuitBreaker("dep")
    results = [breaker.call(lambda: "a"), breaker.call(lambda: "b"), breaker.call(lambda: "c")]
    assert results == ["a", "b", "c"]
    assert breaker.state == "closed"


def test_each_reset_window_gets_its_own_probe_after_a_failed_one() -> None:
    # The guard is released when a probe ends, failed or not: else the circuit never closes again.
    now = [0.0]
    breaker = CircuitBreaker("dep", failure_threshold=1, reset_timeout_s=10, clock=lambda: now[0])

    def down() -> str:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        breaker.call(down)
    now[0] = 10.0
    with pytest.raises(RuntimeError):
        breaker.call(down)  # the probe fails: open again
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.call(lambda: "up") == "up"  # the next window's probe goes out and closes it
    assert breaker.state == "closed"
