"""Circuit breaker: transitions checked against a model (hypothesis state machine), the
shared DynamoDB store on moto, and fail-open when the store fails."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from moto import mock_aws

from handlers.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpenError, DynamoDBBreakerStore

THRESHOLD, RESET = 3, 10.0


class BreakerModel(RuleBasedStateMachine):
    """The breaker against a three-state model with a fake clock."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.breaker = CircuitBreaker("dep", failure_threshold=THRESHOLD, reset_timeout_s=RESET, clock=lambda: self.now)
        self.state, self.failures, self.opened_at = "closed", 0, 0.0

    def model_state(self) -> str:
        if self.state == "open" and self.now - self.opened_at >= RESET:
            return "half_open"
        return self.state

    @rule(seconds=st.floats(0, 15))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @rule(ok=st.booleans())
    def call(self, ok: bool) -> None:
        expected = self.model_state()

        def dependency() -> str:
            if not ok:
                raise ConnectionError("down")
            return "ok"

        if expected == "open":
            with pytest.raises(CircuitOpenError):
                self.breaker.call(dependency)
            return
        if ok:
            assert self.breaker.call(dependency) == "ok"
            self.state, self.failures = "closed", 0
            return
        with pytest.raises(ConnectionError):
            self.breaker.call(dependency)
        self.failures += 1
        if expected == "half_open" or self.failures >= THRESHOLD:
            self.state, self.opened_at = "open", self.now

    @invariant()
    def states_agree(self) -> None:
        assert self.breaker.state == self.model_state()

    @precondition(lambda self: self.model_state() == "open")
    @rule()
    def open_circuit_names_the_wait(self) -> None:
        with pytest.raises(CircuitOpenError) as raised:
            self.breaker.call(lambda: "never called")
        assert 0 < raised.value.retry_after <= RESET


TestBreakerAgainstModel = BreakerModel.TestCase


def test_open_circuit_does_not_call_the_dependency() -> None:
    now = [0.0]
    breaker = CircuitBreaker("dep", failure_threshold=1, reset_timeout_s=5, clock=lambda: now[0])
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    calls: list[int] = []
    with pytest.raises(CircuitOpenError, match=r"circuit 'dep' is open; retry after 5\.0 s"):
        breaker.call(lambda: calls.append(1))
    assert calls == []
    now[0] = 5.0
    assert breaker.state == "half_open"
    assert breaker.call(lambda: "probe") == "probe"
    assert breaker.state == "closed"


def test_errors_that_are_not_failures_do_not_open_it() -> None:
    breaker = CircuitBreaker("dep", failure_threshold=1, is_failure=lambda e: not isinstance(e, KeyError))
    for _ in range(3):
        with pytest.raises(KeyError):
            breaker.call(lambda: {"a": 1}["x"])
    assert breaker.state == "closed"


def _table(client: Any) -> None:
    client.create_table(
        TableName="breakers",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@mock_aws
def test_shared_store_lets_one_environment_protect_another() -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="eu-west-1")
    _table(client)
    now = [100.0]
    first = CircuitBreaker(
        "dep",
        failure_threshold=2,
        reset_timeout_s=30,
        clock=lambda: now[0],
        store=DynamoDBBreakerStore("breakers", client),
    )
    second = CircuitBreaker(
        "dep",
        failure_threshold=2,
        reset_timeout_s=30,
        clock=lambda: now[0],
        store=DynamoDBBreakerStore("breakers", client),
    )
    for _ in range(2):
        with pytest.raises(TimeoutError):
            first.call(lambda: (_ for _ in ()).throw(TimeoutError("slow")))
    assert second.state == "open"  # it never saw a failure itself
    with pytest.raises(CircuitOpenError):
        second.call(lambda: "not called")


@mock_aws
def test_store_refuses_an_older_version() -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="eu-west-1")
    _table(client)
    store = DynamoDBBreakerStore("breakers", client)
    assert store.save("dep", BreakerState("open", 3, 1.0, version=2))
    assert not store.save("dep", BreakerState("closed", 0, 0.0, version=1))
    assert store.load("dep") == BreakerState("open", 3, 1.0, version=2)


def test_a_failing_store_falls_back_to_local_state() -> None:
    class Down:
        def load(self, name: str) -> BreakerState | None:
            raise ConnectionError("store down")

        def save(self, name: str, state: BreakerState) -> bool:
            raise ConnectionError("store down")

    breaker = CircuitBreaker("dep", failure_threshold=1, store=Down())
    with pytest.raises(ValueError):
        breaker.call(lambda: int("x"))
    assert breaker.state == "open"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold=0 must be at least 1"):
        CircuitBreaker("x", failure_threshold=0)
    with pytest.raises(ValueError, match="reset_timeout_s=0 must be above 0"):
        CircuitBreaker("x", reset_timeout_s=0)


def test_breaker_defaults_open_after_five_failures_and_probe_after_30_s() -> None:
    now = [0.0]
    breaker = CircuitBreaker("dep", clock=lambda: now[0])
    assert (breaker.failure_threshold, breaker.reset_timeout_s) == (5, 30.0)
    for _ in range(4):
        with pytest.raises(OSError):
            breaker.call(lambda: (_ for _ in ()).throw(OSError("down")))
    assert breaker.state == "closed"
    with pytest.raises(OSError):
        breaker.call(lambda: (_ for _ in ()).throw(OSError("down")))
    assert breaker.state == "open"
    now[0] = 29.9
    assert breaker.state == "open"
    now[0] = 30.0
    assert breaker.state == "half_open"
