"""resilient-serverless components: the resilience patterns of serverless systems as defaults.

Heavy modules (pulumi_aws resource classes) load on first use, so importing a helper such as
``naming`` or ``validation`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .async_job_workflow import AsyncJobWorkflow, AsyncJobWorkflowArgs, PushChannel
    from .base import ResilientComponent, stack_tags
    from .grants import Grants
    from .naming import physical_name
    from .operations import Operations, OperationsArgs
    from .packaging import FunctionPackage, package_function
    from .priority_queue_pair import PriorityQueuePair, PriorityQueuePairArgs
    from .resilient_function import ResilientFunction, ResilientFunctionArgs
    from .throttled_api import ApiGatewayAccount, ThrottledApi, ThrottledApiArgs
    from .validation import ConfigError
    from .websocket_notifier import WebSocketNotifier, WebSocketNotifierArgs

__all__ = [
    "ApiGatewayAccount",
    "AsyncJobWorkflow",
    "AsyncJobWorkflowArgs",
    "ConfigError",
    "FunctionPackage",
    "Grants",
    "Operations",
    "OperationsArgs",
    "PriorityQueuePair",
    "PriorityQueuePairArgs",
    "PushChannel",
    "ResilientComponent",
    "ResilientFunction",
    "ResilientFunctionArgs",
    "ThrottledApi",
    "ThrottledApiArgs",
    "WebSocketNotifier",
    "WebSocketNotifierArgs",
    "package_function",
    "physical_name",
    "stack_tags",
]

_WHERE = {
    "AsyncJobWorkflow": ".async_job_workflow",
    "AsyncJobWorkflowArgs": ".async_job_workflow",
    "PushChannel": ".async_job_workflow",
    "ConfigError": ".validation",
    "Grants": ".grants",
    "ResilientComponent": ".base",
    "stack_tags": ".base",
    "physical_name": ".naming",
    "ResilientFunction": ".resilient_function",
    "ResilientFunctionArgs": ".resilient_function",
    "ApiGatewayAccount": ".throttled_api",
    "PriorityQueuePair": ".priority_queue_pair",
    "PriorityQueuePairArgs": ".priority_queue_pair",
    "ThrottledApi": ".throttled_api",
    "ThrottledApiArgs": ".throttled_api",
    "WebSocketNotifier": ".websocket_notifier",
    "WebSocketNotifierArgs": ".websocket_notifier",
    "Operations": ".operations",
    "OperationsArgs": ".operations",
    "FunctionPackage": ".packaging",
    "package_function": ".packaging",
}


def _version() -> str:
    """The installed distribution's version: pyproject.toml is its one source."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 (import stays cheap)

    try:
        return version("resilient-serverless")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _version()
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
