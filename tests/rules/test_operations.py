"""The operations rules at their edges (alarms, the canary, insight rules): each threshold one step on
each side, and the fields each rule reads, on resources built by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import CapturedResource

from .hand_built import TAGS, messages, out, queue, res

ROLE_ARN = "arn:aws:iam::1:role/probe"


def _canary_role(*more: CapturedResource) -> list[str]:
    role = out("aws:iam/role:Role", "probe-role", {}, {"arn": ROLE_ARN, "id": "rid", "name": "rname"})
    canary = res(rules.CANARY, "probe", {"executionRoleArn": ROLE_ARN})
    return messages("canary-role-scoped", role, canary, *more)


def test_an_alarm_that_misses_the_topics_names_them_all() -> None:
    topics = [out("aws:sns/topic:Topic", n, {}, {"arn": f"arn:aws:sns:eu-west-1:1:{n}"}) for n in ("ops", "audit")]
    alarm = res(rules.ALARM, "a", {"alarmActions": ["arn:aws:sns:eu-west-1:1:elsewhere"]})
    assert messages("alarm-to-ops-topic", *topics, alarm) == [
        "no alarm action to the stack's topic (arn:aws:sns:eu-west-1:1:audit, arn:aws:sns:eu-west-1:1:ops): it "
        "fires unseen"
    ]


@pytest.mark.parametrize(
    ("location", "shown"), [(None, "(none)"), ("s3://elsewhere/canary/", "s3://elsewhere/canary/")]
)
def test_a_canary_writing_to_a_bucket_not_ours_names_the_location(location: str | None, shown: str) -> None:
    inputs = {"successRetentionPeriod": 7, "failureRetentionPeriod": 14, "artifactS3Location": location}
    assert messages("canary-retention", res(rules.CANARY, "probe", inputs)) == [
        f"artifacts go to {shown}, a bucket this stack does not manage: nothing expires them"
    ]


def test_a_canary_role_attachment_is_found_by_the_role_id_or_name() -> None:
    managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    for ref in ("rid", "rname"):
        attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", {"role": ref, "policyArn": managed})
        assert _canary_role(attachment) == [
            f"managed policy {managed} on the canary role: grant only what it calls",
            "the canary role has no inline policy: the first run cannot write its artifacts or logs",
        ]


def test_a_canary_role_policy_names_every_wildcard_action() -> None:
    statement = {"Effect": "Allow", "Action": ["s3:Put*", "logs:*", "xray:PutTraceSegments"], "Resource": "*"}
    policy = res(
        "aws:iam/rolePolicy:RolePolicy", "inline", {"role": "rid", "policy": json.dumps({"Statement": [statement]})}
    )
    assert _canary_role(policy) == ["wildcard actions s3:Put*, logs:* in inline"]


@pytest.mark.parametrize(
    ("lifecycle", "expiring"),
    [
        ({"status": "Enabled", "expiration": {"days": 30}, "filter": {"prefix": "canary/"}}, True),
        ({"status": "Enabled", "expiration": {"days": 30}}, True),  # no filter: the whole bucket
        ({"status": "Enabled", "expiration": {"days": 30}, "filter": {"prefix": "other/"}}, False),
        ({"status": "Enabled", "expiration": {"expiredObjectDeleteMarker": True}}, False),
        ({"status": "Disabled", "expiration": {"days": 30}}, False),
    ],
)
def test_a_canary_bucket_expires_artifacts_only_by_a_rule_covering_its_prefix(lifecycle: Any, expiring: bool) -> None:
    bucket = out("aws:s3/bucket:Bucket", "b", {}, {"bucket": "probe-artifacts", "id": "bid"})
    rules_ = res(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "lc",
        {"bucket": "bid", "rules": [lifecycle]},
    )
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    block = res(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", {"bucket": "bid", **dict.fromkeys(keys, True)}
    )
    inputs = {
        "successRetentionPeriod": 7,
        "failureRetentionPeriod": 14,
        "artifactS3Location": "s3://probe-artifacts/canary/",
    }
    found = messages("canary-retention", bucket, rules_, block, res(rules.CANARY, "probe", inputs))
    assert found == (
        []
        if expiring
        else [
            "bucket probe-artifacts has no enabled expiration covering s3://probe-artifacts/canary/: artifacts "
            "pile up forever"
        ]
    )


def test_an_insight_rule_names_each_log_group_it_cannot_vouch_for() -> None:
    kept = out(rules.LOG_GROUP, "kept", {"retentionInDays": 30}, {"name": "/aws/lambda/kept"})
    forever = out(rules.LOG_GROUP, "forever", {}, {"name": "/aws/lambda/forever"})
    definition = json.dumps({"LogGroupNames": ["/aws/lambda/kept", "/aws/lambda/forever", "/aws/lambda/other"]})
    insight = res(rules.INSIGHT_RULE, "top", {"ruleDefinition": definition})
    assert messages("insight-rule-retention", kept, forever, insight) == [
        "reads /aws/lambda/forever, which keeps logs forever",
        "reads /aws/lambda/other, which this stack does not manage (no retention it can vouch for)",
    ]
    not_json = res(rules.INSIGHT_RULE, "top", {"ruleDefinition": "{"})
    assert messages("insight-rule-retention", not_json) == ["the rule definition is not JSON"]


def test_a_canary_whose_role_another_stack_manages_is_named_with_that_role() -> None:
    canary = res(rules.CANARY, "probe", {"executionRoleArn": "arn:aws:iam::1:role/shared"})
    assert messages("canary-role-scoped", canary) == [
        "execution role arn:aws:iam::1:role/shared is not managed by this stack"
    ]


def test_tags_are_required_only_on_taggable_custom_resources() -> None:
    assert messages("tags-required", queue("q", tags=TAGS)) == []
    assert messages("tags-required", queue("q")) == ["missing tags: environment, component, managed-by"]
    permission = res(rules.PERMISSION, "p", {})  # aws.lambda_.Permission takes no tags
    component = res("resilient-serverless:index:PriorityQueuePair", "c")
    unknown = res("aws:nosuch/thing:Thing", "x")
    assert messages("tags-required", permission, component, unknown) == []


def test_an_alarm_with_an_action_is_quiet() -> None:
    assert messages("alarm-has-actions", res(rules.ALARM, "a", {"alarmActions": ["arn:aws:sns:r:1:t"]})) == []
