"""A circuit breaker: fail fast while a dependency is down, probe it after a cool-down.

States: ``closed`` (calls pass; consecutive failures are counted), ``open`` (calls fail at once
with ``CircuitOpenError`` until ``reset_timeout_s`` has passed), ``half_open`` (one probe call
passes; success closes the circuit, failure opens it again).

State lives in the execution environment by default: each environment learns on its own that
a dependency is down (up to ``failure_threshold`` failed calls each), which costs nothing per
call. A shared store (``DynamoDBBreakerStore``) lets one environment's discovery protect all of
them, at the price of a read per call and a write per state change, and of making the store a
dependency itself; when the store fails, the breaker falls back to its local state (fail open).
With the store, a state change is a conditional write retried from a fresh read on a conflict
(five environments failing at once count five failures), and the half-open probe is a lease
taken with a conditional write (one probe per reset window across all environments).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeVar

__all__ = ["BreakerState", "BreakerStore", "CircuitBreaker", "CircuitOpenError", "DynamoDBBreakerStore"]

T = TypeVar("T")
State = Literal["closed", "open", "half_open"]


class CircuitOpenError(RuntimeError):
    """The circuit is open: the call was not made. ``retry_after`` is in seconds."""

    def __init__(self, name: str, retry_after: float) -> None:
        self.name, self.retry_after = name, retry_after
        super().__init__(f"circuit {name!r} is open; retry after {retry_after:.1f} s")


@dataclass(frozen=True)
class BreakerState:
    state: State = "closed"
    failures: int = 0
    opened_at: float = 0.0
    version: int = 0
    probe_until: float = 0.0
    """Half-open: the probe lease of the environment that probes, until this time (epoch s)."""


class BreakerStore(Protocol):
    def load(self, name: str) -> BreakerState | None: ...
    def save(self, name: str, state: BreakerState) -> bool:
        """Write ``state`` if the stored version is ``state.version - 1``; False on a conflict."""
        ...


CONFLICT_RETRIES = 10  # fresh reads per state change before falling back to local state


class CircuitBreaker:
    """Defaults: open after 5 consecutive failures, probe after 30 s.

    With a shared store every state change is a conditional write computed from a fresh read and
    retried from a fresh read on a conflict (up to ``CONFLICT_RETRIES`` times), so failures that
    several environments record at once all count. A half-open probe needs a lease, taken with a
    conditional write: one probe per reset window across every environment sharing the store.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        is_failure: Callable[[BaseException], bool] = lambda error: True,
        clock: Callable[[], float] = time.time,
        store: BreakerStore | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold={failure_threshold!r} must be at least 1")
        if reset_timeout_s <= 0:
            raise ValueError(f"reset_timeout_s={reset_timeout_s!r} must be above 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self.is_failure = is_failure
        self.clock = clock
        self.store = store
        self._local = BreakerState()

    # wall-clock time (not monotonic) so that a shared store compares across environments
    @property
    def state(self) -> State:
        return self._effective(self._load())

    def _load(self) -> BreakerState:
        """The stored state (fresh), or the local one without a store or when the store fails."""
        if self.store is not None:
            try:
                stored = self.store.load(self.name)
            except Exception:  # the store is a dependency too: fall back to local state
                stored = None
            if stored is not None:
                self._local = stored
        return self._local

    def _effective(self, stored: BreakerState) -> State:
        if stored.state == "open" and self.clock() - stored.opened_at >= self.reset_timeout_s:
            return "half_open"
        return stored.state

    def _update(self, change: Callable[[BreakerState], BreakerState | None]) -> BreakerState | None:
        """Apply ``change`` to a fresh read and write it conditionally on the version read; on a
        conflict, read again and re-apply. None when ``change`` declines (nothing to write)."""
        for _ in range(CONFLICT_RETRIES):
            base = self._load()
            new = change(base)
            if new is None:
                return None
            new = replace(new, version=base.version + 1)
            if self.store is None:
                self._local = new
                return new
            try:
                saved = self.store.save(self.name, new)
            except Exception:  # fail open: the change holds locally; the store catches up later
                saved = True
            if saved:
                self._local = new
                return new
        return None  # still contended: another environment's writes stand

    def call(self, fn: Callable[[], T]) -> T:
        stored = self._load()
        current = self._effective(stored)
        now = self.clock()
        if current == "open":
            raise CircuitOpenError(self.name, self.reset_timeout_s - (now - stored.opened_at))
        probing = False
        if current == "half_open":
            if stored.state == "half_open" and stored.probe_until > now:  # another probe holds the lease
                raise CircuitOpenError(self.name, stored.probe_until - now)
            if self._update(self._take_lease) is None:
                raise CircuitOpenError(self.name, self.reset_timeout_s)
            probing = True
        try:
            result = fn()
        except Exception as error:
            if self.is_failure(error):
                self._update(self._with_failure)
            elif probing:
                self._update(self._release_lease)
            raise
        if probing or stored.state != "closed" or stored.failures:
            self._update(self._closed)
        return result

    # -- state changes, each a function of the freshest stored state ------------------------------
    def _take_lease(self, stored: BreakerState) -> BreakerState | None:
        now = self.clock()
        if self._effective(stored) != "half_open" or (stored.state == "half_open" and stored.probe_until > now):
            return None
        return replace(stored, state="half_open", probe_until=now + self.reset_timeout_s)

    def _release_lease(self, stored: BreakerState) -> BreakerState | None:
        return replace(stored, probe_until=0.0) if stored.state == "half_open" else None

    def _with_failure(self, stored: BreakerState) -> BreakerState | None:
        current = self._effective(stored)
        if current == "open":
            return None  # already open: nothing to add
        failures = stored.failures + 1
        if current == "half_open" or failures >= self.failure_threshold:
            return BreakerState("open", failures, self.clock())
        return replace(stored, state="closed", failures=failures, probe_until=0.0)

    def _closed(self, stored: BreakerState) -> BreakerState | None:
        if stored.state == "closed" and not stored.failures:
            return None
        return BreakerState("closed", 0, 0.0)


class DynamoDBBreakerStore:
    """Breaker state in a DynamoDB table keyed by ``pk`` (string), written with a version check
    so two environments that change state at once do not overwrite each other blindly."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name, self.client = table_name, client

    def load(self, name: str) -> BreakerState | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"breaker#{name}"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return BreakerState(
            item["state"]["S"],
            int(item["failures"]["N"]),
            float(item["opened_at"]["N"]),
            int(item["version"]["N"]),
            float(item.get("probe_until", {}).get("N", "0")),
        )

    def save(self, name: str, state: BreakerState) -> bool:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": f"breaker#{name}"},
                    "state": {"S": state.state},
                    "failures": {"N": str(state.failures)},
                    "opened_at": {"N": repr(state.opened_at)},
                    "version": {"N": str(state.version)},
                    "probe_until": {"N": repr(state.probe_until)},
                },
                ConditionExpression="attribute_not_exists(pk) OR version < :v",
                ExpressionAttributeValues={":v": {"N": str(state.version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
