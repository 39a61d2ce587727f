"""Full-jitter backoff bounds, attempt and time-budget limits, and AWS faults through Stubber."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from handlers.resilience.backoff import Deadline, RetryPolicy, full_jitter_delay, is_retryable, retry
from handlers.resilience.clients import aws_client
from tests.conftest import client_error


@given(attempt=st.integers(0, 200), base=st.floats(0.001, 10), cap=st.floats(0.001, 100), r=st.floats(0, 1))
def test_delay_is_within_zero_and_the_capped_exponential(attempt: int, base: float, cap: float, r: float) -> None:
    delay = full_jitter_delay(attempt, base, cap, lambda: r)
    assert 0 <= delay <= min(cap, base * 2 ** min(attempt, 62))


@given(attempt=st.integers(0, 30))
def test_the_upper_bound_is_reached_with_the_top_random_value(attempt: int) -> None:
    assert full_jitter_delay(attempt, 0.05, 2.0, lambda: 1.0) == min(2.0, 0.05 * 2**attempt)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def throttled() -> ClientError:
    return client_error("ThrottlingException", 400, "GetItem")


@given(attempts=st.integers(1, 10), failures=st.integers(0, 12))
def test_retry_makes_at_most_the_allowed_attempts(attempts: int, failures: int) -> None:
    calls = []
    clock = Clock()

    def call() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise throttled()
        return "ok"

    policy = RetryPolicy(attempts=attempts)
    if failures < attempts:
        assert retry(call, policy=policy, sleep=clock.sleep, rand=lambda: 1.0) == "ok"
        assert len(calls) == failures + 1
    else:
        with pytest.raises(ClientError):
            retry(call, policy=policy, sleep=clock.sleep, rand=lambda: 1.0)
        assert len(calls) == attempts
    assert len(clock.sleeps) == len(calls) - 1


@given(budget=st.floats(0, 5), r=st.floats(0.01, 1))
def test_retry_never_sleeps_past_the_deadline(budget: float, r: float) -> None:
    clock = Clock()
    deadline = Deadline(clock.now + budget, clock.time)

    def call() -> str:
        raise throttled()

    with pytest.raises((ClientError, TimeoutError)):  # TimeoutError: no time even for a first call
        retry(
            call,
            policy=RetryPolicy(attempts=10, base_s=0.1, cap_s=2.0),
            deadline=deadline,
            sleep=clock.sleep,
            rand=lambda: r,
        )
    assert clock.now <= budget


def test_client_errors_are_not_retried() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise client_error("ValidationException", 400)

    with pytest.raises(ClientError):
        retry(call, sleep=lambda s: None)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (throttled(), True),
        (client_error("X", 503), True),
        (client_error("X", 429), True),
        (client_error("ConditionalCheckFailedException", 400), False),
        (EndpointConnectionError(endpoint_url="https://x"), True),
        (ValueError("bad"), False),
    ],
)
def test_what_is_retryable(error: BaseException, expected: bool) -> None:
    assert is_retryable(error) is expected


def test_deadline_from_context_keeps_a_margin() -> None:
    class Ctx:
        def get_remaining_time_in_millis(self) -> int:
            return 3000

    deadline = Deadline.from_context(Ctx(), margin_s=0.5, clock=lambda: 100.0)
    assert deadline.at == 102.5


def test_throttled_then_5xx_then_success_through_a_real_client() -> None:
    client = aws_client("dynamodb", max_attempts=1)  # botocore retries off: ours are under test
    retries: list[tuple[int, str]] = []
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        stub.add_client_error("get_item", "InternalServerError", http_status_code=500)
        stub.add_response("get_item", {"Item": {"order_id": {"S": "1"}}})

        def on_retry(n: int, error: BaseException, delay: float) -> Any:
            retries.append((n, type(error).__name__))

        item = retry(
            lambda: client.get_item(TableName="t", Key={"order_id": {"S": "1"}}),
            sleep=lambda s: None,
            on_retry=on_retry,
        )
        stub.assert_no_pending_responses()
    assert item["Item"] == {"order_id": {"S": "1"}}
    assert retries == [(1, "ProvisionedThroughputExceededException"), (2, "InternalServerError")]


def test_policy_and_delay_validation() -> None:
    with pytest.raises(ValueError, match="attempts=0 is outside 1 to 10"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="base_s=3 must be > 0 and at most cap_s=2"):
        RetryPolicy(base_s=3, cap_s=2)
    with pytest.raises(ValueError, match="attempt=-1 must be >= 0"):
        full_jitter_delay(-1, 1, 1)


def test_retry_policy_defaults_are_three_attempts_50_ms_base_2_s_cap() -> None:
    assert RetryPolicy() == RetryPolicy(attempts=3, base_s=0.05, cap_s=2.0)


def test_deadline_keeps_half_a_second_by_default() -> None:
    class Ctx:
        def get_remaining_time_in_millis(self) -> int:
            return 3000

    assert Deadline.from_context(Ctx(), clock=lambda: 100.0).at == 102.5


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
