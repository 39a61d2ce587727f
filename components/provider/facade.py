"""Schema-friendly facades of the five components, for Pulumi programs in other languages.

Pulumi's analyzer (``pulumi.provider.experimental``) infers the package schema from type hints it
can evaluate, so this module does not postpone annotations, and every input is a plain type:
where the Python API takes a union, a callable or a component instance, the facade takes what a
TypeScript, Go, C#, Java or YAML program can pass:

- ``code`` (``pulumi.Archive | str``): a directory path, zipped as is.
- a function (``worker``, a route's ``function``, an authorizer): its ``handler`` and ``code``
  plus plain ``FunctionSettings``; the facade creates the ResilientFunction beside the component.
- a queue target (``aws.sqs.Queue | PriorityQueuePair``): ``queue_url``, e.g. a pair's
  ``highUrl``; the facade reads the queue by its URL.
- ``push`` (a WebSocketNotifier instance): ``push: true``, a notifier created for the workflow.
- an AsyncJobWorkflow's ``routes`` (dicts holding functions): a ThrottledApi of its own,
  ``apiUrl``.
- ``transform`` (callables): not offered; Pulumi's ``transforms`` resource option, available in
  every language, edits the same children.
- ``int | None`` where ``None`` means "none": leave the input out to get the documented default.

Each facade's ``__new__`` builds and returns the Python component itself, so a program in any
language gets the same resource tree, type tokens and physical names as a Python program (a
wrapper component would add one node of the same type above each). The analyzer reads the
facade class: its ``__init__`` annotation gives the inputs, its class annotations the outputs.
The input types live in ``inputs`` (re-exported here).
"""

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from ..validation import ConfigError
from .inputs import (
    AsyncJobWorkflowArgs,
    CorsArgs,
    FunctionCode,
    FunctionSettings,
    PollersArgs,
    PriorityQueuePairArgs,
    QuotaArgs,
    ResilientFunctionArgs,
    RetryArgs,
    RouteArgs,
    RouteAuthArgs,
    ShardArgs,
    SurgeArgs,
    ThrottleArgs,
    ThrottledApiArgs,
    UsagePlanArgs,
    WebSocketNotifierArgs,
)

PACKAGE = "resilient-serverless"

__all__ = [
    "COMPONENTS",
    "PACKAGE",
    "AsyncJobWorkflow",
    "AsyncJobWorkflowArgs",
    "CorsArgs",
    "FunctionCode",
    "FunctionSettings",
    "PollersArgs",
    "PriorityQueuePair",
    "PriorityQueuePairArgs",
    "QuotaArgs",
    "ResilientFunction",
    "ResilientFunctionArgs",
    "RetryArgs",
    "RouteArgs",
    "RouteAuthArgs",
    "ShardArgs",
    "SurgeArgs",
    "ThrottleArgs",
    "ThrottledApi",
    "ThrottledApiArgs",
    "UsagePlanArgs",
    "WebSocketNotifier",
    "WebSocketNotifierArgs",
    "main",
    "schema",
]


# --- from facade inputs to the Python API -------------------------------------------------------


def _python(component: str) -> Any:
    """The Python component class, loaded on first use (pulumi_aws is heavy). Typed ``Any``: the
    facades pass it plain dicts the schema shaped, which it validates as it validates any."""
    return getattr(importlib.import_module("..", __package__), component)


def _relative_code(args: Any, where: str = "") -> list[str]:
    """Each ``code`` given as a relative path, anywhere in the inputs, with where it is."""
    if isinstance(args, Mapping):
        found = []
        for key, value in args.items():
            if key == "code" and isinstance(value, str) and not Path(value).is_absolute():
                found.append(f"{where}code={value!r}")
            found += _relative_code(value, f"{where}{key}.")
        return found
    if isinstance(args, list):
        return [problem for i, item in enumerate(args) for problem in _relative_code(item, f"{where[:-1]}[{i}].")]
    return []


def _refuse_relative_code(component: str, name: str, args: Mapping[str, Any]) -> None:
    """The plugin runs in its own directory, not the program's: a relative ``code`` would be looked
    for there. One ``ConfigError``, before any resource, naming each."""
    problems = [
        f"{found} must be an absolute path: the package runs in its own directory, not your program's "
        "(YAML: ${pulumi.cwd}/app; TypeScript: path.resolve('app'))"
        for found in _relative_code(args)
    ]
    if problems:
        raise ConfigError(f"{component} {name!r}", problems)


def _sibling(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Options for a resource the facade creates beside the component (same parent, providers)."""
    return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(), opts)


def _function(name: str, spec: Mapping[str, Any], opts: pulumi.ResourceOptions | None, invocation: str = "sync") -> Any:
    args = {**spec.get("settings", {}), "handler": spec["handler"], "code": spec["code"], "invocation": invocation}
    return _python("ResilientFunction")(name, args, opts=_sibling(opts))


def _route(api: str, route: Mapping[str, Any], opts: pulumi.ResourceOptions | None) -> dict[str, Any]:
    import pulumi_aws as aws  # noqa: PLC0415

    mapped = {k: v for k, v in route.items() if k not in ("function", "queue_url")}
    slug = re.sub(r"[^a-z0-9]+", "-", f"{route['method']}{route['path']}".lower()).strip("-")
    if "function" in route:
        mapped["function"] = _function(f"{api}-{slug}", route["function"], opts)
    if "queue_url" in route:
        mapped["queue"] = aws.sqs.Queue.get(f"{api}-{slug}-queue", route["queue_url"], opts=_sibling(opts))
    return mapped


# --- the facades -------------------------------------------------------------------------------


class ResilientFunction(pulumi.ComponentResource):
    """A Lambda function bounded by default: timeout, reserved concurrency, logs, tracing, alarms."""

    function_name: pulumi.Output[str]
    """The function's name."""
    function_arn: pulumi.Output[str]
    """The function's ARN."""
    target_arn: pulumi.Output[str]
    """What callers invoke: the ``live`` alias when there is one, else the function."""
    invoke_arn: pulumi.Output[str]
    """The ARN API Gateway integrations invoke."""
    alias_arn: pulumi.Output[str | None]
    """The ``live`` alias, present with provisioned concurrency or SnapStart."""
    role_arn: pulumi.Output[str]
    """The function's role."""
    log_group_name: pulumi.Output[str]
    """The function's log group."""
    dlq_arn: pulumi.Output[str | None]
    """async functions: where failed events go."""

    def __new__(  # returns the Python component (see the module docstring)
        cls, name: str, args: ResilientFunctionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> Any:
        _refuse_relative_code("ResilientFunction", name, args)
        Component = _python("ResilientFunction")

        return Component(name, dict(args), opts=opts)

    def __init__(self, name: str, args: ResilientFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Never runs: ``__new__`` returns the Python component; this signature is the schema."""


class ThrottledApi(pulumi.ComponentResource):
    """An API Gateway front door (REST or HTTP): every route throttled, logged, traced, timed out."""

    url: pulumi.Output[str]
    """The stage's invoke URL."""
    api_id: pulumi.Output[str]
    """The API's id."""
    stage_name: pulumi.Output[str]
    """The stage's name."""
    execution_arn: pulumi.Output[str]
    """The API's execution ARN, for ``execute-api:Invoke`` policies."""

    def __new__(cls, name: str, args: ThrottledApiArgs, opts: pulumi.ResourceOptions | None = None) -> Any:
        _refuse_relative_code("ThrottledApi", name, args)
        Component = _python("ThrottledApi")

        routes = [_route(name, route, opts) for route in args.get("routes", [])]
        return Component(name, {**args, "routes": routes}, opts=opts)

    def __init__(self, name: str, args: ThrottledApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Never runs: ``__new__`` returns the Python component; this signature is the schema."""


class PriorityQueuePair(pulumi.ComponentResource):
    """High and low priority SQS queues with DLQs, isolated consumers and age-based deferral."""

    high_url: pulumi.Output[str]
    """The high-priority queue (the producers' entry, e.g. a ThrottledApi route's queueUrl)."""
    low_url: pulumi.Output[str]
    """The low-priority queue."""
    producer_config: pulumi.Output[dict[str, Any]]
    """What ``handlers.resilience.routing.Router`` needs: URLs, thresholds, shards, fifo."""

    def __new__(cls, name: str, args: PriorityQueuePairArgs, opts: pulumi.ResourceOptions | None = None) -> Any:
        _refuse_relative_code("PriorityQueuePair", name, args)
        Component = _python("PriorityQueuePair")

        return Component(name, dict(args), opts=opts)

    def __init__(self, name: str, args: PriorityQueuePairArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Never runs: ``__new__`` returns the Python component; this signature is the schema."""


class AsyncJobWorkflow(pulumi.ComponentResource):
    """Submit answers 202 with a job id; Step Functions runs the worker; results by pre-signed URL; own API."""

    table_name: pulumi.Output[str]
    """The jobs table."""
    bucket_name: pulumi.Output[str]
    """The results bucket."""
    state_machine_arn: pulumi.Output[str]
    """The state machine running each job."""
    start_queue_url: pulumi.Output[str | None]
    """start queue only: the buffer in front of StartExecution."""
    api_url: pulumi.Output[str]
    """The invoke URL of the workflow's own API (routes under ``path``)."""
    push_url: pulumi.Output[str | None]
    """push only: the WebSocket URL clients connect to."""

    def __new__(cls, name: str, args: AsyncJobWorkflowArgs, opts: pulumi.ResourceOptions | None = None) -> Any:
        _refuse_relative_code("AsyncJobWorkflow", name, args)
        Component = _python("AsyncJobWorkflow")
        Api, Notifier = _python("ThrottledApi"), _python("WebSocketNotifier")

        given = {k: v for k, v in args.items() if k not in ("worker", "push", "api_throttle")}
        # Step Functions invokes the worker, never API Gateway: not bound by the 29 s of a sync function
        worker = _function(f"{name}-worker", args["worker"], opts, invocation="async")
        notifier = Notifier(f"{name}-push", {}, opts=_sibling(opts)) if args.get("push") else None
        jobs = Component(name, {**given, "worker": worker, "push": notifier}, opts=opts)
        api_args: dict[str, Any] = {"routes": jobs.routes, "flavor": args.get("api_flavor", "rest")}
        if "api_throttle" in args:
            api_args["throttle"] = args["api_throttle"]
        api = Api(f"{name}-api", api_args, opts=_sibling(opts))
        jobs.api_url = api.url
        jobs.push_url = notifier.url if notifier else pulumi.Output.from_input(None)
        return jobs

    def __init__(self, name: str, args: AsyncJobWorkflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Never runs: ``__new__`` returns the Python component; this signature is the schema."""


class WebSocketNotifier(pulumi.ComponentResource):
    """A WebSocket API pushing job results: authorized $connect, a connection table with TTL."""

    url: pulumi.Output[str]
    """The WebSocket URL clients connect to."""
    connections_url: pulumi.Output[str]
    """The management endpoint your own code posts to connections through."""
    api_id: pulumi.Output[str]
    """The API's id."""
    connection_table_name: pulumi.Output[str]
    """The connection table."""

    def __new__(cls, name: str, args: WebSocketNotifierArgs, opts: pulumi.ResourceOptions | None = None) -> Any:
        _refuse_relative_code("WebSocketNotifier", name, args)
        Component = _python("WebSocketNotifier")

        given: dict[str, Any] = {k: v for k, v in args.items() if k != "authorizer"}
        if "authorizer" in args:
            given["authorizer"] = _function(f"{name}-authorizer", args["authorizer"], opts)
        return Component(name, given, opts=opts)

    def __init__(self, name: str, args: WebSocketNotifierArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """Never runs: ``__new__`` returns the Python component; this signature is the schema."""


COMPONENTS: list[type[pulumi.ComponentResource]] = [
    ResilientFunction,
    ThrottledApi,
    PriorityQueuePair,
    AsyncJobWorkflow,
    WebSocketNotifier,
]


def _version() -> str:
    from .. import __version__  # noqa: PLC0415

    return str(__version__)


def schema() -> dict[str, Any]:
    """The package schema Pulumi generates SDKs from, inferred here as ``pulumi package add`` does."""
    import json  # noqa: PLC0415

    from pulumi.provider.experimental.component import ComponentProvider  # noqa: PLC0415

    provider = ComponentProvider(COMPONENTS, PACKAGE, version=_version())
    return dict(json.loads(provider.schema or "{}"))


def main() -> None:
    """Serve the package to the Pulumi engine (PulumiPlugin.yaml's entry point calls this)."""
    from pulumi.provider.experimental import component_provider_host  # noqa: PLC0415

    component_provider_host(COMPONENTS, PACKAGE, version=_version())
