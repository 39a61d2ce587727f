"""The shared breaker store under concurrent environments: threads with separate
CircuitBreaker instances sharing one moto table."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpenError, DynamoDBBreakerStore

ENVIRONMENTS = 5
WAIT_S = 10.0  # bounds every wait: a broken breaker fails the test instead of hanging it


class AtomicRequests:
    """The moto client with one request at a time, as DynamoDB applies each request to an item
    atomically (moto alone does not promise that across threads). Reads and writes of different
    environments still interleave freely between requests."""

    def __init__(self, client: Any) -> None:
        self.client, self.lock = client, threading.Lock()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def locked(**kwargs: Any) -> Any:
            with self.lock:
                return method(**kwargs)

        return locked


@pytest.fixture
def table() -> Iterator[AtomicRequests]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="breakers",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield AtomicRequests(client)


def environments(table: AtomicRequests, now: list[float]) -> list[CircuitBreaker]:
    return [
        CircuitBreaker(
            "dep",
            failure_threshold=ENVIRONMENTS,
            reset_timeout_s=30,
            clock=lambda: now[0],
            store=DynamoDBBreakerStore("breakers", table),
        )
        for _ in range(ENVIRONMENTS)
    ]


def run_together(targets: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S * 2)
    assert not any(thread.is_alive() for thread in threads)


def test_failures_recorded_at_once_by_five_environments_all_count(table: AtomicRequests) -> None:
    # GIVEN five environments whose calls are all in flight (each read "closed, 0 failures")
    now = [1000.0]
    breakers = environments(table, now)
    together = threading.Barrier(ENVIRONMENTS, timeout=WAIT_S)

    def failing() -> None:
        together.wait()
        raise ConnectionError("dependency down")

    def environment(breaker: CircuitBreaker) -> Callable[[], None]:
        def run() -> None:
            with pytest.raises(ConnectionError):
                breaker.call(failing)

        return run

    # WHEN all five fail at once
    run_together([environment(b) for b in breakers])
    # THEN the store holds five failures and the circuit is open for everyone
    stored = DynamoDBBreakerStore("breakers", table).load("dep")
    assert stored is not None
    assert (stored.state, stored.failures) == ("open", 5)
    assert all(b.state == "open" for b in breakers)


def test_one_probe_per_reset_window_across_environments(table: AtomicRequests) -> None:
    # GIVEN a circuit opened 30 s ago (due a probe) in the shared store
    now = [1000.0]
    store = DynamoDBBreakerStore("breakers", table)
    assert store.save("dep", BreakerState("open", 5, 970.0, version=1))
    breakers = environments(table, now)
    start = threading.Barrier(ENVIRONMENTS, timeout=WAIT_S)
    rejected: list[float] = []
    probes: list[int] = []
    everyone_else_answered = threading.Event()
    lock = threading.Lock()

    def probe() -> str:
        probes.append(1)
        everyone_else_answered.wait(WAIT_S)  # still in flight while the others try
        return "ok"

    def environment(breaker: CircuitBreaker) -> Callable[[], None]:
        def run() -> None:
            start.wait()
            try:
                breaker.call(probe)
            except CircuitOpenError as refused:
                with lock:
                    rejected.append(refused.retry_after)
                    if len(rejected) == ENVIRONMENTS - 1:
                        everyone_else_answered.set()

        return run

    # WHEN all five call at once
    run_together([environment(b) for b in breakers])
    # THEN exactly one probe went out; the others were refused until the lease ends
    assert len(probes) == 1
    assert len(rejected) == ENVIRONMENTS - 1 and all(0 < r <= 30 for r in rejected)
    stored = store.load("dep")
    assert stored is not None and stored.state == "closed"  # the probe succeeded


def test_an_expired_lease_lets_another_environment_probe(table: AtomicRequests) -> None:
    # GIVEN a probe lease taken by an environment that then vanished (the lease ran out)
    now = [1000.0]
    store = DynamoDBBreakerStore("breakers", table)
    assert store.save("dep", BreakerState("half_open", 5, 900.0, version=1, probe_until=999.0))
    breaker = environments(table, now)[0]
    # WHEN another environment calls, THEN it probes, and the success closes the circuit
    assert breaker.call(lambda: "ok") == "ok"
    assert store.load("dep") == BreakerState("closed", 0, 0.0, version=3, probe_until=0.0)


def test_a_held_lease_refuses_other_calls_until_it_ends(table: AtomicRequests) -> None:
    now = [1000.0]
    store = DynamoDBBreakerStore("breakers", table)
    assert store.save("dep", BreakerState("half_open", 5, 900.0, version=1, probe_until=1012.5))
    with pytest.raises(CircuitOpenError, match=r"retry after 12\.5 s"):
        environments(table, now)[0].call(lambda: "never")


def test_a_probe_that_fails_reopens_the_circuit_for_a_new_window(table: AtomicRequests) -> None:
    now = [1000.0]
    store = DynamoDBBreakerStore("breakers", table)
    assert store.save("dep", BreakerState("open", 5, 970.0, version=1))
    breaker = environments(table, now)[0]
    with pytest.raises(TimeoutError):
        breaker.call(lambda: (_ for _ in ()).throw(TimeoutError("still down")))
    stored = store.load("dep")
    assert stored is not None and (stored.state, stored.opened_at) == ("open", 1000.0)


def test_a_store_that_always_conflicts_is_tried_a_bounded_number_of_times() -> None:
    from handlers.resilience.breaker import CONFLICT_RETRIES

    class Contended:
        saves = 0

        def load(self, name: str) -> BreakerState | None:
            return BreakerState("closed", 1, 0.0, version=7)

        def save(self, name: str, state: BreakerState) -> bool:
            self.saves += 1
            assert state.version == 8  # always computed from the fresh read
            return False

    store = Contended()
    breaker = CircuitBreaker("dep", store=store)
    with pytest.raises(ConnectionError):
        breaker.call(lambda: (_ for _ in ()).throw(ConnectionError("down")))
    assert store.saves == CONFLICT_RETRIES
