"""ThrottledApi: an API Gateway front door that turns away excess and malformed work at the edge.

Two flavours behind ``flavor``:

- ``rest`` (API Gateway v1): usage plans with API keys and quotas per client, request validation
  against JSON-schema models (a malformed body gets 400 with no Lambda invocation), X-Ray,
  asynchronous Lambda invocation (202 at once), direct SQS integration, execution logging and
  WAF. Higher latency and price than HTTP.
- ``http`` (API Gateway v2): lower latency and about a third of the price; no usage plans, no
  request validation, no X-Ray, no asynchronous Lambda integration, no WAF. It still throttles
  per stage and route, logs access and sends straight to SQS.

What you get by default (``defaults.py``, each pinned by a test): a stage throttle of 50 rps with
bursts of 100 and an explicit throttle on every route (an HTTP route setting without both values
throttles to 0 on AWS: this component never emits one); JSON access logs with the client, route,
status, latency and integration error, kept 30 days; REST execution logs at ERROR with metrics;
X-Ray on REST; sync integration timeouts one second above the function's timeout (the function
gives up first) capped at 29 s (REST) or 30 s (HTTP); Lambda permissions scoped to the API, stage,
method and path; alarms on the 5XX rate (1%), the 4XX rate (10%, throttles included) and p99
latency (80% of the longest integration timeout). Both flavours accept payloads up to 10 MB; a
synchronous Lambda takes at most 6 MB and an SQS message 256 KiB.

Fire-and-forget routes answer 202 only on the backend's success and forward the request's
envelope (``envelope.py``); routes take ``auth`` (``auth.py``); REST deployments are replaced
whenever anything they snapshot changes. The package: ``routes.py`` (route model and validation),
``common.py`` (what every flavour shares, WebSocket included), ``rest.py``, ``http.py``,
``alarms.py``, ``account.py`` (the region's logging role), ``component.py`` (the class).
"""

from .account import ApiGatewayAccount
from .component import ThrottledApi
from .routes import CorsArgs, QuotaArgs, RouteArgs, ThrottleArgs, ThrottledApiArgs, UsagePlanArgs

__all__ = [
    "ApiGatewayAccount",
    "CorsArgs",
    "QuotaArgs",
    "RouteArgs",
    "ThrottleArgs",
    "ThrottledApi",
    "ThrottledApiArgs",
    "UsagePlanArgs",
]
