"""Resilience rules: one function per rule, run by the offline plan over a captured graph.

A rule is ``fn(resource, graph) -> iterable of messages`` registered with ``@rule``. It sees one
resource of the types it names and may look at the rest of the graph (a function's log group, a
queue's consumers). The same functions can back a Pulumi policy pack: a stack validation policy
turns its resources into ``CapturedResource`` values and calls ``check``.

A stack can waive a rule with a stated reason (``waive``); waived findings stay visible in the
plan, apart from the others, and do not fail it.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from . import aws_facts
from .asl import LOG_DELIVERY_ACTIONS

if TYPE_CHECKING:
    from .testing.capture import CapturedResource, Graph

__all__ = ["RULES", "Finding", "Rule", "check", "clear_waivers", "rule", "waive", "waivers"]

Severity = Literal["error", "warning"]  # pragma: no mutate (a type: no behaviour to mutate)
RuleFn = Callable[["CapturedResource", "Graph"], Iterable[str]]  # pragma: no mutate (a type)

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
QUEUE = "aws:sqs/queue:Queue"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
REQUIRED_TAGS = ("environment", "component", "managed-by")
# What AWS applies when a program sets nothing (aws_facts.QUOTAS, with their sources).
LAMBDA_DEFAULT_TIMEOUT_S = int(aws_facts.quota("lambda_default_timeout_s"))
SQS_DEFAULT_VISIBILITY_S = int(aws_facts.quota("sqs_default_visibility_timeout_s"))
SQS_DEFAULT_RETENTION_S = int(aws_facts.quota("sqs_default_retention_s"))
# Actions AWS offers no resource-level permission for: "*" is the narrowest resource there is.
NO_RESOURCE_LEVEL = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricData",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "s3:ListAllMyBuckets",  # the Synthetics canary role needs it (issue 13)
        # Step Functions logging: AWS grants the vended log delivery actions on "*" only.
        *LOG_DELIVERY_ACTIONS,
    }
)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    types: tuple[str, ...]  # empty: every resource
    description: str
    fn: RuleFn
    # Whether the rule looks past its one resource (a policy pack runs such a rule as a stack
    # policy). None: inferred from whether ``fn`` reads its ``graph`` argument
    # (``components.policy.uses_graph``). Default: None.
    needs_graph: bool | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    urn: str
    type: str
    name: str
    message: str
    waived: str | None = None  # the reason, when the stack waived the rule

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RULES: dict[str, Rule] = {}
_WAIVERS: dict[str, str] = {}


def rule(
    rule_id: str,
    severity: Severity,
    types: tuple[str, ...],
    description: str,
    *,
    needs_graph: bool | None = None,
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule. ``types`` are Pulumi type tokens; an empty tuple means every resource.

    ``needs_graph``: see ``Rule.needs_graph``; set it only where inference from the code is wrong.
    Default: None (inferred)."""

    def register(fn: RuleFn) -> RuleFn:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id!r} is registered twice")
        RULES[rule_id] = Rule(rule_id, severity, types, description, fn, needs_graph)
        return fn

    return register


def waive(rule_id: str, reason: str) -> None:
    """Waive ``rule_id`` for the stack being run; the reason is shown in the plan."""
    if rule_id not in RULES:
        raise KeyError(f"unknown rule {rule_id!r}; known rules: {', '.join(sorted(RULES))}")
    if not reason.strip():
        raise ValueError(f"waiving {rule_id!r} needs a reason")
    _WAIVERS[rule_id] = reason.strip()


def waivers() -> dict[str, str]:
    return dict(_WAIVERS)


def clear_waivers() -> None:
    _WAIVERS.clear()


def check(graph: Graph, waived: dict[str, str] | None = None) -> list[Finding]:
    """Every finding of every rule over ``graph``: by resource URN, then rule registration order,
    then the rule's own order. Graph order is the order in which registrations completed, which
    varies from run to run; the plan and its tests need the same list every time."""
    waived = waivers() if waived is None else waived
    findings: list[Finding] = []
    for resource in sorted(graph, key=lambda r: r.urn):
        for r in RULES.values():
            if r.types and resource.type not in r.types:
                continue
            for message in r.fn(resource, graph):
                findings.append(
                    Finding(r.id, r.severity, resource.urn, resource.type, resource.name, message, waived.get(r.id))
                )
    return findings


# --- helpers --------------------------------------------------------------------------------------
def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    statements = (document or {}).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


@functools.cache  # pragma: no mutate (a cache: the same answers without it, only slower)
def _is_taggable(type_token: str) -> bool:
    match = re.fullmatch(r"aws:([^/:]+)/[^:]+:(\w+)", type_token)
    if not match:
        return False
    module, cls_name = match.groups()
    for name in (f"pulumi_aws.{module}", f"pulumi_aws.{module}_"):
        try:
            cls = getattr(importlib.import_module(name), cls_name, None)
        except ImportError:
            continue
        if cls is not None:
            from .base import is_taggable  # noqa: PLC0415 (pulumi_aws loads only for this rule)

            return is_taggable(cls)
    return False


# --- functions ------------------------------------------------------------------------------------
@rule(
    "lambda-explicit-timeout",
    "error",
    (FUNCTION,),
    "Every function sets its timeout (the 3 s AWS default is never a decision)",
)
def lambda_explicit_timeout(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    if "timeout" not in fn.inputs:
        yield "no timeout set: work is bounded only by the 3 s AWS default"


def mapping_concurrency_bound(mapping: CapturedResource) -> float | None:
    """What bounds the concurrent invocations of an SQS mapping: its maximum concurrency, or in
    provisioned mode its maximum pollers (each about ten invocations in flight; AWS refuses both
    on one mapping). None when nothing does."""
    maximum = (mapping.inputs.get("scalingConfig") or {}).get("maximumConcurrency")
    if maximum:
        return float(maximum)
    pollers = (mapping.inputs.get("provisionedPollerConfig") or {}).get("maximumPollers")
    return float(pollers) * 10 if pollers else None


@rule(
    "lambda-bounded-concurrency",
    "error",
    (FUNCTION,),
    "Every function has reserved concurrency, or is fed by a queue mapping with maximum concurrency or pollers",
)
def lambda_bounded_concurrency(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    reserved = fn.inputs.get("reservedConcurrentExecutions", -1)
    if reserved == 0:
        yield "reserved concurrency 0: the function is disabled (every invocation is throttled)"
        return
    if reserved > 0:
        return
    name = fn.outputs.get("name", fn.name)
    mappings = [
        m
        for m in graph.of_type(MAPPING)
        if str(m.inputs.get("functionName", "")).startswith((name, fn.outputs.get("arn", name)))
    ]
    if not mappings:
        yield "unreserved concurrency and no queue mapping bounds it: excess work is not shed"
    for m in mappings:
        if mapping_concurrency_bound(m) is None:
            yield f"unreserved and its mapping {m.name} sets no maximum concurrency (nor maximum pollers)"


@rule("lambda-tracing-active", "warning", (FUNCTION,), "X-Ray active tracing is on")
def lambda_tracing_active(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    if (fn.inputs.get("tracingConfig") or {}).get("mode") != "Active":
        yield "tracing is not Active: no X-Ray trace for this function"


@rule(
    "lambda-json-logs-with-retention",
    "error",
    (FUNCTION,),
    "Logs are JSON and go to a log group of this stack that has a retention",
)
def lambda_json_logs(fn: CapturedResource, graph: Graph) -> Iterator[str]:
    logging = fn.inputs.get("loggingConfig") or {}
    if logging.get("logFormat") != "JSON":
        yield "log format is not JSON: logs cannot be queried by field"
    group_name = logging.get("logGroup") or f"/aws/lambda/{fn.outputs.get('name', fn.name)}"
    groups = [g for g in graph.of_type(LOG_GROUP) if g.outputs.get("name") == group_name]
    if not groups:
        yield f"log group {group_name} is not managed by this stack: Lambda creates it with no retention"


@rule("log-group-retention", "error", (LOG_GROUP,), "Every log group has a retention period")
def log_group_retention(group: CapturedResource, graph: Graph) -> Iterator[str]:
    if not group.inputs.get("retentionInDays"):
        yield "no retention: logs are kept (and billed) forever"


@rule(
    "async-invoke-bounded",
    "error",
    (INVOKE_CONFIG,),
    "Async invocations have bounded retries and event age and an on-failure destination",
)
def async_invoke_bounded(config: CapturedResource, graph: Graph) -> Iterator[str]:
    retries = config.inputs.get("maximumRetryAttempts")
    age = config.inputs.get("maximumEventAgeInSeconds")
    if retries is None:
        yield "maximumRetryAttempts not set: AWS retries twice by default"
    if age is None:
        yield "maximumEventAgeInSeconds not set: events may wait 6 h (a silent backlog)"
    if not ((config.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination"):
        yield "no on-failure destination: failed events are lost"


@rule(
    "provisioned-within-reserved",
    "error",
    (PROVISIONED,),
    "Provisioned concurrency does not exceed the function's reserved concurrency",
)
def provisioned_within_reserved(config: CapturedResource, graph: Graph) -> Iterator[str]:
    wanted = config.inputs.get("provisionedConcurrentExecutions", 0)
    for fn in graph.of_type(FUNCTION):
        if fn.outputs.get("name") == config.inputs.get("functionName"):
            reserved = fn.inputs.get("reservedConcurrentExecutions", -1)
            if 0 <= reserved < wanted:
                yield f"provisioned {wanted} exceeds reserved concurrency {reserved}"


# --- IAM ------------------------------------------------------------------------------------------
ROLE = "aws:iam/role:Role"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
# Resource-based policies: each holds its document in ``policy`` (a Lambda permission is checked
# on its principal and source instead).
RESOURCE_POLICY_TYPES = (
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:apigateway/restApiPolicy:RestApiPolicy",
    "aws:lambda/permission:Permission",
)
# AWS-managed policies are documents the plan cannot see, mostly with '*' resources: each one
# attached is a finding, except these, which AWS scopes to one service's own needs.
MANAGED_POLICIES_ALLOWED = frozenset({"service-role/AmazonAPIGatewayPushToCloudWatchLogs"})
_ARN_PREFIX = re.compile(r"^[A-Za-z0-9-]+[:/]")


def _wildcard_resource(resource: str) -> bool:
    """An ARN whose region, account or resource (after its type, e.g. ``table/``) is a
    wildcard: ``arn:aws:sqs:*:*:*``, ``arn:aws:dynamodb:r:1:table/*``. A wildcard after a named
    resource (``log-group:/aws/lambda/f:*``, ``bucket/prefix/*``) stays scoped to it."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    if any("*" in part for part in parts[1:5]):
        return True
    # S3 resources have no type prefix: in ``bucket/*`` the bucket is the named resource.
    name = parts[5] if parts[2] == "s3" else _ARN_PREFIX.sub("", parts[5])
    return name.startswith("*")


def _wildcard_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))


def _resource_findings(actions: list[str], resources: list[str]) -> Iterator[str]:
    if "*" in resources:
        scoped = sorted(a for a in actions if a not in NO_RESOURCE_LEVEL)
        if scoped:
            yield f"resource '*' for actions that can be scoped: {', '.join(scoped)}"
    for resource in resources:
        if resource != "*" and _wildcard_resource(resource):
            yield f"wildcard resource {resource!r}"


def _statement_findings(statement: dict[str, Any]) -> Iterator[str]:
    if statement.get("Effect") != "Allow":
        return
    for negation in ("NotAction", "NotResource", "NotPrincipal"):
        if negation in statement:
            yield f"Allow with {negation}: it grants everything not listed"
    actions = [str(a) for a in _as_list(statement.get("Action"))]
    for action in actions:
        if "*" in action or "?" in action:
            yield f"wildcard action {action!r}"
    yield from _resource_findings(actions, [str(r) for r in _as_list(statement.get("Resource"))])
    if _wildcard_principal(statement.get("Principal")) and not statement.get("Condition"):
        yield "principal '*' with no condition: anyone may use it"


def _managed_policy_findings(arn: Any) -> Iterator[str]:
    match = re.fullmatch(r"arn:[^:]+:iam::aws:policy/(.+)", str(arn or ""))
    if match and match.group(1) not in MANAGED_POLICIES_ALLOWED:
        yield f"AWS-managed policy {match.group(1)} attached: its actions and resources are not least privilege"


@rule(
    "iam-no-wildcards",
    "error",
    (*POLICY_TYPES, ROLE, *ATTACHMENT_TYPES, *RESOURCE_POLICY_TYPES, FUNCTION_URL),
    "No wildcard action, resource or principal, no NotAction, no broad managed policy, no open Function URL",
)
def iam_no_wildcards(resource: CapturedResource, graph: Graph) -> Iterator[str]:
    inputs = resource.inputs
    if resource.type == FUNCTION_URL:
        if inputs.get("authorizationType") == "NONE":
            yield "function URL with authorization NONE: anyone on the internet may invoke it"
        return
    if resource.type == "aws:lambda/permission:Permission":
        if inputs.get("principal") == "*" and not inputs.get("sourceArn"):
            yield "permission for principal '*' with no source ARN: anyone may invoke the function"
        return
    if resource.type in ATTACHMENT_TYPES:
        yield from _managed_policy_findings(inputs.get("policyArn"))
        return
    documents: list[Any]
    if resource.type == ROLE:
        documents = [inputs.get("assumeRolePolicy")]
        documents += [p.get("policy") for p in inputs.get("inlinePolicies") or [] if isinstance(p, dict)]
        for arn in inputs.get("managedPolicyArns") or []:
            yield from _managed_policy_findings(arn)
    else:
        documents = [inputs.get("policy")]
    for document in documents:
        for statement in _statements(document):
            yield from _statement_findings(statement)


# --- queues ---------------------------------------------------------------------------------------
# Where a queue is named as a dead-letter target, by the type that names it.
DLQ_FIELDS = {
    QUEUE: ("redrivePolicy",),
    INVOKE_CONFIG: ("destinationConfig",),
    FUNCTION: ("deadLetterConfig",),
    MAPPING: ("destinationConfig",),
    "aws:sns/topicSubscription:TopicSubscription": ("redrivePolicy",),
    "aws:cloudwatch/eventTarget:EventTarget": ("deadLetterConfig",),
}


def is_dead_letter_target(queue: CapturedResource, graph: Graph) -> bool:
    arn = queue.outputs.get("arn")
    if not arn:
        return False
    for r in graph:
        if r.urn == queue.urn or r.type not in DLQ_FIELDS:
            continue
        if any(arn in json.dumps(r.inputs.get(f), default=str) for f in DLQ_FIELDS[r.type] if r.inputs.get(f)):
            return True
    return False


@rule("sqs-dead-letter", "error", (QUEUE,), "Every queue has a DLQ, or is itself a dead-letter target")
def sqs_dead_letter(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    if not queue.inputs.get("redrivePolicy") and not is_dead_letter_target(queue, graph):
        yield "no redrive policy and not a DLQ: a poison message is retried until retention drops it"


@rule("sqs-encrypted", "warning", (QUEUE,), "Queues are encrypted at rest")
def sqs_encrypted(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    if not (queue.inputs.get("sqsManagedSseEnabled") or queue.inputs.get("kmsMasterKeyId")):
        yield "no server-side encryption"


# --- operations -----------------------------------------------------------------------------------
@rule("alarm-has-actions", "warning", (ALARM,), "Alarms notify someone")
def alarm_has_actions(alarm: CapturedResource, graph: Graph) -> Iterator[str]:
    if not alarm.inputs.get("alarmActions") and not _named_by_a_notifying_composite(alarm, graph):
        yield "no alarm action: the alarm fires unseen"


@rule("tags-required", "warning", (), "Taggable resources carry environment, component, managed-by")
def tags_required(resource: CapturedResource, graph: Graph) -> Iterator[str]:
    if not resource.custom or not _is_taggable(resource.type):
        return
    missing = [t for t in REQUIRED_TAGS if t not in (resource.inputs.get("tags") or {})]
    if missing:
        yield f"missing tags: {', '.join(missing)}"


# --- API Gateway ----------------------------------------------------------------------------------
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
REST_INTEGRATION = "aws:apigateway/integration:Integration"
HTTP_INTEGRATION = "aws:apigatewayv2/integration:Integration"
PERMISSION = "aws:lambda/permission:Permission"
THROTTLED_API = "resilient-serverless:index:ThrottledApi"


def _throttled(settings: dict[str, Any] | None, rate_key: str, burst_key: str) -> bool:
    settings = settings or {}
    return (settings.get(rate_key) or 0) > 0 and (settings.get(burst_key) or 0) > 0


@rule(
    "api-stage-throttled",
    "error",
    (REST_STAGE, HTTP_STAGE, METHOD_SETTINGS),
    "Every API stage and route has a non-zero throttle (rate and burst)",
)
def api_stage_throttled(resource: CapturedResource, graph: Graph) -> Iterator[str]:
    if resource.type == METHOD_SETTINGS:
        if not _throttled(resource.inputs.get("settings"), "throttlingRateLimit", "throttlingBurstLimit"):
            yield f"method settings {resource.inputs.get('methodPath')} lack a non-zero rate and burst"
        return
    if resource.type == REST_STAGE:
        api, stage = resource.inputs.get("restApi"), resource.inputs.get("stageName")
        stage_wide = [
            m
            for m in graph.of_type(METHOD_SETTINGS)
            if m.inputs.get("restApi") == api
            and m.inputs.get("stageName") == stage
            and m.inputs.get("methodPath") == "*/*"
        ]
        if not any(
            _throttled(m.inputs.get("settings"), "throttlingRateLimit", "throttlingBurstLimit") for m in stage_wide
        ):
            yield f"stage {stage} has no '*/*' method settings with a throttle: only the account limit applies"
        return
    if not _throttled(resource.inputs.get("defaultRouteSettings"), "throttlingRateLimit", "throttlingBurstLimit"):
        yield "default route settings lack a rate and burst: AWS throttles such a stage to 0"
    for setting in resource.inputs.get("routeSettings") or []:
        if not _throttled(setting, "throttlingRateLimit", "throttlingBurstLimit"):
            yield f"route {setting.get('routeKey')} omits a throttle value: AWS throttles it to 0"


@rule("api-access-logs", "error", (REST_STAGE, HTTP_STAGE), "Every API stage writes access logs")
def api_access_logs(stage: CapturedResource, graph: Graph) -> Iterator[str]:
    settings = stage.inputs.get("accessLogSettings") or {}
    if not (settings.get("destinationArn") and settings.get("format")):
        yield "no access log settings: rejected and failed requests leave no trace"


def _function_behind(uri: str, graph: Graph) -> CapturedResource | None:
    for fn in graph.of_type(FUNCTION):
        arn = fn.outputs.get("arn")
        if arn and (f"{arn}/" in uri or f"{arn}:" in uri or uri == arn):
            return fn
    return None


@rule(
    "api-timeout-chain",
    "error",
    (REST_INTEGRATION, HTTP_INTEGRATION),
    "A synchronous Lambda integration outlasts its function and stays within the gateway's limit",
)
def api_timeout_chain(integration: CapturedResource, graph: Graph) -> Iterator[str]:
    rest = integration.type == REST_INTEGRATION
    kind = integration.inputs.get("type" if rest else "integrationType")
    if kind != "AWS_PROXY" or integration.inputs.get("integrationSubtype"):
        return
    ceiling = 29_000 if rest else 30_000
    timeout = integration.inputs.get("timeoutMilliseconds", ceiling)
    if timeout > ceiling:
        yield f"integration timeout {timeout} ms is above the {'REST' if rest else 'HTTP'} limit of {ceiling} ms"
    fn = _function_behind(str(integration.inputs.get("uri" if rest else "integrationUri", "")), graph)
    if fn is not None and fn.inputs.get("timeout", LAMBDA_DEFAULT_TIMEOUT_S) * 1000 >= timeout:
        yield (
            f"function {fn.name} may run {fn.inputs.get('timeout', 3)} s, not less than the {timeout} ms "
            "integration timeout: the gateway gives up while the function still works"
        )


@rule(
    "lambda-permission-scoped",
    "error",
    (PERMISSION,),
    "API Gateway may invoke a function only from one API, stage, method and path",
)
def lambda_permission_scoped(permission: CapturedResource, graph: Graph) -> Iterator[str]:
    if permission.inputs.get("principal") != "apigateway.amazonaws.com":
        return
    source = str(permission.inputs.get("sourceArn") or "")
    parts = source.split(":", 5)[5].split("/") if source.count(":") >= 5 else []
    if (len(parts) < 4 or parts[0] in ("", "*")) and not _is_websocket_route_arn(parts, graph):
        yield f"source ARN {source or '(none)'} does not name one API, stage, method and path"


@rule(
    "api-capacity",
    "warning",
    (THROTTLED_API,),
    "A route admits no more than its function can serve (Little's law: rate x latency)",
)
def api_capacity(api: CapturedResource, graph: Graph) -> Iterator[str]:
    for route in graph.outputs_of(api).get("routes", []):
        limit, needed = route.get("concurrency_limit"), route.get("concurrency_needed")
        if limit is not None and needed is not None and needed > limit:
            yield (
                f"{route['route']}: {route['rate']} rps x {route['expected_latency_ms']} ms needs "
                f"{needed} concurrent executions, the function reserves {limit}: excess is throttled by Lambda, "
                "not shed at the edge"
            )


# --- queues and their consumers -------------------------------------------------------------------
def _queue_by_arn(graph: Graph, arn: str) -> CapturedResource | None:
    return next((q for q in graph.of_type(QUEUE) if q.outputs.get("arn") == arn), None)


def _function_by_name(graph: Graph, name: str) -> CapturedResource | None:
    return next((f for f in graph.of_type(FUNCTION) if f.outputs.get("name") == name), None)


@rule(
    "sqs-visibility-covers-consumer",
    "error",
    (MAPPING,),
    "A queue's visibility timeout is at least 6x its consumer's timeout plus the batching window",
)
def sqs_visibility_covers_consumer(mapping: CapturedResource, graph: Graph) -> Iterator[str]:
    queue = _queue_by_arn(graph, str(mapping.inputs.get("eventSourceArn", "")))
    fn = _function_by_name(graph, str(mapping.inputs.get("functionName", "")))
    if queue is None or fn is None:
        return
    timeout = fn.inputs.get("timeout", LAMBDA_DEFAULT_TIMEOUT_S)
    needed = 6 * timeout + mapping.inputs.get("maximumBatchingWindowInSeconds", 0)
    visibility = queue.inputs.get("visibilityTimeoutSeconds", SQS_DEFAULT_VISIBILITY_S)
    if visibility < needed:
        yield (
            f"queue {queue.name} hides a received batch for {visibility} s, below the {needed} s its consumer "
            f"{fn.name} may need (6 x {timeout} s + window): work is delivered twice"
        )


@rule(
    "sqs-mapping-isolated",
    "error",
    (MAPPING,),
    "An SQS consumer reports partial batch failures and has its own maximum concurrency (or pollers)",
)
def sqs_mapping_isolated(mapping: CapturedResource, graph: Graph) -> Iterator[str]:
    if ":sqs:" not in str(mapping.inputs.get("eventSourceArn", "")):
        return
    if "ReportBatchItemFailures" not in (mapping.inputs.get("functionResponseTypes") or []):
        yield "no ReportBatchItemFailures: one bad message makes the whole batch retry"
    if mapping_concurrency_bound(mapping) is None:
        yield "no maximum concurrency (nor maximum pollers): a flood on this queue can take every execution environment"


@rule("sqs-dlq-outlives-source", "error", (QUEUE,), "A dead-letter queue keeps messages longer than its source")
def sqs_dlq_outlives_source(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    redrive = queue.inputs.get("redrivePolicy")
    # A deployed queue without one reports "" (what a policy pack's stack policy sees).
    target = json.loads(redrive).get("deadLetterTargetArn") if isinstance(redrive, str) and redrive else None
    dlq = _queue_by_arn(graph, target) if target else None
    if dlq is None:
        return
    source_keeps = queue.inputs.get("messageRetentionSeconds", SQS_DEFAULT_RETENTION_S)
    dlq_keeps = dlq.inputs.get("messageRetentionSeconds", SQS_DEFAULT_RETENTION_S)
    if dlq_keeps <= source_keeps:
        yield (
            f"its DLQ {dlq.name} keeps messages {dlq_keeps} s, not longer than this queue's {source_keeps} s: "
            "a redriven message can expire before anyone looks"
        )
    if bool(dlq.inputs.get("fifoQueue")) != bool(queue.inputs.get("fifoQueue")):
        yield f"its DLQ {dlq.name} is not of the same type (standard or FIFO)"


# --- WebSocketNotifier (issue 12) -----------------------------------------------------------------
WS_API = "aws:apigatewayv2/api:Api"
WS_ROUTE = "aws:apigatewayv2/route:Route"
WS_ACCOUNT_CONNECT_QUOTA = int(aws_facts.quota("websocket_new_connections_per_s"))
# A Step Functions task token belongs to no resource ARN: SendTask* cannot be scoped below "*".
NO_RESOURCE_LEVEL = NO_RESOURCE_LEVEL | {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
MANAGE_CONNECTIONS_ARN = re.compile(
    r"^arn:[^:]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+/[A-Za-z0-9_-]+/(POST|GET|DELETE)/@connections/\*?$"
)


def _websocket_api_ids(graph: Graph) -> set[str]:
    return {str(a.outputs.get("id")) for a in graph.of_type(WS_API) if a.inputs.get("protocolType") == "WEBSOCKET"}


def _is_websocket_route_arn(parts: list[str], graph: Graph) -> bool:
    """``<api>/<stage>/<route key>``: how a WebSocket API names one route (it has no method or path)."""
    return len(parts) == 3 and parts[0] in _websocket_api_ids(graph) and "*" not in parts[1:] and all(parts)


@rule(
    "websocket-throttled",
    "error",
    (HTTP_STAGE,),
    "A WebSocket stage throttles every route by name, and $connect within the account's 500 connections/s",
)
def websocket_throttled(stage: CapturedResource, graph: Graph) -> Iterator[str]:
    api_id = stage.inputs.get("apiId")
    if api_id not in _websocket_api_ids(graph):
        return
    settings = {s.get("routeKey"): s for s in stage.inputs.get("routeSettings") or []}
    for route in graph.of_type(WS_ROUTE):
        key = route.inputs.get("routeKey")
        if route.inputs.get("apiId") != api_id:
            continue
        if key not in settings:
            yield f"route {key} has no route settings: it takes the stage default, unnamed in the plan"
        elif not _throttled(settings[key], "throttlingRateLimit", "throttlingBurstLimit"):
            yield f"route {key} lacks a non-zero rate and burst: AWS throttles it to 0"
    connect = (settings.get("$connect") or {}).get("throttlingRateLimit") or 0
    if connect > WS_ACCOUNT_CONNECT_QUOTA:
        yield (
            f"$connect admits {connect} new connections/s, above the account quota of {WS_ACCOUNT_CONNECT_QUOTA}/s "
            "per region: the account refuses the excess, not this stage"
        )


@rule(
    "manage-connections-scoped",
    "error",
    POLICY_TYPES,
    "execute-api:ManageConnections names one API, stage and method on @connections",
)
def manage_connections_scoped(policy: CapturedResource, graph: Graph) -> Iterator[str]:
    for statement in _statements(policy.inputs.get("policy")):
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        if statement.get("Effect") != "Allow" or not any(
            a in ("execute-api:ManageConnections", "execute-api:*") for a in actions
        ):
            continue
        for resource in _as_list(statement.get("Resource")):
            if not MANAGE_CONNECTIONS_ARN.match(str(resource)):
                yield (
                    f"ManageConnections on {resource!r}: name one API, stage and method on @connections "
                    "(arn:...:execute-api:<region>:<account>:<api>/<stage>/POST/@connections/*), so a function "
                    "can reach only its own clients"
                )


# --- ThrottledApi deploy order and front-door safety (issue 8) ------------------------------------
ACCOUNT = "aws:apigateway/account:Account"


@rule(
    "api-account-role",
    "warning",
    (THROTTLED_API,),
    "A logging REST API's stack manages the region's API Gateway role, or says another stack does",
)
def api_account_role(api: CapturedResource, graph: Graph) -> Iterator[str]:
    outputs = graph.outputs_of(api)
    if outputs.get("flavor") != "rest" or outputs.get("account_setting") in ("this stack", "another stack"):
        return
    if graph.of_type(ACCOUNT):
        yield "the stack sets the API Gateway account role but the API does not wait for it: pass it as account"
        return
    yield (
        "REST access and execution logs need the region's API Gateway CloudWatch role: pass an "
        "ApiGatewayAccount as account, or set account_managed_elsewhere=True if another stack manages it"
    )


# A method path is "*/*" or an escaped resource path and a method: ~1orders~1{id}/GET, ~1/GET.
ESCAPED_METHOD_PATH = re.compile(r"^\*/\*$|^(~1[^/~]*(~[01][^/~]*)*)+/(\*|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$")


@rule(
    "api-method-path-escaped",
    "error",
    (METHOD_SETTINGS,),
    "A REST method setting names its method with every / of the resource path written ~1",
)
def api_method_path_escaped(settings: CapturedResource, graph: Graph) -> Iterator[str]:
    path = str(settings.inputs.get("methodPath", ""))
    if not ESCAPED_METHOD_PATH.match(path):
        yield (
            f"method path {path!r} matches no method: API Gateway keys methods as the resource path with "
            "every / written ~1, then the method (~1orders~1{order_id}/GET, ~1/GET for the root, */* for all)"
        )


def _fifo_send(integration: CapturedResource) -> tuple[str, bool, bool] | None:
    """``(queue name, sends a group id, sends a dedup id)`` of an integration sending to a FIFO queue."""
    if integration.type == REST_INTEGRATION:
        uri = str(integration.inputs.get("uri") or "")
        sent = " ".join(str(t) for t in (integration.inputs.get("requestTemplates") or {}).values())
        queue = uri.rsplit("/", 1)[-1] if ":sqs:path/" in uri else ""
        group, dedup = "MessageGroupId=" in sent, "MessageDeduplicationId=" in sent
    else:
        params = integration.inputs.get("requestParameters") or {}
        queue = str(params.get("QueueUrl") or "").rsplit("/", 1)[-1]
        if not str(integration.inputs.get("integrationSubtype") or "").startswith("SQS-SendMessage"):
            queue = ""
        group, dedup = "MessageGroupId" in params, "MessageDeduplicationId" in params
    return (queue, group, dedup) if queue.endswith(".fifo") else None


@rule(
    "api-fifo-target-grouped",
    "error",
    (REST_INTEGRATION, HTTP_INTEGRATION),
    "An API sending to a FIFO queue sends a message group id (and a dedup id unless content-based)",
)
def api_fifo_target_grouped(integration: CapturedResource, graph: Graph) -> Iterator[str]:
    found = _fifo_send(integration)
    if found is None:
        return
    name, group, dedup = found
    if not group:
        yield f"sends to FIFO queue {name} without a MessageGroupId: SQS refuses every message (route group_id)"
    queue = next((q for q in graph.of_type(QUEUE) if q.inputs.get("name") == name), None)
    content_based = queue is not None and bool(queue.inputs.get("contentBasedDeduplication"))
    if not dedup and not content_based:
        yield (
            f"sends to FIFO queue {name} without a MessageDeduplicationId and the queue has no content-based "
            "deduplication: SQS refuses every message (route dedup_id)"
        )


REST_METHOD = "aws:apigateway/method:Method"
HTTP_ROUTE = "aws:apigatewayv2/route:Route"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE", "ANY")


@rule(
    "api-write-route-guarded",
    "warning",
    (REST_METHOD, HTTP_ROUTE),
    "A write route has authorization or a per-client limit (API key usage plan, WAF rate per IP)",
)
def api_write_route_guarded(route: CapturedResource, graph: Graph) -> Iterator[str]:
    if route.type == REST_METHOD:
        method = str(route.inputs.get("httpMethod"))
        if method not in WRITE_METHODS or route.inputs.get("authorization", "NONE") != "NONE":
            return
        api = str(route.inputs.get("restApi"))
        waf = any(api in str(a.inputs.get("resourceArn", "")) for a in graph.of_type(WAF_ASSOCIATION))
        if not route.inputs.get("apiKeyRequired") and not waf:
            yield (
                f"{method} is open to anyone with no per-client limit: one client can spend the stage's whole "
                "rate (add auth, usage_plans or waf_rate_limit)"
            )
        return
    method = str(route.inputs.get("routeKey", "")).split(" ")[0]
    if method in WRITE_METHODS and route.inputs.get("authorizationType", "NONE") == "NONE":
        yield (
            f"{route.inputs.get('routeKey')} is open to anyone, and HTTP APIs have no per-client limit (only the "
            "route throttle shared by every client): add auth"
        )


# --- operations per environment (issue 13) -------------------------------------------------------
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
CANARY = "aws:synthetics/canary:Canary"
INSIGHT_RULE = "aws:cloudwatch/contributorInsightRule:ContributorInsightRule"


@rule(
    "alarm-to-ops-topic",
    "error",
    (ALARM, COMPOSITE_ALARM),
    "Where the stack has an ops topic, every alarm (metric or composite) notifies it",
)
def alarm_to_ops_topic(alarm: CapturedResource, graph: Graph) -> Iterator[str]:
    topics = {t.outputs.get("arn") for t in graph.of_type("aws:sns/topic:Topic")}
    if not topics:
        return
    actions = set(_as_list(alarm.inputs.get("alarmActions")))
    if not actions and alarm.type == ALARM and _named_by_a_notifying_composite(alarm, graph, topics):
        return  # a composite's silent child (a burn-rate window): the composite is what notifies
    if not actions & topics:
        yield f"no alarm action to the stack's topic ({', '.join(sorted(str(t) for t in topics))}): it fires unseen"


def _named_by_a_notifying_composite(alarm: CapturedResource, graph: Graph, topics: set[Any] | None = None) -> bool:
    """Whether a composite alarm with actions (to one of ``topics``, when given) names ``alarm``."""
    name = alarm.inputs.get("name")
    for composite in graph.of_type(COMPOSITE_ALARM):
        actions = set(_as_list(composite.inputs.get("alarmActions")))
        if f'ALARM("{name}")' in str(composite.inputs.get("alarmRule", "")) and (
            actions & topics if topics is not None else actions
        ):
            return True
    return False


@rule(
    "canary-retention",
    "error",
    (CANARY,),
    "A canary keeps run data for a bounded time, and its artifacts bucket expires them and blocks public access",
)
def canary_retention(canary: CapturedResource, graph: Graph) -> Iterator[str]:
    for key in ("successRetentionPeriod", "failureRetentionPeriod"):
        if not canary.inputs.get(key):
            yield f"no {key}: Synthetics' default applies silently"
    location = str(canary.inputs.get("artifactS3Location") or "")
    bucket_name = location.removeprefix("s3://").split("/", 1)[0]
    prefix = location.removeprefix("s3://").partition("/")[2]
    bucket = next((b for b in graph.of_type("aws:s3/bucket:Bucket") if b.outputs.get("bucket") == bucket_name), None)
    if bucket is None:
        yield f"artifacts go to {location or '(none)'}, a bucket this stack does not manage: nothing expires them"
        return
    bucket_id = bucket.outputs.get("id")
    expiring = [
        r
        for lc in graph.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if lc.inputs.get("bucket") == bucket_id
        for r in lc.inputs.get("rules") or []
        if r.get("status") == "Enabled"
        and (r.get("expiration") or {}).get("days")
        and prefix.startswith(str((r.get("filter") or {}).get("prefix") or ""))
    ]
    if not expiring:
        yield f"bucket {bucket_name} has no enabled expiration covering {location}: artifacts pile up forever"
    blocks = [
        b
        for b in graph.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if b.inputs.get("bucket") == bucket_id
    ]
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    if not any(all(b.inputs.get(k) for k in keys) for b in blocks):
        yield f"bucket {bucket_name} does not block public access (screenshots and logs of the API)"


@rule("canary-role-scoped", "error", (CANARY,), "A canary's role is this stack's, with inline scoped permissions")
def canary_role_scoped(canary: CapturedResource, graph: Graph) -> Iterator[str]:
    role = next(
        (
            r
            for r in graph.of_type("aws:iam/role:Role")
            if r.outputs.get("arn") == canary.inputs.get("executionRoleArn")
        ),
        None,
    )
    if role is None:
        yield f"execution role {canary.inputs.get('executionRoleArn')} is not managed by this stack"
        return
    for attachment in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        if attachment.inputs.get("role") in (role.outputs.get("id"), role.outputs.get("name")):
            yield f"managed policy {attachment.inputs.get('policyArn')} on the canary role: grant only what it calls"
    policies = [
        p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs.get("role") == role.outputs.get("id")
    ]
    if not policies:
        yield "the canary role has no inline policy: the first run cannot write its artifacts or logs"
    for policy in policies:
        for statement in _statements(policy.inputs.get("policy")):
            wild = [a for a in _as_list(statement.get("Action")) if str(a).endswith("*")]
            if wild:
                yield f"wildcard actions {', '.join(wild)} in {policy.name}"


@rule(
    "insight-rule-retention",
    "error",
    (INSIGHT_RULE,),
    "A Contributor Insights rule reads only this stack's log groups, each with a retention period",
)
def insight_rule_retention(insight: CapturedResource, graph: Graph) -> Iterator[str]:
    try:
        body = json.loads(str(insight.inputs.get("ruleDefinition")))
    except ValueError:
        yield "the rule definition is not JSON"
        return
    groups = {g.outputs.get("name"): g for g in graph.of_type(LOG_GROUP)}
    for name in body.get("LogGroupNames") or []:
        group = groups.get(name)
        if group is None:
            yield f"reads {name}, which this stack does not manage (no retention it can vouch for)"
        elif not group.inputs.get("retentionInDays"):
            yield f"reads {name}, which keeps logs forever"


# --- state machines and job workflows (AsyncJobWorkflow) ------------------------------------------
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ASYNC_JOB_WORKFLOW = "resilient-serverless:index:AsyncJobWorkflow"


def _asl_problems(machine: CapturedResource, kind: str) -> Iterator[str]:
    from .asl import classified_problems  # noqa: PLC0415 (light, but only where state machines exist)

    raw = machine.inputs.get("definition")
    try:
        definition = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        yield "the definition is not JSON"
        return
    if not isinstance(definition, dict):
        return
    express = machine.inputs.get("type") == "EXPRESS"
    yield from (message for k, message in classified_problems(definition, express=express) if k == kind)


@rule("sfn-execution-timeout", "error", (STATE_MACHINE,), "A state machine bounds each execution (TimeoutSeconds)")
def sfn_execution_timeout(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "execution_timeout")


@rule("sfn-task-timeout", "error", (STATE_MACHINE,), "Every Task state has TimeoutSeconds")
def sfn_task_timeout(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "task_timeout")


@rule(
    "sfn-task-retry",
    "error",
    (STATE_MACHINE,),
    "Every Task state retries with backoff, full jitter and a maximum delay",
)
def sfn_task_retry(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "retry")


@rule("sfn-task-catch", "error", (STATE_MACHINE,), "Every Task state catches its errors into a state that records them")
def sfn_task_catch(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    yield from _asl_problems(machine, "catch")


@rule(
    "sfn-callback-heartbeat",
    "error",
    (STATE_MACHINE,),
    "A task that waits for a task token has HeartbeatSeconds below its TimeoutSeconds",
)
def sfn_callback_heartbeat(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    # asl.heartbeat_problem is the one check: the components refuse what this rule flags.
    yield from _asl_problems(machine, "heartbeat")


@rule(
    "jobs-start-within-quota",
    "warning",
    (ASYNC_JOB_WORKFLOW,),
    "A job workflow's starter issues no more StartExecution calls than the account's quota refills",
)
def jobs_start_within_quota(workflow: CapturedResource, graph: Graph) -> Iterator[str]:
    path = graph.outputs_of(workflow).get("start_path") or {}
    issued, quota = path.get("starts_per_s"), path.get("start_quota_per_s")
    if isinstance(issued, int | float) and isinstance(quota, int | float) and issued > quota:
        yield (
            f"the starter can issue {issued} starts/s, above the StartExecution refill of {quota}/s: starts are "
            "throttled and retried from the queue; lower starter_max_concurrency or raise the quota"
        )


WEBHOOK_ATTEMPTS_MAX = 10


@rule(
    "jobs-webhook-delivery-bounded",
    "error",
    (ASYNC_JOB_WORKFLOW,),
    "Webhook deliveries retry a bounded number of times, then land in a DLQ that raises an alarm",
)
def jobs_webhook_delivery_bounded(workflow: CapturedResource, graph: Graph) -> Iterator[str]:
    hooks = graph.outputs_of(workflow).get("webhooks")
    if not hooks:
        return
    queue = _queue_by_arn(graph, str(hooks.get("queue_arn")))
    redrive = queue.inputs.get("redrivePolicy") if queue else None
    policy = json.loads(redrive) if isinstance(redrive, str) else {}
    dlq = _queue_by_arn(graph, str(policy.get("deadLetterTargetArn"))) if policy else None
    if dlq is None:
        yield "the webhook queue has no DLQ: a delivery that keeps failing is retried until it expires, unseen"
        return
    attempts = policy.get("maxReceiveCount")
    if not isinstance(attempts, int) or attempts > WEBHOOK_ATTEMPTS_MAX:
        yield f"webhook deliveries are tried {attempts!r} times, above {WEBHOOK_ATTEMPTS_MAX}: bound the retries"
    watched = any(
        (a.inputs.get("dimensions") or {}).get("QueueName") == dlq.outputs.get("name") for a in graph.of_type(ALARM)
    )
    if not watched:
        yield f"no alarm watches the webhook DLQ {dlq.name}: failed deliveries would wait there unseen"


# --- dated AWS facts (aws_facts.py): runtimes and integration patterns ----------------------------
@rule(
    "runtime-supported",
    "error",
    (FUNCTION, CANARY),
    "A function's or canary's runtime is not past its deprecation date (AWS refuses to create on it)",
    needs_graph=False,
)
def runtime_supported(resource: CapturedResource, graph: Graph) -> Iterator[str]:
    key = "runtimeVersion" if resource.type == CANARY else "runtime"
    fact = aws_facts.deprecated_runtime(resource.inputs.get(key), aws_facts.today())
    if fact is None:
        return
    prefix = "syn-python-selenium-" if fact.kind == "synthetics" else "python"
    alive = aws_facts.supported_runtimes(fact.kind, prefix, aws_facts.today())
    what = "canary" if fact.kind == "synthetics" else "function"
    yield (
        f"runtime {fact.describe()}: AWS refuses to create a {what} on it; use "
        f"{' or '.join(alive[:2]) or 'a supported runtime'}"
    )


def _definition(machine: CapturedResource) -> dict[str, Any] | None:
    raw = machine.inputs.get("definition")
    try:
        definition = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    return definition if isinstance(definition, dict) else None


@rule(
    "sfn-express-request-response",
    "error",
    (STATE_MACHINE,),
    "An Express state machine uses only Request Response integrations (no .sync, no .waitForTaskToken)",
    needs_graph=False,
)
def sfn_express_request_response(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    from .asl import tasks_of  # noqa: PLC0415

    kind = str(machine.inputs.get("type") or "STANDARD").upper()
    allowed = aws_facts.INTEGRATION_PATTERNS.get(kind)
    definition = _definition(machine)
    if allowed is None or definition is None:
        return
    for name, state in tasks_of(definition):
        pattern = aws_facts.integration_pattern(state.get("Resource"))
        if pattern not in allowed:
            yield (
                f"task {name} uses {state.get('Resource')} ({pattern}), which a {kind} workflow cannot run "
                f"(it supports {', '.join(sorted(allowed))}; {aws_facts.SFN_PATTERNS_URL}): CreateStateMachine "
                "refuses it; use a STANDARD workflow or a Request Response integration"
            )


# --- what a raw program forgets: retries, dead letters, and a role that can do its job -------------
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
MIN_RECEIVE_COUNT = 2


@rule(
    "sqs-redrive-retries",
    "error",
    (QUEUE,),
    f"A redrive policy lets a message be received at least {MIN_RECEIVE_COUNT} times before it is dead-lettered",
    needs_graph=False,
)
def sqs_redrive_retries(queue: CapturedResource, graph: Graph) -> Iterator[str]:
    redrive = queue.inputs.get("redrivePolicy")
    try:
        policy = json.loads(redrive) if isinstance(redrive, str) and redrive else redrive or {}
    except ValueError:
        return
    count = policy.get("maxReceiveCount") if isinstance(policy, dict) else None
    if isinstance(count, int | float) and count < MIN_RECEIVE_COUNT:
        yield (
            f"maxReceiveCount={int(count)}: one failed receive (a throttle, a timeout, a deploy) dead-letters the "
            f"message; allow at least {MIN_RECEIVE_COUNT} (the components use 5)"
        )


@rule(
    "eventbridge-target-dead-letter",
    "error",
    (EVENT_TARGET,),
    "An EventBridge target has a retry policy and a dead-letter queue",
    needs_graph=False,
)
def eventbridge_target_dead_letter(target: CapturedResource, graph: Graph) -> Iterator[str]:
    attempts = int(aws_facts.quota("eventbridge_default_retry_attempts"))
    if not (target.inputs.get("deadLetterConfig") or {}).get("arn"):
        yield (
            "no dead-letter queue: an event the target cannot take is dropped after the retry policy "
            f"(by default {attempts} attempts over 24 h), unseen"
        )
    if not target.inputs.get("retryPolicy"):
        yield (
            f"no retry policy: the 24 h, {attempts}-attempt default applies silently; bound it (maximum event age, "
            "attempts)"
        )


STREAM_SOURCES = (":dynamodb:", ":kinesis:")


@rule(
    "stream-mapping-bounded",
    "error",
    (MAPPING,),
    "A DynamoDB or Kinesis stream mapping bounds its retries, splits a failing batch and keeps what fails",
    needs_graph=False,
)
def stream_mapping_bounded(mapping: CapturedResource, graph: Graph) -> Iterator[str]:
    if not any(s in str(mapping.inputs.get("eventSourceArn", "")) for s in STREAM_SOURCES):
        return
    attempts = mapping.inputs.get("maximumRetryAttempts")
    if attempts is None or attempts == -1:
        setting = "maximumRetryAttempts unset" if attempts is None else f"maximumRetryAttempts={attempts}"
        yield (
            f"{setting}: a failing batch is retried until its records expire from the stream, and its shard "
            "makes no progress meanwhile"
        )
    if not mapping.inputs.get("bisectBatchOnFunctionError"):
        yield "no bisectBatchOnFunctionError: one bad record fails its whole batch on every retry"
    on_failure = ((mapping.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
    if not on_failure:
        yield "no on-failure destination: records that exhaust their retries are skipped with no trace"


# What each optimized integration calls, by the Resource it names: the action and the parameter that
# names its target.
TASK_TARGETS: dict[str, tuple[str, str]] = {
    "lambda:invoke": ("lambda:InvokeFunction", "FunctionName"),
    "sqs:sendMessage": ("sqs:SendMessage", "QueueUrl"),
    "sns:publish": ("sns:Publish", "TopicArn"),
    "dynamodb:getItem": ("dynamodb:GetItem", "TableName"),
    "dynamodb:putItem": ("dynamodb:PutItem", "TableName"),
    "dynamodb:updateItem": ("dynamodb:UpdateItem", "TableName"),
    "dynamodb:deleteItem": ("dynamodb:DeleteItem", "TableName"),
}
TABLE = "aws:dynamodb/table:Table"
_FUNCTION_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+")


def _task_target(state: dict[str, Any], graph: Graph) -> tuple[str, str] | None:
    """(action, ARN) a Task calls, or None when the target is dynamic or not one of TASK_TARGETS."""
    resource = str(state.get("Resource", ""))
    if _FUNCTION_ARN.match(resource):
        return "lambda:InvokeFunction", _FUNCTION_ARN.match(resource).group(0)  # type: ignore[union-attr]
    service = resource.split(":::", 1)[-1].split(".", 1)[0] if ":states:::" in resource else ""
    if service not in TASK_TARGETS:
        return None
    action, parameter = TASK_TARGETS[service]
    value = (state.get("Parameters") or state.get("Arguments") or {}).get(parameter)
    if not isinstance(value, str) or not value or "{%" in value:
        return None  # a path ("FunctionName.$") or JSONata: decided at run time
    return action, _target_arn(action, value, graph)


def _target_arn(action: str, value: str, graph: Graph) -> str:
    if action == "lambda:InvokeFunction":
        match = _FUNCTION_ARN.match(value)
        if match:
            return match.group(0)
        fn = _function_by_name(graph, value)
        return str(fn.outputs.get("arn")) if fn else f"arn:*:lambda:*:*:function:{value}"
    if action == "sqs:SendMessage":
        queue = next((q for q in graph.of_type(QUEUE) if q.outputs.get("url") == value), None)
        if queue is not None:
            return str(queue.outputs.get("arn"))
        parts = value.rstrip("/").split("/")  # https://sqs.<region>.amazonaws.com/<account>/<name>
        region = parts[2].split(".")[1] if len(parts) > 2 and "." in parts[2] else "*"
        return f"arn:aws:sqs:{region}:{parts[-2] if len(parts) > 1 else '*'}:{parts[-1]}"
    if action.startswith("dynamodb:") and not value.startswith("arn:"):
        table = next((t for t in graph.of_type(TABLE) if t.outputs.get("name") == value), None)
        return str(table.outputs.get("arn")) if table else f"arn:*:dynamodb:*:*:table/{value}"
    return value


def _role_statements(role: CapturedResource, graph: Graph) -> list[dict[str, Any]]:
    keys = {role.outputs.get("id"), role.outputs.get("name"), role.outputs.get("arn")} - {None}
    statements: list[dict[str, Any]] = []
    for inline in role.inputs.get("inlinePolicies") or []:
        statements += _statements((inline or {}).get("policy"))
    for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy.inputs.get("role") in keys:
            statements += _statements(policy.inputs.get("policy"))
    managed = {
        a.inputs.get("policyArn")
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs.get("role") in keys
    }
    for policy in graph.of_type("aws:iam/policy:Policy"):
        if policy.outputs.get("arn") in managed:
            statements += _statements(policy.inputs.get("policy"))
    return statements


def _allows(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    import fnmatch  # noqa: PLC0415

    targets = {arn, f"{arn}:*"} if action == "lambda:InvokeFunction" else {arn}
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
            continue
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if any(fnmatch.fnmatchcase(t, r) or fnmatch.fnmatchcase(r, t) for t in targets for r in resources):
            return True
    return False


@rule(
    "sfn-role-can-call-its-tasks",
    "error",
    (STATE_MACHINE,),
    "A state machine's role may call every Lambda function, queue, topic and table its tasks name",
)
def sfn_role_can_call_its_tasks(machine: CapturedResource, graph: Graph) -> Iterator[str]:
    from .asl import tasks_of  # noqa: PLC0415

    definition = _definition(machine)
    role = next((r for r in graph.of_type(ROLE) if r.outputs.get("arn") == machine.inputs.get("roleArn")), None)
    if definition is None or role is None:
        return  # a role this stack does not manage: its policies are not here to read
    statements = _role_statements(role, graph)
    for name, state in tasks_of(definition):
        target = _task_target(dict(state), graph)
        if target is not None and not _allows(statements, *target):
            yield (
                f"task {name} calls {target[0]} on {target[1]}, which the role {role.name} does not allow: "
                "the execution fails at that state with an access error"
            )


from . import rules_tenancy  # noqa: E402, F401 (registers its rules in the same catalogue)
