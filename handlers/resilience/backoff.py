"""Retry with full-jitter exponential backoff, bounded by attempts and by a time budget.

This is the one layer that retries AWS calls: ``aws_client`` builds clients with botocore's own
retries off (one attempt per call), because only this layer knows the invocation's deadline;
retries in both layers would multiply (3 x 3 = 9 requests per logical call). The budget, per
logical call: 3 attempts, full-jitter delays (50 ms base, 2 s cap), and no attempt started that
cannot finish before the deadline.

The delay before retry ``n`` (0-based) is ``random(0, min(cap, base * 2**n))`` (full jitter:
clients that failed together do not retry together). The budget comes from the invocation's
remaining time: a retry is started only if its delay plus the expected length of an attempt (the
policy's ``attempt_timeout_s``, or the longest attempt so far) ends before the deadline, so no
work goes on after the caller has given up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

__all__ = ["Deadline", "RetryPolicy", "full_jitter_delay", "is_retryable", "retry"]

T = TypeVar("T")

# Error codes AWS returns for throttling or a transient fault on its side.
RETRYABLE_CODES = frozenset(
    {
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
    }
)


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def full_jitter_delay(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): uniform in [0, min(cap, base * 2**attempt)]."""
    if attempt < 0 or base <= 0 or cap <= 0:
        raise ValueError(f"attempt={attempt!r} must be >= 0, base={base!r} and cap={cap!r} > 0")
    return rand() * min(cap, base * (2 ** min(attempt, 62)))


@dataclass(frozen=True)
class Deadline:
    """An absolute monotonic deadline; ``from_context`` keeps ``margin_s`` to finish cleanly."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def from_context(
        cls, context: LambdaContextLike, margin_s: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        return cls(clock() + context.get_remaining_time_in_millis() / 1000 - margin_s, clock)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return self.at - self.clock()


@dataclass(frozen=True)
class RetryPolicy:
    """Defaults: 3 attempts, 50 ms base, 2 s cap (short: a Lambda has seconds, not minutes).

    ``attempt_timeout_s``: the longest one attempt may take (e.g. the client's connect plus read
    timeout), used to decide whether a retry can finish before the deadline. Default: None (the
    longest attempt seen so far in this call)."""

    attempts: int = 3
    base_s: float = 0.05
    cap_s: float = 2.0
    attempt_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 10:
            raise ValueError(f"attempts={self.attempts!r} is outside 1 to 10")
        if not 0 < self.base_s <= self.cap_s:
            raise ValueError(f"base_s={self.base_s!r} must be > 0 and at most cap_s={self.cap_s!r}")
        if self.attempt_timeout_s is not None and not self.attempt_timeout_s > 0:
            raise ValueError(f"attempt_timeout_s={self.attempt_timeout_s!r} must be above 0")


def is_retryable(error: BaseException) -> bool:
    """Throttling, 5xx and connection faults are worth a retry; client errors are not."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500 or status == 429
    name = type(error).__name__
    return name in {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "TimeoutError",
        "ConnectionError",
    }


def retry(
    call: Callable[[], T],
    *,
    policy: RetryPolicy = RetryPolicy(),
    deadline: Deadline | None = None,
    retry_on: Callable[[BaseException], bool] = is_retryable,
    sleep: Callable[[float], Any] = time.sleep,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[int, BaseException, float], Any] | None = None,
) -> T:
    """Call ``call`` until it succeeds, the error is not retryable, attempts run out, or the next
    attempt could not finish before the deadline; then the last error is raised. With no time
    left at all, ``TimeoutError`` is raised without a call."""
    if deadline is not None and deadline.remaining() <= 0:
        raise TimeoutError("no time left before the deadline: the call was not made")
    longest = policy.attempt_timeout_s or 0.0
    for attempt in range(policy.attempts):
        started = deadline.clock() if deadline is not None else 0.0
        try:
            return call()
        except Exception as error:
            last = attempt == policy.attempts - 1
            if last or not retry_on(error):
                raise
            delay = full_jitter_delay(attempt, policy.base_s, policy.cap_s, rand)
            if deadline is not None:
                if policy.attempt_timeout_s is None:
                    longest = max(longest, deadline.clock() - started)
                if delay + longest >= deadline.remaining():
                    raise
            if on_retry is not None:
                on_retry(attempt + 1, error, delay)
            sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
