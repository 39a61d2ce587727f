"""The run's clock: real time plus an offset the test moves forward.

Message ages and visibility (moto's SQS), Step Functions retry intervals, API throttles, the
Lambda context's deadline and ``time.time`` / ``datetime.now`` inside every handler follow it.
``Wait`` states, task timeouts and heartbeats inside moto's interpreter do not (real time).
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Clock"]


@dataclass
class Clock:
    offset_s: float = 0.0
    _frozen_at: float | None = None

    def now(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at + self.offset_s
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        """Move the clock forward (never back: AWS timestamps only grow)."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds} must be >= 0 (the clock only moves forward)")
        self.offset_s += seconds

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Stop the run's own readings (throttles, async retries) from moving with real time, so a
        test counts tokens exactly; handlers keep real time plus the offset."""
        self._frozen_at = time.time()
        try:
            yield
        finally:
            self._frozen_at = None


class DatetimeModule:
    """A stand-in for the ``datetime`` module whose ``datetime.now()`` reads the run's clock, for
    code that does ``import datetime`` (moto's Step Functions interpreter: entered and start times)."""

    def __init__(self, clock: Clock) -> None:
        class ClockDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return datetime.datetime.fromtimestamp(clock.now(), tz)

        self.datetime = ClockDatetime

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)
