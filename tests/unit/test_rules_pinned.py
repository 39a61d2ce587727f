"""Rule behaviours no other test pinned: thresholds at their boundaries (one on each side), the
fields each rule reads, the actions that need '*', and the rule catalogue as ``rules`` prints it.

The rules are called on hand-built resources (as a policy pack would hand them over): the inputs
are exactly what the boundary needs, and the file runs in a fraction of a second, which matters
because ``make mutation`` runs it once per mutant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from resilient_serverless.components import rules
from resilient_serverless.components.testing import CapturedResource, Graph

TAGS = {"environment": "t", "component": "c", "managed-by": "m"}


def res(type_: str, name: str, inputs: dict[str, Any] | None = None) -> CapturedResource:
    """A resource as the monitor records it, with no outputs (components: ``custom`` False)."""
    urn = f"urn:pulumi:test::p::{type_}::{name}"
    return CapturedResource(urn, type_, name, inputs or {}, {}, None, (), not type_.startswith("resilient"))


def out(type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> CapturedResource:
    urn = f"urn:pulumi:test::p::{type_}::{name}"
    return CapturedResource(urn, type_, name, inputs, outputs, None, (), True)


def messages(rule_id: str, *resources: CapturedResource, outputs: dict[str, Any] | None = None) -> list[str]:
    graph = Graph(list(resources), {}, outputs or {}, "test", "p")
    return [f.message for f in rules.check(graph, waived={}) if f.rule == rule_id]


def function(name: str = "f", **inputs: Any) -> CapturedResource:
    return out(rules.FUNCTION, name, inputs, {"name": name, "arn": f"arn:aws:lambda:eu-west-1:1:function:{name}"})


def queue(name: str, **inputs: Any) -> CapturedResource:
    return out(rules.QUEUE, name, inputs, {"name": name, "arn": f"arn:aws:sqs:eu-west-1:1:{name}"})


# --- functions --------------------------------------------------------------------------------------
def test_an_explicit_timeout_is_quiet() -> None:
    assert messages("lambda-explicit-timeout", function(timeout=3)) == []


@pytest.mark.parametrize(
    ("reserved", "found"),
    [(1, []), (-1, ["unreserved concurrency and no queue mapping bounds it: excess work is not shed"])],
)
def test_reserved_concurrency_of_one_bounds_a_function(reserved: int, found: list[str]) -> None:
    assert messages("lambda-bounded-concurrency", function(reservedConcurrentExecutions=reserved)) == found


def test_an_unreserved_function_is_bounded_by_the_mapping_that_names_it_by_name_or_arn() -> None:
    bounded = {"scalingConfig": {"maximumConcurrency": 2}}
    by_name = res(rules.MAPPING, "m1", {"functionName": "f", **bounded})
    by_arn = res(rules.MAPPING, "m2", {"functionName": "arn:aws:lambda:eu-west-1:1:function:g", "scalingConfig": {}})
    other = res(rules.MAPPING, "m3", {"functionName": "h"})
    assert messages("lambda-bounded-concurrency", function("f"), by_name, other) == []
    assert messages("lambda-bounded-concurrency", function("g"), by_arn) == [
        "unreserved and its mapping m2 sets no maximum concurrency (nor maximum pollers)"
    ]


def test_active_tracing_and_a_managed_json_log_group_are_quiet() -> None:
    fn = function(tracingConfig={"mode": "Active"}, loggingConfig={"logFormat": "JSON", "logGroup": "/custom/f"})
    group = out(rules.LOG_GROUP, "g", {"retentionInDays": 1}, {"name": "/custom/f"})
    assert messages("lambda-tracing-active", fn) == []
    assert messages("lambda-json-logs-with-retention", fn, group) == []
    assert messages("lambda-tracing-active", function(tracingConfig={"mode": "PassThrough"})) == [
        "tracing is not Active: no X-Ray trace for this function"
    ]


def test_a_log_group_with_one_day_of_retention_is_quiet() -> None:
    assert messages("log-group-retention", res(rules.LOG_GROUP, "g", {"retentionInDays": 1})) == []


def test_bounded_async_invocations_are_quiet_and_each_missing_bound_is_named() -> None:
    bounded = {
        "maximumRetryAttempts": 0,
        "maximumEventAgeInSeconds": 60,
        "destinationConfig": {"onFailure": {"destination": "arn:q"}},
    }
    assert messages("async-invoke-bounded", res(rules.INVOKE_CONFIG, "c", bounded)) == []
    assert messages("async-invoke-bounded", res(rules.INVOKE_CONFIG, "c", {})) == [
        "maximumRetryAttempts not set: AWS retries twice by default",
        "maximumEventAgeInSeconds not set: events may wait 6 h (a silent backlog)",
        "no on-failure destination: failed events are lost",
    ]


@pytest.mark.parametrize(("wanted", "found"), [(5, []), (6, ["provisioned 6 exceeds reserved concurrency 5"])])
def test_provisioned_equal_to_reserved_is_allowed(wanted: int, found: list[str]) -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f", "provisionedConcurrentExecutions": wanted})
    assert messages("provisioned-within-reserved", function(reservedConcurrentExecutions=5), config) == found


def test_provisioned_on_an_unreserved_function_is_not_compared() -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f", "provisionedConcurrentExecutions": 5})
    assert messages("provisioned-within-reserved", function(), config) == []


def test_provisioned_on_a_zero_reserved_function_exceeds_it() -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f", "provisionedConcurrentExecutions": 1})
    assert messages("provisioned-within-reserved", function(reservedConcurrentExecutions=0), config) == [
        "provisioned 1 exceeds reserved concurrency 0"
    ]


# --- IAM --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", sorted(rules.NO_RESOURCE_LEVEL))
def test_actions_without_resource_level_permissions_may_use_star(action: str) -> None:
    policy = res(
        "aws:iam/policy:Policy",
        "p",
        {"policy": {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}},
    )
    assert messages("iam-no-wildcards", policy) == []


def test_the_actions_that_need_star_include_these() -> None:
    # A subset: an action AWS gives no resource-level permission may be added, none removed.
    needed = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "cloudwatch:PutMetricData",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    }
    assert needed <= rules.NO_RESOURCE_LEVEL


def test_a_managed_policy_document_is_checked_like_an_inline_one() -> None:
    policy = res(
        "aws:iam/policy:Policy",
        "p",
        {"policy": json.dumps({"Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:r:1:q"}})},
    )
    assert messages("iam-no-wildcards", policy) == ["wildcard action 'sqs:*'"]


def test_a_policy_that_is_not_json_has_no_statements() -> None:
    assert messages("iam-no-wildcards", res("aws:iam/rolePolicy:RolePolicy", "p", {"policy": "{not json"})) == []


# --- queues -----------------------------------------------------------------------------------------
def test_a_kms_encrypted_queue_counts_as_encrypted() -> None:
    assert messages("sqs-encrypted", queue("q", kmsMasterKeyId="alias/orders")) == []
    assert messages("sqs-encrypted", queue("q", sqsManagedSseEnabled=True)) == []
    assert messages("sqs-encrypted", queue("q", sqsManagedSseEnabled=False)) == ["no server-side encryption"]


@pytest.mark.parametrize("field", ["destinationConfig", "deadLetterConfig"])
def test_a_queue_named_as_a_failure_destination_is_a_dead_letter_target(field: str) -> None:
    dlq = queue("dlq")
    user = res(
        rules.INVOKE_CONFIG if field == "destinationConfig" else rules.FUNCTION,
        "u",
        {field: {"targetArn": "arn:aws:sqs:eu-west-1:1:dlq"}},
    )
    assert messages("sqs-dead-letter", dlq, user) == []
    assert rules.is_dead_letter_target(dlq, Graph([dlq, user]))


def test_a_queue_without_an_arn_is_no_dead_letter_target() -> None:
    bare = res(rules.QUEUE, "q")
    assert not rules.is_dead_letter_target(bare, Graph([bare]))


def test_a_queue_does_not_count_as_its_own_dlq() -> None:
    loop = queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:q"}))
    assert not rules.is_dead_letter_target(loop, Graph([loop]))


def _visibility_case(visibility: int | None) -> list[str]:
    inputs = {} if visibility is None else {"visibilityTimeoutSeconds": visibility}
    q = queue("q", **inputs)
    fn = function(timeout=5)
    mapping = res(
        rules.MAPPING,
        "m",
        {"eventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "functionName": "f", "maximumBatchingWindowInSeconds": 2},
    )
    return messages("sqs-visibility-covers-consumer", q, fn, mapping)


def test_visibility_equal_to_six_timeouts_plus_the_window_is_enough() -> None:
    assert _visibility_case(32) == []
    assert _visibility_case(31) == [
        "queue q hides a received batch for 31 s, below the 32 s its consumer f may need (6 x 5 s + window): "
        "work is delivered twice"
    ]


def test_the_default_visibility_is_30_s_and_the_default_timeout_3_s() -> None:
    assert _visibility_case(None) == [
        "queue q hides a received batch for 30 s, below the 32 s its consumer f may need (6 x 5 s + window): "
        "work is delivered twice"
    ]
    q = queue("q", visibilityTimeoutSeconds=18)
    mapping = res(rules.MAPPING, "m", {"eventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "functionName": "f"})
    assert messages("sqs-visibility-covers-consumer", q, function(), mapping) == []
    short = queue("q", visibilityTimeoutSeconds=17)
    assert len(messages("sqs-visibility-covers-consumer", short, function(), mapping)) == 1


def test_mappings_of_other_sources_are_not_judged_as_sqs() -> None:
    stream = res(rules.MAPPING, "m", {"eventSourceArn": "arn:aws:kinesis:eu-west-1:1:stream/s", "functionName": "f"})
    assert messages("sqs-mapping-isolated", stream) == []


@pytest.mark.parametrize(
    ("dlq_keeps", "found"),
    [
        (345_601, []),
        (
            345_600,
            [
                "its DLQ dlq keeps messages 345600 s, not longer than this queue's 345600 s: a redriven message can "
                "expire before anyone looks"
            ],
        ),
    ],
)
def test_a_dlq_must_keep_messages_strictly_longer(dlq_keeps: int, found: list[str]) -> None:
    dlq = queue("dlq", messageRetentionSeconds=dlq_keeps)
    source = queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}))
    assert messages("sqs-dlq-outlives-source", dlq, source) == found


def test_default_retention_on_both_sides_is_four_days_and_too_short() -> None:
    dlq = queue("dlq")
    source = queue("q", redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}))
    assert messages("sqs-dlq-outlives-source", dlq, source) == [
        "its DLQ dlq keeps messages 345600 s, not longer than this queue's 345600 s: a redriven message can expire "
        "before anyone looks"
    ]


def test_fifo_with_a_fifo_dlq_is_the_same_type() -> None:
    dlq = queue("dlq.fifo", messageRetentionSeconds=1_209_600, fifoQueue=True)
    source = queue(
        "q.fifo", fifoQueue=True, redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq.fifo"})
    )
    assert messages("sqs-dlq-outlives-source", dlq, source) == []


def test_a_queue_with_an_empty_redrive_policy_has_no_dlq_to_compare() -> None:
    assert messages("sqs-dlq-outlives-source", queue("q", redrivePolicy="")) == []


# --- the front door (issue 8) -----------------------------------------------------------------------
def test_a_method_setting_without_a_path_is_reported_as_the_empty_path() -> None:
    assert messages("api-method-path-escaped", res(rules.METHOD_SETTINGS, "s", {})) == [
        "method path '' matches no method: API Gateway keys methods as the resource path with every / written ~1, "
        "then the method (~1orders~1{order_id}/GET, ~1/GET for the root, */* for all)"
    ]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "ANY", "GET"])
def test_every_write_method_needs_a_guard_and_reads_do_not(method: str) -> None:
    open_rest = res(rules.REST_METHOD, "m", {"httpMethod": method, "restApi": "api1"})
    open_http = res(rules.HTTP_ROUTE, "r", {"routeKey": f"{method} /orders"})
    expected = (
        []
        if method == "GET"
        else [
            f"{method} is open to anyone with no per-client limit: one client can spend the stage's whole rate (add "
            "auth, usage_plans or waf_rate_limit)",
            f"{method} /orders is open to anyone, and HTTP APIs have no per-client limit (only the route throttle "
            "shared by every client): add auth",
        ]
    )
    assert messages("api-write-route-guarded", open_rest, open_http) == expected


def test_a_waf_rate_rule_on_the_api_guards_its_rest_write_routes() -> None:
    route = res(rules.REST_METHOD, "m", {"httpMethod": "POST", "restApi": "api1"})
    waf = res(rules.WAF_ASSOCIATION, "w", {"resourceArn": "arn:aws:apigateway:eu-west-1::/restapis/api1/stages/v1"})
    assert messages("api-write-route-guarded", route, waf) == []


FIFO_URI = "arn:aws:apigateway:eu-west-1:sqs:path/123456789012/orders.fifo"


def test_content_based_deduplication_is_read_from_the_target_queue_only() -> None:
    # GIVEN a FIFO target without content-based deduplication, beside another queue that has it
    target = res(rules.QUEUE, "orders", {"name": "orders.fifo", "fifoQueue": True})
    other = res(rules.QUEUE, "other", {"name": "other.fifo", "fifoQueue": True, "contentBasedDeduplication": True})
    send = res(rules.REST_INTEGRATION, "i", {"uri": FIFO_URI, "requestTemplates": {"a": "MessageGroupId=g"}})
    # THEN the send without a dedup id is judged by its own queue
    assert messages("api-fifo-target-grouped", other, target, send) == [
        "sends to FIFO queue orders.fifo without a MessageDeduplicationId and the queue has no content-based "
        "deduplication: SQS refuses every message (route dedup_id)"
    ]
    content_based = res(rules.QUEUE, "orders", {"name": "orders.fifo", "contentBasedDeduplication": True})
    assert messages("api-fifo-target-grouped", content_based, send) == []


@pytest.mark.parametrize(("issued", "flagged"), [(150, False), (150.5, True), ("150", False)])
def test_a_starter_is_flagged_only_above_the_quota(issued: Any, flagged: bool) -> None:
    workflow = res(rules.ASYNC_JOB_WORKFLOW, "jobs")
    outputs = {workflow.urn: {"start_path": {"starts_per_s": issued, "start_quota_per_s": 150}}}
    assert bool(messages("jobs-start-within-quota", workflow, outputs=outputs)) is flagged


@pytest.mark.parametrize(
    ("attempts", "found"), [(10, []), (11, ["webhook deliveries are tried 11 times, above 10: bound the retries"])]
)
def test_webhook_deliveries_may_be_tried_up_to_ten_times(attempts: int, found: list[str]) -> None:
    q, d = "arn:aws:sqs:eu-west-1:1:hooks", "arn:aws:sqs:eu-west-1:1:hooks-dlq"
    workflow = res(rules.ASYNC_JOB_WORKFLOW, "jobs")
    redrive = json.dumps({"deadLetterTargetArn": d, "maxReceiveCount": attempts})
    queue = out(rules.QUEUE, "hooks", {"redrivePolicy": redrive}, {"arn": q, "name": "hooks"})
    dlq = out(rules.QUEUE, "hooks-dlq", {}, {"arn": d, "name": "hooks-dlq"})
    alarm = res(rules.ALARM, "a", {"dimensions": {"QueueName": "hooks-dlq"}})
    outputs = {workflow.urn: {"webhooks": {"queue_arn": q}}}
    assert messages("jobs-webhook-delivery-bounded", workflow, queue, dlq, alarm, outputs=outputs) == found


def test_a_webhook_queue_without_a_dlq_says_so() -> None:
    workflow = res(rules.ASYNC_JOB_WORKFLOW, "jobs")
    queue = out(rules.QUEUE, "hooks", {}, {"arn": "arn:aws:sqs:eu-west-1:1:hooks", "name": "hooks"})
    outputs = {workflow.urn: {"webhooks": {"queue_arn": "arn:aws:sqs:eu-west-1:1:hooks"}}}
    assert messages("jobs-webhook-delivery-bounded", workflow, queue, outputs=outputs) == [
        "the webhook queue has no DLQ: a delivery that keeps failing is retried until it expires, unseen"
    ]


def test_a_state_machine_whose_definition_is_not_json_says_so() -> None:
    machine = res(rules.STATE_MACHINE, "m", {"definition": "{"})
    assert messages("sfn-execution-timeout", machine) == ["the definition is not JSON"]


@pytest.mark.parametrize(
    ("integration", "found"),
    [
        # REST: the queue is the URI's last segment; the ids are in the request template
        (
            res(rules.REST_INTEGRATION, "i", {"uri": FIFO_URI, "requestTemplates": {"application/json": "Action=x"}}),
            [
                "sends to FIFO queue orders.fifo without a MessageGroupId: SQS refuses every message (route group_id)",
                "sends to FIFO queue orders.fifo without a MessageDeduplicationId and the queue has no content-based "
                "deduplication: SQS refuses every message (route dedup_id)",
            ],
        ),
        (
            res(
                rules.REST_INTEGRATION,
                "i",
                {"uri": FIFO_URI, "requestTemplates": {"a": "MessageGroupId=g&MessageDeduplicationId=d"}},
            ),
            [],
        ),
        # HTTP: the queue URL and the ids are request parameters of the SQS-SendMessage subtype
        (
            res(
                rules.HTTP_INTEGRATION,
                "i",
                {
                    "integrationSubtype": "SQS-SendMessage",
                    "requestParameters": {"QueueUrl": "https://sqs/1/orders.fifo", "MessageGroupId": "g"},
                },
            ),
            [
                "sends to FIFO queue orders.fifo without a MessageDeduplicationId and the queue has no content-based "
                "deduplication: SQS refuses every message (route dedup_id)"
            ],
        ),
        (
            res(
                rules.HTTP_INTEGRATION,
                "i",
                {
                    "integrationSubtype": "SQS-SendMessage",
                    "requestParameters": {
                        "QueueUrl": "https://sqs/1/orders.fifo",
                        "MessageGroupId": "g",
                        "MessageDeduplicationId": "d",
                    },
                },
            ),
            [],
        ),
        (
            res(
                rules.HTTP_INTEGRATION,
                "i",
                {"integrationSubtype": "SQS-ReceiveMessage", "requestParameters": {"QueueUrl": "https://sqs/1/o.fifo"}},
            ),
            [],
        ),
    ],
)
def test_a_fifo_target_is_read_from_either_flavour(integration: CapturedResource, found: list[str]) -> None:
    assert messages("api-fifo-target-grouped", integration) == found


# --- operations -------------------------------------------------------------------------------------
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


ROLE_ARN = "arn:aws:iam::1:role/probe"


def _canary_role(*more: CapturedResource) -> list[str]:
    role = out("aws:iam/role:Role", "probe-role", {}, {"arn": ROLE_ARN, "id": "rid", "name": "rname"})
    canary = res(rules.CANARY, "probe", {"executionRoleArn": ROLE_ARN})
    return messages("canary-role-scoped", role, canary, *more)


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


# --- API Gateway ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "found"),
    [
        ({"throttlingRateLimit": 1, "throttlingBurstLimit": 1}, []),
        ({"throttlingRateLimit": 0, "throttlingBurstLimit": 1}, ["x"]),
        ({"throttlingRateLimit": 1, "throttlingBurstLimit": 0}, ["x"]),
    ],
)
def test_a_throttle_needs_rate_and_burst_of_at_least_one(settings: dict[str, int], found: list[str]) -> None:
    stage = res(rules.HTTP_STAGE, "s", {"defaultRouteSettings": settings})
    expected = ["default route settings lack a rate and burst: AWS throttles such a stage to 0"] if found else []
    assert messages("api-stage-throttled", stage) == expected


def test_a_rest_stage_is_throttled_only_by_its_own_stage_wide_settings() -> None:
    stage = res(rules.REST_STAGE, "s", {"restApi": "a", "stageName": "live"})
    throttle = {"throttlingRateLimit": 5, "throttlingBurstLimit": 5}
    own = res(
        rules.METHOD_SETTINGS, "m", {"restApi": "a", "stageName": "live", "methodPath": "*/*", "settings": throttle}
    )
    other_api = res(
        rules.METHOD_SETTINGS, "m2", {"restApi": "b", "stageName": "live", "methodPath": "*/*", "settings": throttle}
    )
    other_stage = res(
        rules.METHOD_SETTINGS, "m3", {"restApi": "a", "stageName": "dev", "methodPath": "*/*", "settings": throttle}
    )
    one_path = res(
        rules.METHOD_SETTINGS,
        "m4",
        {"restApi": "a", "stageName": "live", "methodPath": "~1x/GET", "settings": throttle},
    )
    missing = ["stage live has no '*/*' method settings with a throttle: only the account limit applies"]
    assert messages("api-stage-throttled", stage, own) == []
    for wrong in (other_api, other_stage, one_path):
        assert messages("api-stage-throttled", stage, wrong) == missing, wrong.name


def test_method_settings_without_a_throttle_are_named() -> None:
    m = res(rules.METHOD_SETTINGS, "m", {"methodPath": "~1x/GET", "settings": {"throttlingRateLimit": 5}})
    assert messages("api-stage-throttled", m) == ["method settings ~1x/GET lack a non-zero rate and burst"]


def test_access_logs_need_a_destination_and_a_format() -> None:
    assert (
        messages(
            "api-access-logs",
            res(rules.HTTP_STAGE, "s", {"accessLogSettings": {"destinationArn": "arn", "format": "{}"}}),
        )
        == []
    )
    assert (
        len(messages("api-access-logs", res(rules.REST_STAGE, "s", {"accessLogSettings": {"destinationArn": "arn"}})))
        == 1
    )


def _integration(rest: bool, timeout_ms: int | None, fn_timeout: int | None, **extra: Any) -> list[str]:
    arn = "arn:aws:lambda:eu-west-1:1:function:f"
    inputs: dict[str, Any] = {
        "type" if rest else "integrationType": "AWS_PROXY",
        "uri" if rest else "integrationUri": f"{arn}/invocations",
        **extra,
    }
    if timeout_ms is not None:
        inputs["timeoutMilliseconds"] = timeout_ms
    fn = function() if fn_timeout is None else function(timeout=fn_timeout)
    return messages(
        "api-timeout-chain", res(rules.REST_INTEGRATION if rest else rules.HTTP_INTEGRATION, "i", inputs), fn
    )


@pytest.mark.parametrize(("rest", "ceiling"), [(True, 29_000), (False, 30_000)])
def test_the_integration_timeout_may_reach_the_gateway_limit_but_not_pass_it(rest: bool, ceiling: int) -> None:
    assert _integration(rest, ceiling, 5) == []
    kind = "REST" if rest else "HTTP"
    assert _integration(rest, ceiling + 1, 5) == [
        f"integration timeout {ceiling + 1} ms is above the {kind} limit of {ceiling} ms"
    ]


def test_the_function_must_end_strictly_before_the_integration() -> None:
    assert _integration(True, 10_001, 10) == []
    assert _integration(True, 10_000, 10) == [
        "function f may run 10 s, not less than the 10000 ms integration timeout: the gateway gives up while the "
        "function still works"
    ]


def test_without_explicit_timeouts_the_gateway_limit_and_3_s_apply() -> None:
    assert _integration(True, None, None) == []
    assert _integration(True, 3_000, None) == [
        "function f may run 3 s, not less than the 3000 ms integration timeout: the gateway gives up while the "
        "function still works"
    ]


def test_only_synchronous_lambda_proxies_are_in_the_timeout_chain() -> None:
    assert _integration(False, 60_000, 100, integrationSubtype="SQS-SendMessage") == []
    mock = res(rules.REST_INTEGRATION, "i", {"type": "MOCK", "timeoutMilliseconds": 60_000})
    assert messages("api-timeout-chain", mock) == []


def test_a_function_is_found_behind_an_alias_arn() -> None:
    arn = "arn:aws:lambda:eu-west-1:1:function:f"
    for uri in (f"{arn}:live/invocations", arn):
        integration = res(rules.REST_INTEGRATION, "i", {"type": "AWS_PROXY", "uri": uri, "timeoutMilliseconds": 5000})
        assert len(messages("api-timeout-chain", integration, function(timeout=5))) == 1, uri


@pytest.mark.parametrize(
    ("principal", "source", "found"),
    [
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:abc/live/GET/orders", False),
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:abc/live/GET", True),
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:*/live/GET/orders", True),
        ("apigateway.amazonaws.com", "arn:aws:execute-api:eu-west-1:1:/live/GET/orders", True),
        ("sns.amazonaws.com", "", False),
    ],
)
def test_an_api_permission_names_api_stage_method_and_path(principal: str, source: str, found: bool) -> None:
    permission = res(rules.PERMISSION, "p", {"principal": principal, "sourceArn": source})
    assert len(messages("lambda-permission-scoped", permission)) == int(found)


@pytest.mark.parametrize(("needed", "found"), [(10, 0), (11, 1)])
def test_capacity_equal_to_the_reservation_is_enough(needed: int, found: int) -> None:
    api = res(rules.THROTTLED_API, "api")
    route = {
        "route": "GET /x",
        "rate": 100,
        "expected_latency_ms": 100,
        "concurrency_needed": needed,
        "concurrency_limit": 10,
    }
    assert len(messages("api-capacity", api, outputs={api.urn: {"routes": [route]}})) == found


def test_capacity_of_an_unreserved_function_is_not_judged() -> None:
    api = res(rules.THROTTLED_API, "api")
    route = {
        "route": "GET /x",
        "rate": 100,
        "expected_latency_ms": 100,
        "concurrency_needed": 99,
        "concurrency_limit": None,
    }
    assert messages("api-capacity", api, outputs={api.urn: {"routes": [route]}}) == []


# --- the catalogue ----------------------------------------------------------------------------------
CATALOGUE = {
    "lambda-explicit-timeout": ("error", "Every function sets its timeout (the 3 s AWS default is never a decision)"),
    "lambda-bounded-concurrency": (
        "error",
        "Every function has reserved concurrency, or is fed by a queue mapping with maximum concurrency or pollers",
    ),
    "lambda-tracing-active": ("warning", "X-Ray active tracing is on"),
    "lambda-json-logs-with-retention": (
        "error",
        "Logs are JSON and go to a log group of this stack that has a retention",
    ),
    "log-group-retention": ("error", "Every log group has a retention period"),
    "async-invoke-bounded": (
        "error",
        "Async invocations have bounded retries and event age and an on-failure destination",
    ),
    "provisioned-within-reserved": (
        "error",
        "Provisioned concurrency does not exceed the function's reserved concurrency",
    ),
    "iam-no-wildcards": (
        "error",
        "No wildcard action, resource or principal, no NotAction, no broad managed policy, no open Function URL",
    ),
    "sqs-dead-letter": ("error", "Every queue has a DLQ, or is itself a dead-letter target"),
    "sqs-encrypted": ("warning", "Queues are encrypted at rest"),
    "alarm-has-actions": ("warning", "Alarms notify someone"),
    "tags-required": ("warning", "Taggable resources carry environment, component, managed-by"),
    "api-stage-throttled": ("error", "Every API stage and route has a non-zero throttle (rate and burst)"),
    "api-access-logs": ("error", "Every API stage writes access logs"),
    "api-timeout-chain": (
        "error",
        "A synchronous Lambda integration outlasts its function and stays within the gateway's limit",
    ),
    "lambda-permission-scoped": (
        "error",
        "API Gateway may invoke a function only from one API, stage, method and path",
    ),
    "api-capacity": ("warning", "A route admits no more than its function can serve (Little's law: rate x latency)"),
    "sqs-visibility-covers-consumer": (
        "error",
        "A queue's visibility timeout is at least 6x its consumer's timeout plus the batching window",
    ),
    "sqs-mapping-isolated": (
        "error",
        "An SQS consumer reports partial batch failures and has its own maximum concurrency (or pollers)",
    ),
    "sqs-dlq-outlives-source": ("error", "A dead-letter queue keeps messages longer than its source"),
    "websocket-throttled": (
        "error",
        "A WebSocket stage throttles every route by name, and $connect within the account's 500 connections/s",
    ),
    "manage-connections-scoped": (
        "error",
        "execute-api:ManageConnections names one API, stage and method on @connections",
    ),
    "api-account-role": (
        "warning",
        "A logging REST API's stack manages the region's API Gateway role, or says another stack does",
    ),
    "api-method-path-escaped": (
        "error",
        "A REST method setting names its method with every / of the resource path written ~1",
    ),
    "api-fifo-target-grouped": (
        "error",
        "An API sending to a FIFO queue sends a message group id (and a dedup id unless content-based)",
    ),
    "api-write-route-guarded": (
        "warning",
        "A write route has authorization or a per-client limit (API key usage plan, WAF rate per IP)",
    ),
    "api-queue-route-tenant": (
        "warning",
        "A queue route whose API tells callers apart (auth or usage plans) sends a tenant on standard queues",
    ),
    "alarm-to-ops-topic": ("error", "Where the stack has an ops topic, every alarm (metric or composite) notifies it"),
    "canary-retention": (
        "error",
        "A canary keeps run data for a bounded time, and its artifacts bucket expires them and blocks public access",
    ),
    "canary-role-scoped": ("error", "A canary's role is this stack's, with inline scoped permissions"),
    "insight-rule-retention": (
        "error",
        "A Contributor Insights rule reads only this stack's log groups, each with a retention period",
    ),
    "sfn-execution-timeout": ("error", "A state machine bounds each execution (TimeoutSeconds)"),
    "sfn-task-timeout": ("error", "Every Task state has TimeoutSeconds"),
    "sfn-task-retry": ("error", "Every Task state retries with backoff, full jitter and a maximum delay"),
    "sfn-task-catch": ("error", "Every Task state catches its errors into a state that records them"),
    "sfn-callback-heartbeat": (
        "error",
        "A task that waits for a task token has HeartbeatSeconds below its TimeoutSeconds",
    ),
    "jobs-start-within-quota": (
        "warning",
        "A job workflow's starter issues no more StartExecution calls than the account's quota refills",
    ),
    "jobs-webhook-delivery-bounded": (
        "error",
        "Webhook deliveries retry a bounded number of times, then land in a DLQ that raises an alarm",
    ),
    "runtime-supported": (
        "error",
        "A function's or canary's runtime is not past its deprecation date (AWS refuses to create on it)",
    ),
    "sfn-express-request-response": (
        "error",
        "An Express state machine uses only Request Response integrations (no .sync, no .waitForTaskToken)",
    ),
    "sqs-redrive-retries": (
        "error",
        "A redrive policy lets a message be received at least 2 times before it is dead-lettered",
    ),
    "eventbridge-target-dead-letter": (
        "error",
        "An EventBridge target has a retry policy and a dead-letter queue",
    ),
    "stream-mapping-bounded": (
        "error",
        "A DynamoDB or Kinesis stream mapping bounds its retries, splits a failing batch and keeps what fails",
    ),
    "sfn-role-can-call-its-tasks": (
        "error",
        "A state machine's role may call every Lambda function, queue, topic and table its tasks name",
    ),
}


def test_the_catalogue_names_every_rule() -> None:
    assert sorted(CATALOGUE) == sorted(rules.RULES)


@pytest.mark.parametrize("rule_id", sorted(CATALOGUE))
def test_each_rule_keeps_its_severity_and_description(rule_id: str) -> None:
    # The plan's exit code follows the severity, and ``resilient-serverless rules`` prints both.
    r = rules.RULES[rule_id]
    assert (r.severity, r.description) == CATALOGUE[rule_id]


def test_a_waiver_is_recorded_and_cleared() -> None:
    rules.clear_waivers()
    rules.waive("sqs-encrypted", "  test queue  ")
    assert rules.waivers() == {"sqs-encrypted": "test queue"}
    graph = Graph([queue("q")])
    assert [(f.rule, f.waived) for f in rules.check(graph) if f.rule == "sqs-encrypted"] == [
        ("sqs-encrypted", "test queue")
    ]
    rules.clear_waivers()
    assert rules.waivers() == {}


def test_a_finding_serialises_every_field() -> None:
    finding = rules.Finding("r", "error", "urn", "t", "n", "m")
    assert finding.to_dict() == {
        "rule": "r",
        "severity": "error",
        "urn": "urn",
        "type": "t",
        "name": "n",
        "message": "m",
        "waived": None,
    }


def test_registering_a_rule_id_twice_is_refused_with_the_id() -> None:
    with pytest.raises(ValueError) as raised:
        rules.rule("sqs-encrypted", "error", (), "dup")(lambda r, g: [])
    assert str(raised.value) == "rule 'sqs-encrypted' is registered twice"
    assert rules.RULES["sqs-encrypted"].description == "Queues are encrypted at rest"


def test_waiving_an_unknown_rule_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as raised:
        rules.waive("nope", "x")
    assert raised.value.args[0] == f"unknown rule 'nope'; known rules: {', '.join(sorted(rules.RULES))}"
    assert rules.waivers() == {}


def test_waiving_without_a_reason_is_refused() -> None:
    with pytest.raises(ValueError) as raised:
        rules.waive("sqs-encrypted", " \t")
    assert str(raised.value) == "waiving 'sqs-encrypted' needs a reason"
    assert rules.waivers() == {}


def test_findings_and_rules_are_values_that_cannot_be_changed() -> None:
    finding = rules.Finding("r", "error", "urn", "t", "n", "m")
    with pytest.raises(AttributeError):
        finding.message = "other"
    with pytest.raises(AttributeError):
        rules.RULES["sqs-encrypted"].severity = "error"
    assert finding.waived is None


def test_tags_are_required_on_resources_of_modules_named_with_an_underscore() -> None:
    # pulumi_aws.lambda_ (``lambda`` is a keyword): the rule must find the class there too
    assert messages("tags-required", function()) == ["missing tags: environment, component, managed-by"]
    assert messages("tags-required", function(tags=TAGS)) == []


def test_provider_resources_need_no_tags() -> None:
    provider = res("pulumi:providers:aws", "default")
    assert provider.custom
    assert messages("tags-required", provider) == []


def test_a_mapping_names_the_function_by_its_physical_name() -> None:
    fn = out(rules.FUNCTION, "f", {}, {"name": "shop-dev-f", "arn": "arn:aws:lambda:eu-west-1:1:function:shop-dev-f"})
    mapping = res(rules.MAPPING, "m", {"functionName": "shop-dev-f", "scalingConfig": {"maximumConcurrency": 2}})
    assert messages("lambda-bounded-concurrency", fn, mapping) == []


def test_a_provisioned_config_without_a_count_asks_for_none() -> None:
    config = res(rules.PROVISIONED, "pc", {"functionName": "f"})
    assert messages("provisioned-within-reserved", function(reservedConcurrentExecutions=0), config) == []


def test_the_source_retention_is_read_from_the_source() -> None:
    dlq = queue("dlq", messageRetentionSeconds=120)
    source = queue(
        "q",
        messageRetentionSeconds=60,
        redrivePolicy=json.dumps({"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:dlq"}),
    )
    assert messages("sqs-dlq-outlives-source", dlq, source) == []


def test_the_capacity_finding_shows_the_arithmetic() -> None:
    api = res(rules.THROTTLED_API, "api")
    route = {
        "route": "GET /x",
        "rate": 200,
        "expected_latency_ms": 100,
        "concurrency_needed": 20,
        "concurrency_limit": 10,
    }
    assert messages("api-capacity", api, outputs={api.urn: {"routes": [route]}}) == [
        "GET /x: 200 rps x 100 ms needs 20 concurrent executions, the function reserves 10: excess is throttled by "
        "Lambda, not shed at the edge"
    ]


def test_the_visibility_finding_names_the_default_timeout() -> None:
    q = queue("q", visibilityTimeoutSeconds=17)
    mapping = res(rules.MAPPING, "m", {"eventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "functionName": "f"})
    assert messages("sqs-visibility-covers-consumer", q, function(), mapping) == [
        "queue q hides a received batch for 17 s, below the 18 s its consumer f may need (6 x 3 s + window): "
        "work is delivered twice"
    ]


def test_the_type_tokens_the_rules_read_are_pulumi_aws_tokens() -> None:
    assert (rules.FUNCTION, rules.LOG_GROUP, rules.QUEUE, rules.MAPPING, rules.ALARM) == (
        "aws:lambda/function:Function",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:sqs/queue:Queue",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    )
    assert (rules.REST_STAGE, rules.HTTP_STAGE, rules.METHOD_SETTINGS) == (
        "aws:apigateway/stage:Stage",
        "aws:apigatewayv2/stage:Stage",
        "aws:apigateway/methodSettings:MethodSettings",
    )
    assert (rules.REST_INTEGRATION, rules.HTTP_INTEGRATION, rules.PERMISSION, rules.THROTTLED_API) == (
        "aws:apigateway/integration:Integration",
        "aws:apigatewayv2/integration:Integration",
        "aws:lambda/permission:Permission",
        "resilient-serverless:index:ThrottledApi",
    )


@pytest.mark.parametrize(
    ("type_", "field"),
    [
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "destinationConfig"),
        ("aws:sns/topicSubscription:TopicSubscription", "redrivePolicy"),
        ("aws:sqs/queue:Queue", "redrivePolicy"),
    ],
)
def test_each_place_that_names_a_dead_letter_queue_is_read(type_: str, field: str) -> None:
    dlq = queue("dlq")
    user = out(type_, "u", {field: {"target": "arn:aws:sqs:eu-west-1:1:dlq"}}, {"arn": "arn:other"})
    assert rules.is_dead_letter_target(dlq, Graph([dlq, user]))


def test_an_http_route_with_both_throttle_values_is_quiet() -> None:
    throttle = {"throttlingRateLimit": 5, "throttlingBurstLimit": 5}
    stage = res(
        rules.HTTP_STAGE, "s", {"defaultRouteSettings": throttle, "routeSettings": [{"routeKey": "GET /x", **throttle}]}
    )
    assert messages("api-stage-throttled", stage) == []


def test_the_default_function_timeout_is_3_s_to_the_millisecond() -> None:
    assert _integration(True, 3_001, None) == []
