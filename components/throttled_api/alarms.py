"""Alarms of a ThrottledApi: 5XX rate, 4XX rate (throttles included) and p99 latency."""

from __future__ import annotations

from typing import Any

import pulumi

from .. import defaults
from ..blocks import AlarmSpec, api_gateway_alarms
from .core import ApiCore


class ApiAlarms(ApiCore):
    def _create_alarms(self) -> dict[str, pulumi.Resource]:
        s = self.settings
        if s.flavor == "rest":
            dims: dict[str, Any] = {"ApiName": self.api.name, "Stage": s.stage_name}
            names = {"5xx": "5XXError", "4xx": "4XXError"}
        else:
            dims = {"ApiId": self.api.id, "Stage": s.stage_name}
            names = {"5xx": "5xx", "4xx": "4xx"}
        longest_ms = max(r.timeout_ms for r in self.routes)
        latency_ms = longest_ms * defaults.API_LATENCY_ALARM_SHARE
        specs = [
            AlarmSpec(
                "5xx-rate",
                names["5xx"],
                "Average",
                defaults.API_5XX_RATE_ALARM,
                f"More than {defaults.API_5XX_RATE_ALARM:.0%} of requests fail on the server side",
            ),
            AlarmSpec(
                "4xx-rate",
                names["4xx"],
                "Average",
                defaults.API_4XX_RATE_ALARM,
                f"More than {defaults.API_4XX_RATE_ALARM:.0%} of requests are rejected (throttles included)",
            ),
            AlarmSpec(
                "latency-p99",
                "Latency",
                "p99",
                latency_ms,
                f"p99 latency above {defaults.API_LATENCY_ALARM_SHARE:.0%} of the longest integration timeout",
            ),
        ]
        return api_gateway_alarms(self, s.alarm_topic_arn, dims, specs)
