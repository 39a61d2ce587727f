"""Operations: alarms that notify the stack's ops topic, required tags, canaries and Contributor
Insights rules that keep what they record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .common import (
    ALARM,
    CANARY,
    COMPOSITE_ALARM,
    INSIGHT_RULE,
    LOG_GROUP,
    REQUIRED_TAGS,
    _as_list,
    _is_taggable,
    _statements,
)
from .registry import rule

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


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
