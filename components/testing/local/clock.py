"""The run's clock: real time plus an offset the test moves forward.

Message ages and visibility (moto's SQS), the Lambda context's deadline and ``time.time`` /
``datetime.now`` inside every handler follow it. Step Functions waits and timeouts inside moto's
interpreter do not (they run on real time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Clock"]


@dataclass
class Clock:
    offset_s: float = 0.0

    def now(self) -> float:
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        """Move the clock forward (never back: AWS timestamps only grow)."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds} must be >= 0 (the clock only moves forward)")
        self.offset_s += seconds
