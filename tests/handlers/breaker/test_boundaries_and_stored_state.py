"""The circuit breaker at its boundaries: exact values at each
boundary, the stored state after each change, and the store's own request."""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpenError, DynamoDBBreakerStore
from tests.conftest import client_error


class MemoryStore:
    """A shared store in memory with the version check of DynamoDBBreakerStore; counts requests."""

    def __init__(self, state: BreakerState | None = None) -> None:
        self.state, self.loads, self.saves = state, 0, 0

    def load(self, name: str) -> BreakerState | None:
        self.loads += 1
        return self.state

    def save(self, name: str, state: BreakerState) -> bool:
        self.saves += 1
        if self.state is not None and self.state.version >= state.version:
            return False
        self.state = state
        return True


def down() -> str:
    raise ConnectionError("down")


def test_a_breaker_state_is_a_value_that_cannot_be_changed_in_place() -> None:
    # GIVEN a state WHEN a field is assigned THEN it is refused (states are shared and replaced)
    with pytest.raises(dataclasses.FrozenInstanceError):
        BreakerState().state = "open"  # type: ignore[misc]


def test_a_fresh_breaker_state_holds_no_probe_lease() -> None:
    assert BreakerState().probe_until == 0.0


def test_a_reset_timeout_under_one_second_is_accepted() -> None:
    assert CircuitBreaker("dep", reset_timeout_s=0.5).reset_timeout_s == 0.5


def test_a_store_that_always_conflicts_is_tried_ten_times() -> None:
    # GIVEN a store whose every conditional write loses WHEN a failure is recorded
    class Contended(MemoryStore):
        def save(self, name: str, state: BreakerState) -> bool:
            self.saves += 1
            return False

    store = Contended(BreakerState("closed", 1, 0.0, version=7))
    with pytest.raises(ConnectionError):
        CircuitBreaker("dep", store=store).call(down)
    # THEN it is tried exactly ten times, each from a fresh read
    assert (store.saves, store.loads) == (10, 11)


def test_an_open_circuit_names_the_time_left_in_its_window() -> None:
    # GIVEN a circuit opened at t=100 with a 10 s window WHEN called at t=103
    now = [100.0]
    breaker = CircuitBreaker("dep", failure_threshold=1, reset_timeout_s=10, clock=lambda: now[0])
    with pytest.raises(ConnectionError):
        breaker.call(down)
    now[0] = 103.0
    # THEN it is refused with 7 s left
    with pytest.raises(CircuitOpenError) as raised:
        breaker.call(lambda: "never")
    assert raised.value.retry_after == 7.0


def test_a_lease_that_ends_now_lets_the_caller_probe() -> None:
    # GIVEN a half-open circuit whose probe lease ends exactly now
    store = MemoryStore(BreakerState("half_open", 5, 900.0, version=1, probe_until=1000.0))
    breaker = CircuitBreaker("dep", reset_timeout_s=30, clock=lambda: 1000.0, store=store)
    # WHEN called THEN the call is the probe, and its success closes the circuit
    assert breaker.call(lambda: "up") == "up"
    assert store.state == BreakerState("closed", 0, 0.0, version=3, probe_until=0.0)


def test_a_lease_lost_to_contention_refuses_the_call_for_a_whole_window() -> None:
    # GIVEN a circuit due a probe and a store where every write conflicts
    class Contended(MemoryStore):
        def save(self, name: str, state: BreakerState) -> bool:
            return False

    store = Contended(BreakerState("open", 5, 970.0, version=1))
    breaker = CircuitBreaker("dep", reset_timeout_s=30, clock=lambda: 1000.0, store=store)
    calls: list[int] = []
    # WHEN called THEN the dependency is not called and the caller waits a full window
    with pytest.raises(CircuitOpenError) as raised:
        breaker.call(lambda: calls.append(1))
    assert (calls, raised.value.retry_after) == ([], 30.0)


def missing_key() -> str:
    empty: dict[str, str] = {}
    return empty["x"]


def test_a_probe_that_raises_a_non_failure_releases_its_lease() -> None:
    # GIVEN a circuit due a probe, whose errors of type KeyError are not failures
    store = MemoryStore(BreakerState("open", 5, 970.0, version=1))
    breaker = CircuitBreaker(
        "dep", reset_timeout_s=30, clock=lambda: 1000.0, store=store, is_failure=lambda e: not isinstance(e, KeyError)
    )
    # WHEN the probe raises a KeyError
    with pytest.raises(KeyError):
        breaker.call(missing_key)
    # THEN the circuit stays half-open with no lease held: the next call may probe at once
    assert store.state == BreakerState("half_open", 5, 970.0, version=3, probe_until=0.0)


def test_a_closed_breaker_reads_its_store_once_per_successful_call() -> None:
    # GIVEN a closed circuit in a shared store WHEN a call succeeds
    store = MemoryStore(BreakerState(version=1))
    assert CircuitBreaker("dep", store=store).call(lambda: "ok") == "ok"
    # THEN one read and no write: a closed circuit costs one read per call
    assert (store.loads, store.saves) == (1, 0)


def test_a_failure_below_the_threshold_is_stored_as_a_count() -> None:
    store = MemoryStore()
    with pytest.raises(ConnectionError):
        CircuitBreaker("dep", failure_threshold=3, clock=lambda: 50.0, store=store).call(down)
    assert store.state == BreakerState("closed", 1, 0.0, version=1, probe_until=0.0)


def test_the_failure_that_reaches_the_threshold_stores_an_open_circuit() -> None:
    store = MemoryStore(BreakerState("closed", 2, 0.0, version=4))
    with pytest.raises(ConnectionError):
        CircuitBreaker("dep", failure_threshold=3, clock=lambda: 50.0, store=store).call(down)
    assert store.state == BreakerState("open", 3, 50.0, version=5, probe_until=0.0)


def test_a_success_after_failures_stores_a_closed_circuit_with_none_counted() -> None:
    store = MemoryStore(BreakerState("closed", 2, 0.0, version=4))
    assert CircuitBreaker("dep", failure_threshold=3, store=store).call(lambda: "ok") == "ok"
    assert store.state == BreakerState("closed", 0, 0.0, version=5, probe_until=0.0)


class RecordingDynamoDB:
    """get_item and put_item as DynamoDB answers them, recording each request."""

    def __init__(self, item: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.item, self.error = item, error
        self.requests: list[dict[str, Any]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return {"Item": self.item} if self.item else {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        if self.error is not None:
            raise self.error
        return {}


def test_the_store_reads_the_breaker_item_consistently() -> None:
    client = RecordingDynamoDB()
    assert DynamoDBBreakerStore("breakers", client).load("dep") is None
    assert client.requests == [{"TableName": "breakers", "Key": {"pk": {"S": "breaker#dep"}}, "ConsistentRead": True}]


def test_an_item_written_before_probe_leases_loads_with_no_lease() -> None:
    item = {"state": {"S": "open"}, "failures": {"N": "5"}, "opened_at": {"N": "12.5"}, "version": {"N": "3"}}
    state = DynamoDBBreakerStore("breakers", RecordingDynamoDB(item)).load("dep")
    assert state == BreakerState("open", 5, 12.5, version=3, probe_until=0.0)


def test_a_store_error_other_than_a_conflict_is_raised() -> None:
    client = RecordingDynamoDB(error=client_error("ProvisionedThroughputExceededException", 400, "PutItem"))
    with pytest.raises(Exception, match="ProvisionedThroughputExceededException"):
        DynamoDBBreakerStore("breakers", client).save("dep", BreakerState(version=1))


def test_a_failure_on_a_circuit_another_environment_opened_meanwhile_changes_nothing() -> None:
    # GIVEN a closed circuit that another environment opens (at t=100) while our call is out
    store = MemoryStore(BreakerState(version=1))

    def opened_elsewhere_then_down() -> str:
        store.state = BreakerState("open", 5, 100.0, version=2)
        raise ConnectionError("down")

    breaker = CircuitBreaker("dep", clock=lambda: 105.0, store=store)
    # WHEN our call fails too
    with pytest.raises(ConnectionError):
        breaker.call(opened_elsewhere_then_down)
    # THEN the open circuit is left as it is: its window still starts at t=100
    assert (store.state, store.saves) == (BreakerState("open", 5, 100.0, version=2), 0)


def test_a_success_on_a_circuit_another_environment_reset_meanwhile_writes_nothing() -> None:
    # GIVEN a circuit with one failure counted, reset by another environment while our call is out
    store = MemoryStore(BreakerState("closed", 1, 0.0, version=1))

    def reset_elsewhere_then_up() -> str:
        store.state = BreakerState("closed", 0, 0.0, version=2)
        return "up"

    # WHEN our call succeeds THEN nothing is written: the circuit is already closed with none counted
    assert CircuitBreaker("dep", store=store).call(reset_elsewhere_then_up) == "up"
    assert (store.state, store.saves) == (BreakerState("closed", 0, 0.0, version=2), 0)


def test_a_failed_probe_reopens_the_circuit_whatever_the_count() -> None:
    # GIVEN a circuit due a probe with one failure counted (opened by an environment with threshold 1)
    store = MemoryStore(BreakerState("open", 1, 970.0, version=1))
    breaker = CircuitBreaker("dep", failure_threshold=5, reset_timeout_s=30, clock=lambda: 1000.0, store=store)
    # WHEN the probe fails THEN the circuit opens again for a new window, with two failures counted
    with pytest.raises(ConnectionError):
        breaker.call(down)
    assert store.state == BreakerState("open", 2, 1000.0, version=3, probe_until=0.0)


def test_a_lease_taken_elsewhere_between_the_read_and_the_write_refuses_the_call() -> None:
    # GIVEN a circuit due a probe, whose lease another environment takes right after our first read
    class LeaseTakenAfterFirstRead(MemoryStore):
        def load(self, name: str) -> BreakerState | None:
            state = super().load(name)
            self.state = BreakerState("half_open", 5, 970.0, version=2, probe_until=1030.0)
            return state

    store = LeaseTakenAfterFirstRead(BreakerState("open", 5, 970.0, version=1))
    breaker = CircuitBreaker("dep", reset_timeout_s=30, clock=lambda: 1000.0, store=store)
    calls: list[int] = []
    # WHEN we call THEN no second probe goes out: the call is refused for a whole window
    with pytest.raises(CircuitOpenError) as raised:
        breaker.call(lambda: calls.append(1))
    assert (calls, raised.value.retry_after, store.saves) == ([], 30.0, 0)


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
