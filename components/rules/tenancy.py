"""Rules about tenants sharing a queue (SQS fair queues, ``aws_facts.SQS_FAIR_QUEUES``).

"Multi-tenant route", as the rule reads it: a queue route on a standard queue whose API tells its
callers apart, because the route has ``auth`` (IAM, JWT, Cognito or a Lambda authorizer) or the API
has usage plans (an API key per client). Those are the routes where several callers share one
queue and where the caller's identity is at hand for ``tenant="principal"``; a public route's
callers cannot be told apart by the API (a header or a path parameter is the owner's call, so the
rule stays silent there). A FIFO target is left out: its ``group_id`` already groups the messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph

__all__ = ["api_queue_route_tenant"]

THROTTLED_API = "resilient-serverless:index:ThrottledApi"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"


@rule(
    "api-queue-route-tenant",
    "warning",
    (THROTTLED_API,),
    "A queue route whose API tells callers apart (auth or usage plans) sends a tenant on standard queues",
)
def api_queue_route_tenant(api: CapturedResource, graph: Graph) -> Iterator[str]:
    api_keys = bool(graph.children_of(api, USAGE_PLAN))
    for route in graph.outputs_of(api).get("routes", []):
        target = str(route.get("target", ""))
        if not target.startswith("queue ") or target.endswith("(FIFO)") or route.get("tenant_source"):
            continue
        auth = route.get("auth", "none")
        if auth == "none" and not api_keys:
            continue
        callers = f"auth {auth}" if auth != "none" else "an API key per client"
        yield (
            f"{route['route']} sends every caller's messages ({callers}) to one standard queue without a tenant: "
            "one caller's flood raises every other caller's wait; set tenant='principal' (or path.<param>, "
            "header.<Name>) so SQS fair queues serve the quiet callers first"
        )
