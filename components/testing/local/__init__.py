"""Run a program's stack on one machine, as its graph says (moto for AWS, one subprocess per warm
Lambda execution environment):

    from resilient_serverless.components.testing import run_locally

    with run_locally("dev") as stack:
        answer = stack.request("POST", "/orders", json=order, caller="arn:aws:iam::123456789012:role/client")
        stack.settle()                      # SQS mappings, async invokes, executions, status events
        assert stack.request("GET", f"/orders/{order['order_id']}", caller=...).json()["order_id"] == ...
"""

from .apis import Response, TokenBucket
from .backend import NOT_EMULATED
from .clock import Clock
from .functions import FunctionSpec, Hold, Invocation, TooManyRequests
from .receiver import Delivery, WebhookReceiver
from .run import LocalRun, capture_stack, run_locally
from .websocket import WebSocket, WebSocketRefused

__all__ = [
    "NOT_EMULATED",
    "Clock",
    "Delivery",
    "FunctionSpec",
    "Hold",
    "Invocation",
    "LocalRun",
    "Response",
    "TokenBucket",
    "TooManyRequests",
    "WebSocket",
    "WebSocketRefused",
    "WebhookReceiver",
    "capture_stack",
    "run_locally",
]
