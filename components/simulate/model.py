"""The overload model of a stack, read from its captured graph: one ``RouteModel`` per front-door
route (its throttle, the function or queue behind it, the consumer that drains the queue, the
timeouts of every hop), plus the stated ``Assumptions`` the graph cannot know (the client, the
downstream's capacity, the work per message). ``naive`` is the same stack without its defenses.

Every AWS figure comes from ``aws_facts.QUOTAS`` (dated, with its source); every figure of the
stack from the graph. Nothing here is hand-entered per stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from ..aws_facts import quota, sfn_start_bucket

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph

__all__ = [
    "Assumptions",
    "ConsumerModel",
    "RouteModel",
    "StackModel",
    "StartsModel",
    "UsagePlanModel",
    "build_model",
    "naive",
]

FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
QUEUE = "aws:sqs/queue:Queue"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"
SUBMIT_HANDLER = "jobs.submit.lambda_handler"  # AsyncJobWorkflow's submit, wherever its package is installed
QUOTA_PERIOD_S = {"DAY": 86_400.0, "WEEK": 604_800.0, "MONTH": 2_592_000.0}  # a month as 30 days
# Lambda retries a failed asynchronous event after about a minute, then after two more.
ASYNC_RETRY_DELAY_S = 60.0


@dataclass(frozen=True)
class Assumptions:
    """What the graph cannot say, stated once (the same for the stack and its naive baseline).

    - ``client_deadline_s``: a caller gives up on a synchronous request after this. Default 5 s.
    - ``client_attempts`` / ``backoff_base_s`` / ``backoff_cap_s``: the AWS SDKs' standard retry
      mode (3 attempts, full jitter ``random(0, min(cap, base * 2**attempt))``, base 1 s, cap 20 s).
    - ``message_deadline_s``: queued work counts as goodput when finished within this of its
      enqueue (a queue's TTL, where set, is the deadline instead). Default 300 s.
    - ``message_ms``: work per queued message, as in the plan. Default 100 ms.
    - ``downstream_headroom``: each route's downstream (its table, the dependency behind it)
      serves this multiple of the route's planned capacity, then queues. Default 1.2.
    - ``cold_start_s``: the init time a new execution environment adds. Default 0.3 s (the cold
      import of Logger, Metrics and Tracer measured on this toolchain).
    """

    client_deadline_s: float = 5.0
    client_attempts: int = 3
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 20.0
    message_deadline_s: float = 300.0
    message_ms: float = 100.0
    downstream_headroom: float = 1.2
    cold_start_s: float = 0.3


@dataclass(frozen=True)
class ConsumerModel:
    """What drains a queue: an SQS event source mapping and its function, or Lambda's own
    event queue in front of an asynchronously invoked function (``kind="async"``: no poller
    ramp, one event a batch, retries as receives, events past their maximum age go to the
    on-failure destination)."""

    queue: str
    function: str
    max_concurrency: int
    batch_size: int
    timeout_s: float
    visibility_s: float
    max_receives: int | None  # redrive to the DLQ after this many receives; None: no DLQ
    defer_after_s: float | None  # high-priority consumers move older messages to the low queue
    ttl_s: float | None  # messages older than this are dropped (counted)
    memory_mb: int
    arch: str
    low: ConsumerModel | None = None
    kind: Literal["sqs", "async"] = "sqs"


@dataclass(frozen=True)
class StartsModel:
    """How a job submit route starts its executions. ``StartExecution`` is a token bucket per
    account and region (``rate`` per second, ``burst``), shared by every workflow of that type.
    ``buffered``: submits go to an SQS queue whose starter (``starter_concurrency`` instances)
    calls StartExecution, so a throttled start waits in that queue; otherwise the submit function
    calls it, and a throttled start fails the submit (the client sees an error and retries)."""

    workflow_type: str
    rate: float
    burst: float
    buffered: bool
    starter_concurrency: int = 0
    queue: str = ""  # the start queue (buffered)


@dataclass(frozen=True)
class UsagePlanModel:
    """A REST API's usage plan: one client's API key with its own bucket (``rate``, ``burst``)
    and an optional quota of ``quota`` requests per ``period_s``, both on top of the stage's and
    the route's throttles (API Gateway answers 429 for either)."""

    client: str
    rate: float
    burst: float
    quota: float | None = None
    period_s: float | None = None


@dataclass(frozen=True)
class RouteModel:
    key: str
    kind: Literal["sync", "queue", "async"]
    rate: float | None  # the route throttle (token bucket); None: only the account's
    burst: float | None
    integration_timeout_s: float
    capacity_rps: float  # the bottleneck's capacity: what the plan's capacity table states
    bottleneck: str
    function: str | None = None  # sync routes
    latency_ms: float = 0.0
    timeout_s: float = 0.0
    reserved: int | None = None
    provisioned: int = 0
    memory_mb: int = 128
    arch: str = "x86_64"
    consumer: ConsumerModel | None = None  # queue routes (None: drained elsewhere)
    auth: str = "none"  # as the plan describes it: "IAM (SigV4)", "JWT ...", "none"
    starts: StartsModel | None = None  # a job submit route: how its executions start


@dataclass(frozen=True)
class StackModel:
    stack: str
    region: str
    flavor: str
    routes: tuple[RouteModel, ...]
    assumptions: Assumptions
    name: str = "defended"
    # Every route's traffic is spread evenly over the API keys of these plans (the graph cannot
    # say which client sends what); none: no API keys.
    usage_plans: tuple[UsagePlanModel, ...] = ()


def _function_named(graph: Graph, physical: str | None = None, logical: str | None = None) -> CapturedResource | None:
    for fn in graph.of_type(FUNCTION):
        if (physical is not None and fn.outputs.get("name") == physical) or (
            logical is not None and fn.name == logical
        ):
            return fn
    return None


def _reserved(fn: CapturedResource | None) -> int | None:
    value = fn.inputs.get("reservedConcurrentExecutions") if fn else None
    return int(value) if value is not None and int(value) >= 0 else None


def _memory_arch(fn: CapturedResource | None) -> tuple[int, str]:
    if fn is None:
        return 128, "x86_64"
    return int(fn.inputs.get("memorySize") or 128), str((fn.inputs.get("architectures") or ["x86_64"])[0])


def _timeout_s(fn: CapturedResource | None) -> float:
    """The function's timeout; AWS's default where it sets none (or where the graph has no function)."""
    timeout = fn.inputs.get("timeout") if fn else None
    return float(timeout or quota("lambda_default_timeout_s"))


def _env(fn: CapturedResource | None, key: str) -> float | None:
    value = ((fn.inputs.get("environment") or {}).get("variables") or {}).get(key) if fn else None
    return float(value) if value not in (None, "") else None


def _mapping_from(graph: Graph, queue: CapturedResource) -> CapturedResource | None:
    arn = queue.outputs.get("arn")
    return next((m for m in graph.of_type(MAPPING) if arn and m.inputs.get("eventSourceArn") == arn), None)


def _consumer(graph: Graph, queue: CapturedResource, a: Assumptions) -> ConsumerModel | None:
    mapping = _mapping_from(graph, queue)
    if mapping is None:
        return None
    fn = _function_named(graph, physical=mapping.inputs.get("functionName"))
    if fn is None:  # an alias name: the function is the part before the qualifier
        fn = _function_named(graph, physical=str(mapping.inputs.get("functionName")).split(":")[0])
    scaling = mapping.inputs.get("scalingConfig") or {}
    redrive = queue.inputs.get("redrivePolicy")
    max_receives = int(json.loads(redrive)["maxReceiveCount"]) if redrive else None
    memory, arch = _memory_arch(fn)
    low_url = (
        ((fn.inputs.get("environment") or {}).get("variables") or {}).get("RESILIENT_LOW_QUEUE_URL") if fn else None
    )
    low = None
    if low_url:
        low_queue = next((q for q in graph.of_type(QUEUE) if str(low_url).endswith(f"/{q.inputs.get('name')}")), None)
        low = _consumer(graph, low_queue, a) if low_queue is not None else None
    return ConsumerModel(
        queue=queue.name,
        function=str(mapping.inputs.get("functionName")),
        max_concurrency=int(scaling.get("maximumConcurrency") or quota("sqs_mapping_max_concurrency")),
        batch_size=int(mapping.inputs.get("batchSize") or 10),
        timeout_s=_timeout_s(fn),
        visibility_s=float(queue.inputs.get("visibilityTimeoutSeconds") or quota("sqs_default_visibility_timeout_s")),
        max_receives=max_receives,
        defer_after_s=_env(fn, "RESILIENT_DEFER_AFTER_S"),
        ttl_s=_env(fn, "RESILIENT_TTL_S"),
        memory_mb=memory,
        arch=arch,
        low=low,
    )


def _front(route: dict[str, Any]) -> dict[str, Any]:
    """What every route kind reads from the plan's route row: its key, throttle, integration
    timeout and authorization."""
    rate = float(route["rate"])
    return {
        "key": str(route["route"]),
        "rate": rate,
        "burst": float(route.get("burst") or rate),
        "integration_timeout_s": float(route["integration_timeout_ms"]) / 1000,
        "auth": str(route.get("auth", "none")),
    }


def _starts(graph: Graph, fn: CapturedResource | None, region: str) -> StartsModel | None:
    """How the function behind a job submit route starts executions: from its environment (the
    state machine it starts, the start queue it writes to, if any). The other job routes' functions
    read the same state machine but start nothing."""
    if fn is None or not str(fn.inputs.get("handler", "")).endswith(SUBMIT_HANDLER):
        return None
    variables = (fn.inputs.get("environment") or {}).get("variables") or {}
    arn = variables.get("STATE_MACHINE_ARN")
    machine = next((m for m in graph.of_type(STATE_MACHINE) if arn and m.outputs.get("arn") == arn), None)
    if machine is None:
        return None
    workflow_type = str(machine.inputs.get("type") or "STANDARD").upper()
    rate, burst = sfn_start_bucket(workflow_type, region)
    queue_url = str(variables.get("START_QUEUE_URL") or "")
    if not queue_url:
        return StartsModel(workflow_type, rate, burst, buffered=False)
    queue = next((q for q in graph.of_type(QUEUE) if queue_url.endswith(f"/{q.inputs.get('name')}")), None)
    mapping = _mapping_from(graph, queue) if queue is not None else None
    scaling = (mapping.inputs.get("scalingConfig") or {}) if mapping is not None else {}
    concurrency = int(scaling.get("maximumConcurrency") or quota("sqs_mapping_max_concurrency"))
    return StartsModel(
        workflow_type,
        rate,
        burst,
        buffered=True,
        starter_concurrency=concurrency,
        queue=queue.name if queue is not None else "start queue",
    )


def _usage_plans(graph: Graph) -> tuple[UsagePlanModel, ...]:
    plans = []
    for plan in graph.of_type(USAGE_PLAN):
        throttle = plan.inputs.get("throttleSettings") or {}
        quota_settings = plan.inputs.get("quotaSettings") or {}
        rate = float(throttle.get("rateLimit") or quota("apigateway_account_rps"))
        plans.append(
            UsagePlanModel(
                client=plan.name.removeprefix("plan-").rsplit("plan-", 1)[-1],
                rate=rate,
                burst=float(throttle.get("burstLimit") or rate),
                quota=float(quota_settings["limit"]) if quota_settings.get("limit") else None,
                period_s=QUOTA_PERIOD_S.get(str(quota_settings.get("period")).upper()) if quota_settings else None,
            )
        )
    return tuple(plans)


def _sync_route(graph: Graph, route: dict[str, Any], a: Assumptions, region: str) -> RouteModel:
    front = _front(route)
    rate, latency = front["rate"], float(route["expected_latency_ms"])
    name = str(route["target"]).split(" ")[1]
    fn = _function_named(graph, logical=f"{name}-function")
    physical = fn.outputs.get("name") if fn else None
    reserved = _reserved(fn)
    provisioned = sum(
        int(p.inputs.get("provisionedConcurrentExecutions") or 0)
        for p in graph.of_type(PROVISIONED)
        if physical and p.inputs.get("functionName") == physical
    )
    limits = [(rate, f"route throttle {rate:g} rps")]
    if reserved is not None:
        limits.append((reserved * 1000 / latency, f"reserved concurrency {reserved}"))
    capacity, bottleneck = min(limits)
    memory, arch = _memory_arch(fn)
    return RouteModel(
        **front,
        kind="sync",
        capacity_rps=capacity,
        bottleneck=bottleneck,
        function=str(physical or name),
        latency_ms=latency,
        timeout_s=float(route.get("function_timeout_s") or (fn.inputs.get("timeout") if fn else 3) or 3),
        reserved=reserved,
        provisioned=provisioned,
        memory_mb=memory,
        arch=arch,
        starts=_starts(graph, fn, region),
    )


def _queue_route(graph: Graph, route: dict[str, Any], a: Assumptions) -> RouteModel:
    front = _front(route)
    rate = front["rate"]
    queue_name = str(route["target"]).split(" ", 1)[1].removesuffix(" (FIFO)")
    queue = next((q for q in graph.of_type(QUEUE) if q.name == queue_name), None)
    consumer = _consumer(graph, queue, a) if queue is not None else None
    capacity, bottleneck = rate, f"route throttle {rate:g} rps"
    if consumer is not None:
        drain = consumer.max_concurrency * 1000 / a.message_ms
        if drain < rate:
            capacity, bottleneck = drain, f"mapping max concurrency {consumer.max_concurrency}"
    return RouteModel(**front, kind="queue", capacity_rps=capacity, bottleneck=bottleneck, consumer=consumer)


def _async_route(graph: Graph, route: dict[str, Any], a: Assumptions) -> RouteModel:
    """An asynchronous function route: 202 at the edge, then Lambda's event queue drained by the
    function's concurrency; its invoke config bounds retries and event age."""
    front = _front(route)
    rate = front["rate"]
    name = str(route["target"]).split(" ")[1]
    fn = _function_named(graph, logical=f"{name}-function")
    physical = fn.outputs.get("name") if fn else name
    config = next((c for c in graph.of_type(INVOKE_CONFIG) if c.inputs.get("functionName") == physical), None)
    inputs = config.inputs if config is not None else {}
    retries = inputs.get("maximumRetryAttempts")
    age = inputs.get("maximumEventAgeInSeconds")
    reserved = _reserved(fn)
    concurrency = reserved if reserved is not None else int(quota("lambda_account_concurrency"))
    memory, arch = _memory_arch(fn)
    consumer = ConsumerModel(
        queue=f"{name} (async events)",
        function=str(physical),
        max_concurrency=concurrency,
        batch_size=1,
        timeout_s=_timeout_s(fn),
        visibility_s=ASYNC_RETRY_DELAY_S,
        max_receives=1 + int(retries if retries is not None else quota("lambda_async_default_retries")),
        defer_after_s=None,
        ttl_s=float(age if age is not None else quota("lambda_async_default_max_event_age_s")),
        memory_mb=memory,
        arch=arch,
        kind="async",
    )
    drain = concurrency * 1000 / a.message_ms
    capacity, bottleneck = (rate, f"route throttle {rate:g} rps")
    if drain < rate:
        capacity, bottleneck = drain, f"{'reserved' if reserved is not None else 'account'} concurrency {concurrency}"
    return RouteModel(
        **front,
        kind="async",
        capacity_rps=capacity,
        bottleneck=bottleneck,
        function=str(physical),
        timeout_s=consumer.timeout_s,
        reserved=reserved,
        memory_mb=memory,
        arch=arch,
        consumer=consumer,
    )


def build_model(graph: Graph, assumptions: Assumptions | None = None, region: str = "us-east-1") -> StackModel:
    """One route model per route of every ThrottledApi in the graph: synchronous and
    asynchronous function routes and queue routes."""
    a = assumptions or Assumptions()
    routes: list[RouteModel] = []
    flavor = "rest"
    for api in graph.of_type("ThrottledApi"):
        outputs = graph.outputs_of(api)
        flavor = str(outputs.get("flavor", flavor))
        for route in outputs.get("routes", []):
            if "expected_latency_ms" in route:
                routes.append(_sync_route(graph, route, a, region))
            elif str(route["target"]).startswith("queue "):
                routes.append(_queue_route(graph, route, a))
            elif str(route["target"]).endswith(" (async)"):
                routes.append(_async_route(graph, route, a))
    return StackModel(graph.stack, region, flavor, tuple(routes), a, usage_plans=_usage_plans(graph))


def _naive_consumer(c: ConsumerModel | None) -> ConsumerModel | None:
    if c is None:
        return None
    timeout = quota("lambda_max_timeout_s")
    if c.kind == "async":  # no reservation, AWS's default retries and event age
        return replace(
            c,
            max_concurrency=int(quota("lambda_account_concurrency")),
            timeout_s=timeout,
            max_receives=1 + int(quota("lambda_async_default_retries")),
            ttl_s=quota("lambda_async_default_max_event_age_s"),
        )
    return replace(
        c,
        max_concurrency=int(quota("sqs_mapping_max_concurrency")),
        timeout_s=timeout,
        visibility_s=timeout,  # AWS refuses a mapping whose function outlives the visibility timeout
        max_receives=None,
        defer_after_s=None,
        ttl_s=None,
        low=None,
    )


def naive(model: StackModel) -> StackModel:
    """The same routes without their defenses: no route throttles or usage plans (the account's
    only), no reserved or provisioned concurrency, no deferral or TTL, no redrive, every timeout
    at its maximum, executions started by the submit itself (no start queue). The downstream,
    the clients and the account's quotas are the same."""
    routes = tuple(
        replace(
            r,
            rate=None,
            burst=None,
            integration_timeout_s=quota("apigateway_rest_max_integration_timeout_ms") / 1000,
            timeout_s=quota("lambda_max_timeout_s") if r.kind != "queue" else r.timeout_s,
            reserved=None,
            provisioned=0,
            consumer=_naive_consumer(r.consumer),
            starts=replace(r.starts, buffered=False, starter_concurrency=0, queue="") if r.starts else None,
        )
        for r in model.routes
    )
    return replace(model, routes=routes, name="naive", usage_plans=())
