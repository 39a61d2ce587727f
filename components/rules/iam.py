"""IAM: no wildcard action or resource where a narrower one exists, no wildcard principal, no
broad managed policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .common import FUNCTION_URL, NO_RESOURCE_LEVEL, POLICY_TYPES, ROLE, _as_list, _statements
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


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
