"""What several families read: resource type tokens, AWS defaults, the actions with no
resource-level permission, and policy-document helpers.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from typing import TYPE_CHECKING, Any

from .. import aws_facts
from ..asl import LOG_DELIVERY_ACTIONS

if TYPE_CHECKING:
    from ..offline import Graph

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
QUEUE = "aws:sqs/queue:Queue"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
ROLE = "aws:iam/role:Role"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
CANARY = "aws:synthetics/canary:Canary"
INSIGHT_RULE = "aws:cloudwatch/contributorInsightRule:ContributorInsightRule"
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
REST_INTEGRATION = "aws:apigateway/integration:Integration"
HTTP_INTEGRATION = "aws:apigatewayv2/integration:Integration"
PERMISSION = "aws:lambda/permission:Permission"
THROTTLED_API = "resilient-serverless:index:ThrottledApi"
ACCOUNT = "aws:apigateway/account:Account"
REST_METHOD = "aws:apigateway/method:Method"
HTTP_ROUTE = "aws:apigatewayv2/route:Route"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WS_API = "aws:apigatewayv2/api:Api"
WS_ROUTE = "aws:apigatewayv2/route:Route"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ASYNC_JOB_WORKFLOW = "resilient-serverless:index:AsyncJobWorkflow"
TABLE = "aws:dynamodb/table:Table"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
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
        "s3:ListAllMyBuckets",  # the Synthetics canary role needs it
        # Step Functions logging: AWS grants the vended log delivery actions on "*" only.
        *LOG_DELIVERY_ACTIONS,
        # A Step Functions task token belongs to no resource ARN: SendTask* cannot be scoped below "*".
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
)


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


@functools.cache  # a cache: the same answers without it, only slower
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
            from ..base import is_taggable  # noqa: PLC0415 (pulumi_aws loads only for this rule)

            return is_taggable(cls)
    return False


def _throttled(settings: dict[str, Any] | None, rate_key: str, burst_key: str) -> bool:
    settings = settings or {}
    return (settings.get(rate_key) or 0) > 0 and (settings.get(burst_key) or 0) > 0


def _websocket_api_ids(graph: Graph) -> set[str]:
    return {str(a.outputs.get("id")) for a in graph.of_type(WS_API) if a.inputs.get("protocolType") == "WEBSOCKET"}


def _is_websocket_route_arn(parts: list[str], graph: Graph) -> bool:
    """``<api>/<stage>/<route key>``: how a WebSocket API names one route (it has no method or path)."""
    return len(parts) == 3 and parts[0] in _websocket_api_ids(graph) and "*" not in parts[1:] and all(parts)
