"""A circuit breaker: fail fast while a dependency is down, probe it after a cool-down.

States: ``closed`` (calls pass; consecutive failures are counted), ``open`` (calls fail at once
with ``CircuitOpenError`` until ``reset_timeout_s`` has passed), ``half_open`` (one probe call
passes; success closes the circuit, failure opens it again).

State lives in the execution environment by default: each environment learns on its own that
a dependency is down (up to ``failure_threshold`` failed calls each), which costs nothing per
call. A shared store (``DynamoDBBreakerStore``) lets one environment's discovery protect all of
them, at the price of a read per call and a write per state change, and of making the store a
dependency itself; when the store fails, the breaker falls back to its local state (fail open).
"""

from __future__ import annotations

import contextlib
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


class BreakerStore(Protocol):
    def load(self, name: str) -> BreakerState | None: ...
    def save(self, name: str, state: BreakerState) -> bool:
        """Write ``state`` if the stored version is ``state.version - 1``; False on a conflict."""
        ...


class CircuitBreaker:
    """Defaults: open after 5 consecutive failures, probe after 30 s."""

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
        self._probe_in_flight = False

    # wall-clock time (not monotonic) so that a shared store compares across environments
    @property
    def state(self) -> State:
        return self._current().state

    def _current(self) -> BreakerState:
        if self.store is not None:
            try:
                stored = self.store.load(self.name)
            except Exception:  # the store is a dependency too: fall back to local state
                stored = None
            if stored is not None:
                self._local = stored
        current = self._local
        if current.state == "open" and self.clock() - current.opened_at >= self.reset_timeout_s:
            current = replace(current, state="half_open")
        return current

    def _write(self, new: BreakerState) -> None:
        new = replace(new, version=self._local.version + 1)
        self._local = new
        if self.store is not None:
            # Local state already holds the change; the store catches up on the next write.
            with contextlib.suppress(Exception):
                self.store.save(self.name, new)

    def call(self, fn: Callable[[], T]) -> T:
        current = self._current()
        if current.state == "open":
            raise CircuitOpenError(self.name, self.reset_timeout_s - (self.clock() - current.opened_at))
        if current.state == "half_open":
            if self._probe_in_flight:
                raise CircuitOpenError(self.name, self.reset_timeout_s)
            self._probe_in_flight = True
        try:
            result = fn()
        except Exception as error:
            if self.is_failure(error):
                self._record_failure(current)
            raise
        finally:
            self._probe_in_flight = False
        if current.state != "closed" or current.failures:
            self._write(BreakerState("closed", 0, 0.0))
        return result

    def _record_failure(self, current: BreakerState) -> None:
        failures = current.failures + 1
        if current.state == "half_open" or failures >= self.failure_threshold:
            self._write(BreakerState("open", failures, self.clock()))
        else:
            self._write(replace(current, state="closed", failures=failures))


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
                },
                ConditionExpression="attribute_not_exists(pk) OR version < :v",
                ExpressionAttributeValues={":v": {"N": str(state.version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
