"""Queue arithmetic shared by every component that puts a consumer behind SQS."""

from __future__ import annotations

from typing import Final

__all__ = ["VISIBILITY_FACTOR", "visibility_timeout_for"]

# AWS's guidance for Lambda consumers: at least six times the function timeout, so a batch that is
# retried by Lambda (throttles, errors) is not made visible again while still being worked on.
VISIBILITY_FACTOR: Final = 6


def visibility_timeout_for(consumer_timeout_s: int, batching_window_s: int = 0) -> int:
    """The smallest safe visibility timeout: 6 x the consumer timeout plus the batching window."""
    if consumer_timeout_s < 1 or batching_window_s < 0:
        raise ValueError(
            f"consumer_timeout_s={consumer_timeout_s!r} must be >= 1 and batching_window_s={batching_window_s!r} >= 0"
        )
    return VISIBILITY_FACTOR * consumer_timeout_s + batching_window_s
