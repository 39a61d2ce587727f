"""Operations beyond the dashboard: saved queries, Contributor Insights rules, the Synthetics
canary and composite alarms; their rules; and what differs between the four stacks."""

from __future__ import annotations

import ast
import http.server
import json
import re
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import ConfigError, Operations, rules
from resilient_serverless.components.operations.canary import CANARY_SCRIPT, schedule_expression
from resilient_serverless.components.testing import Graph, run_program, run_stack
from resilient_serverless.components.testing.operations import (
    emf_metric_names,
    insight_rule_problems,
    query_fields,
    query_problems,
)

from tests.conftest import ROOT

HANDLERS_DIR = ROOT / "handlers"  # the handlers' sources, read for the metric and log names they write
APP_HANDLERS_DIR = ROOT / "app" / "handlers"  # the reference application publishes the rest
# Keys Powertools' Logger writes on every line (with inject_lambda_context), per its docs.
POWERTOOLS_FIELDS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "sampling_rate",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
}


def _consumer_log_keys() -> set[str]:
    """Keys the priority consumer adds to its log lines (the dicts passed to ``self.log``)."""
    tree = ast.parse((HANDLERS_DIR / "resilience" / "priority.py").read_text())
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "log":
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    keys |= {str(k.value) for k in arg.keys if isinstance(k, ast.Constant)}
    return keys


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    return {s: run_stack(s, ROOT) for s in ("dev", "staging", "prod", "local")}


def _access_fields(graph: Graph) -> set[str]:
    stages = graph.of_type("aws:apigateway/stage:Stage") + graph.of_type("aws:apigatewayv2/stage:Stage")
    return {k for s in stages for k in json.loads(s.inputs["accessLogSettings"]["format"])}


# --- saved queries ---------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "local"])
def test_saved_queries_parse_and_read_fields_our_logs_have(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    known = (
        _access_fields(graph)
        | POWERTOOLS_FIELDS
        | _consumer_log_keys()
        | (emf_metric_names(HANDLERS_DIR) | emf_metric_names(APP_HANDLERS_DIR))
    )
    log_groups = {g.outputs["name"] for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    queries = graph.of_type("aws:cloudwatch/queryDefinition:QueryDefinition")
    assert sorted(q.name for q in queries) == [
        "ops-query-cold-starts",
        "ops-query-deferrals-and-ttl-drops",
        "ops-query-errors-by-route",
        "ops-query-errors-by-service",
        "ops-query-poison-messages",
        "ops-query-slow-invocations-with-traces",
        "ops-query-slowest-requests",
    ]
    for q in queries:
        assert query_problems(q.inputs["queryString"], known) == [], q.urn
        assert set(q.inputs["logGroupNames"]) <= log_groups, q.urn
        assert q.inputs["name"].startswith(f"resilient-serverless-{stack}/"), q.urn


def test_access_log_queries_read_only_access_logs(graphs: dict[str, Graph]) -> None:
    graph = graphs["prod"]
    access = graph.one("aws:cloudwatch/logGroup:LogGroup", "orders-access-logs").outputs["name"]
    slowest = graph.one("aws:cloudwatch/queryDefinition:QueryDefinition", "ops-query-slowest-requests")
    assert slowest.inputs["logGroupNames"] == [access]
    poison = graph.one("aws:cloudwatch/queryDefinition:QueryDefinition", "ops-query-poison-messages")
    assert poison.inputs["logGroupNames"] == [
        "/aws/lambda/resilient-serverless-prod-orders-inbox-high-consumer",
        "/aws/lambda/resilient-serverless-prod-orders-inbox-low-consumer",
        # the reports workflow's queue consumers: its starter and its webhook dispatcher
        "/aws/lambda/resilient-serverless-prod-reports-starter",
        "/aws/lambda/resilient-serverless-prod-reports-dispatcher",
    ]


def test_the_query_check_fires_on_a_broken_query() -> None:
    assert query_problems("fields route | filter (status like /^5/ | stats count(*) by rout", {"route", "status"}) == [
        "unclosed '('",
        "fields no log line has: ['rout']",
    ]
    assert query_problems('fields route | | filter status = "5', {"route", "status"}) == [
        "unbalanced double quote",
        "empty pipeline stage",
    ]


def test_query_fields_skip_keywords_literals_and_defined_names() -> None:
    query = 'fields @timestamp, latencyMs * 1 as ms | filter message = "a b" and route like /x y/ | sort ms desc'
    assert query_fields(query) == {"latencyMs", "message", "route"}


# --- Contributor Insights -----------------------------------------------------------------------------
@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_insight_rules_follow_the_documented_schema(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    log_groups = {g.outputs["name"] for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    found = graph.of_type("aws:cloudwatch/contributorInsightRule:ContributorInsightRule")
    assert sorted(r.inputs["ruleName"] for r in found) == [
        f"resilient-serverless-{stack}-{n}"
        for n in ("top-clients", "top-clients-4xx", "top-consumer-losses", "top-ips", "top-ips-5xx")
    ]
    fields = _access_fields(graph) | POWERTOOLS_FIELDS | _consumer_log_keys()
    for r in found:
        assert r.inputs["ruleState"] == "ENABLED", r.urn
        assert insight_rule_problems(r.inputs["ruleDefinition"], log_groups) == [], r.urn
        body = json.loads(r.inputs["ruleDefinition"])
        used = body["Contribution"]["Keys"] + [f["Match"] for f in body["Contribution"].get("Filters", [])]
        assert {k.removeprefix("$.") for k in used} <= fields, r.urn


def test_the_insight_rule_check_fires_on_a_bad_body() -> None:
    body = json.dumps(
        {
            "Schema": {"Name": "CloudWatchLogRule", "Version": 2},
            "LogGroupNames": ["/elsewhere"],
            "LogFormat": "JSON",
            "Contribution": {"Keys": ["a", "b", "c", "d", "e"], "Filters": [{"Match": "$.x", "Like": "y"}]},
            "AggregateOn": "Count",
        }
    )
    assert insight_rule_problems(body, ["/mine"]) == [
        "Schema={'Name': 'CloudWatchLogRule', 'Version': 2}",
        "Keys=['a', 'b', 'c', 'd', 'e']: 1 to 4 keys",
        "filter {'Match': '$.x', 'Like': 'y'}: a Match and one of ['EqualTo', 'GreaterThan', 'In', 'IsPresent', "
        "'LessThan', 'NotEqualTo', 'NotIn', 'StartsWith']",
        "LogGroupNames ['/elsewhere'] are not log groups of the stack",
    ]
    assert insight_rule_problems("{", []) == [
        "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    ]


# --- the canary --------------------------------------------------------------------------------------
def test_prod_canary_checks_the_read_route_and_a_job_round_trip(graphs: dict[str, Graph]) -> None:
    graph = graphs["prod"]
    canary = graph.one("aws:synthetics/canary:Canary")
    assert canary.inputs["schedule"] == {"expression": "rate(5 minutes)"}
    assert canary.inputs["runtimeVersion"] == "syn-python-selenium-12.0"
    assert canary.inputs["handler"] == "canary.handler"
    assert (canary.inputs["successRetentionPeriod"], canary.inputs["failureRetentionPeriod"]) == (31, 31)
    assert canary.inputs["runConfig"]["timeoutInSeconds"] == 60  # Default: 60 s
    assert canary.inputs["runConfig"]["environmentVariables"]["ROUND_TRIP_S"] == "30"  # Default: 30 s
    assert (canary.inputs["startCanary"], canary.inputs["deleteLambda"]) == (True, True)
    env = canary.inputs["runConfig"]["environmentVariables"]
    assert env["API_URL"] == graph.exports["api_url"]
    assert (env["READ_PATH"], env["WRITE_PATH"], env["ID_FIELD"]) == ("/orders/{id}", "/orders", "order_id")
    assert json.loads(env["WRITE_BODY"]) == {"items": [{"sku": "CANARY", "qty": 1}]}
    bucket = graph.one("aws:s3/bucket:Bucket", "ops-canary-artifacts")
    assert canary.inputs["artifactS3Location"] == f"s3://{bucket.outputs['bucket']}/artifacts/"
    script = graph.one("aws:s3/bucketObjectv2:BucketObjectv2", "ops-canary-script")
    assert (canary.inputs["s3Bucket"], canary.inputs["s3Key"]) == (script.inputs["bucket"], "code/canary.zip")


def test_the_canary_waits_for_its_role_policy_and_the_bucket_guard(graphs: dict[str, Graph]) -> None:
    # Its first run writes artifacts and logs at once: policy and public access block exist first.
    graph = graphs["prod"]
    canary = graph.one("aws:synthetics/canary:Canary")
    policy = graph.one("aws:iam/rolePolicy:RolePolicy", "ops-canary-policy")
    block = graph.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "ops-canary-artifacts-public-access")
    assert {policy.urn, block.urn} <= set(canary.dependencies)
    script = graph.one("aws:s3/bucketObjectv2:BucketObjectv2", "ops-canary-script")
    assert block.urn in script.dependencies


def test_the_canary_role_can_write_only_its_artifacts_logs_and_metrics(graphs: dict[str, Graph]) -> None:
    graph = graphs["prod"]
    doc = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "ops-canary-policy").inputs["policy"])
    bucket = graph.one("aws:s3/bucket:Bucket", "ops-canary-artifacts").outputs["arn"]
    by_action = {tuple(s["Action"]): s for s in doc["Statement"]}
    assert by_action[("s3:PutObject",)]["Resource"] == [f"{bucket}/artifacts/*"]
    logs = by_action[("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")]["Resource"]
    name = graph.one("aws:synthetics/canary:Canary").inputs["name"]
    assert logs[0] == f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/cwsyn-{name}-*"
    metrics = by_action[("cloudwatch:PutMetricData",)]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}}


def test_the_prod_canary_signs_its_calls_and_may_invoke_just_the_two_routes(graphs: dict[str, Graph]) -> None:
    # GIVEN prod's routes take IAM auth (apiAuth: iam) THEN an unsigned canary would get 403 and
    # page for nothing: it signs (SIGN_REQUESTS) and its role may invoke exactly its two routes
    graph = graphs["prod"]
    env = graph.one("aws:synthetics/canary:Canary").inputs["runConfig"]["environmentVariables"]
    assert env["SIGN_REQUESTS"] == "1"
    doc = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "ops-canary-policy").inputs["policy"])
    [invoke] = [s for s in doc["Statement"] if s["Action"] == ["execute-api:Invoke"]]
    api = graph.one("aws:apigateway/restApi:RestApi")
    base = f"{api.outputs['executionArn']}/live"
    assert invoke["Resource"] == [f"{base}/GET/orders/*", f"{base}/POST/orders"]


def test_the_canary_alarm_pages_the_ops_topic_and_treats_silence_as_failure(graphs: dict[str, Graph]) -> None:
    graph = graphs["prod"]
    alarm = graph.one("aws:cloudwatch/metricAlarm:MetricAlarm", "ops-alarm-canary")
    topic = graph.exports["ops_topic_arn"]
    assert alarm.inputs["alarmActions"] == [topic]
    assert (alarm.inputs["metricName"], alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == (
        "SuccessPercent",
        "LessThanThreshold",
        90,
    )
    assert alarm.inputs["treatMissingData"] == "breaching"
    assert alarm.inputs["period"] == 300


def test_the_bucket_expires_artifacts_only(graphs: dict[str, Graph]) -> None:
    graph = graphs["prod"]
    (rule,) = graph.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "ops-canary-artifacts-expiry"
    ).inputs["rules"]
    assert rule == {
        "id": "expire-artifacts",
        "status": "Enabled",
        "filter": {"prefix": "artifacts/"},
        "expiration": {"days": 31},
    }


@pytest.fixture
def fake_api() -> Iterator[tuple[str, list[str]]]:
    """An orders API: 404 for unknown ids, 202 on POST, then 200 for the posted id."""
    stored: set[str] = set()
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"GET {self.path}")
            self.send_response(200 if self.path.rsplit("/", 1)[-1] in stored else 404)
            self.end_headers()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            seen.append(f"POST {self.path} {sorted(body)}")
            stored.add(body["order_id"])
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_the_canary_script_makes_the_round_trip(
    fake_api: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the script with the Synthetics logger faked and the prod variables WHEN it runs THEN
    # it reads, submits a job and polls the read route until the job is there
    url, seen = fake_api
    common = types.ModuleType("aws_synthetics.common")
    common.synthetics_logger = types.SimpleNamespace(info=lambda *_: None)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aws_synthetics", types.ModuleType("aws_synthetics"))
    monkeypatch.setitem(sys.modules, "aws_synthetics.common", common)
    env = {
        "API_URL": url,
        "READ_PATH": "/orders/{id}",
        "WRITE_PATH": "/orders",
        "WRITE_BODY": '{"items": [{"sku": "CANARY", "qty": 1}]}',
        "ID_FIELD": "order_id",
        "ROUND_TRIP_S": "5",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    namespace: dict[str, Any] = {}
    exec(compile(CANARY_SCRIPT, "canary.py", "exec"), namespace)
    assert namespace["handler"]({}, None) == "round trip ok"
    assert seen[0] == "GET /orders/canary-missing"
    assert seen[1] == "POST /orders ['items', 'order_id']"
    assert re.fullmatch(r"GET /orders/canary-[0-9a-f]{12}", seen[2])


def test_the_canary_script_signs_its_requests_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN SIGN_REQUESTS=1 and the role's credentials WHEN the script calls a route THEN the request
    # carries a SigV4 signature for execute-api in the region (what an IAM-auth route requires)
    headers: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers.append(dict(self.headers.items()))
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    common = types.ModuleType("aws_synthetics.common")
    common.synthetics_logger = types.SimpleNamespace(info=lambda *_: None)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aws_synthetics", types.ModuleType("aws_synthetics"))
    monkeypatch.setitem(sys.modules, "aws_synthetics.common", common)
    for key, value in {
        "API_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "READ_PATH": "/orders/{id}",
        "SIGN_REQUESTS": "1",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }.items():
        monkeypatch.setenv(key, value)
    namespace: dict[str, Any] = {}
    exec(compile(CANARY_SCRIPT, "canary.py", "exec"), namespace)
    try:
        assert namespace["handler"]({}, None) == "read ok"
    finally:
        server.shutdown()
    [sent] = headers
    assert sent["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in sent["Authorization"]


def test_the_canary_script_fails_when_the_read_route_is_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    common = types.ModuleType("aws_synthetics.common")
    common.synthetics_logger = types.SimpleNamespace(info=lambda *_: None)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aws_synthetics", types.ModuleType("aws_synthetics"))
    monkeypatch.setitem(sys.modules, "aws_synthetics.common", common)
    monkeypatch.setenv("READ_PATH", "/orders/{id}")
    namespace: dict[str, Any] = {}
    exec(compile(CANARY_SCRIPT, "canary.py", "exec"), namespace)
    namespace["call"] = lambda method, path, body=None: 429
    namespace["handler"].__globals__["call"] = namespace["call"]
    with pytest.raises(RuntimeError, match="read route answered 429"):
        namespace["handler"]({}, None)


def test_schedule_expressions_are_what_synthetics_accepts() -> None:
    assert [schedule_expression(m) for m in (1, 5, 60)] == ["rate(1 minute)", "rate(5 minutes)", "rate(60 minutes)"]


def test_bad_canary_settings_are_refused_with_the_key_value_and_range() -> None:
    def program() -> None:
        Operations(
            "ops",
            {
                "components": [],
                "canary": {
                    "url": "https://x",
                    "read_path": "orders",
                    "write_path": "/o",
                    "interval_minutes": 1,
                    "timeout_s": 90,
                    "retention_days": 0,
                    "invoke_arns": [],
                },
            },
        )

    with pytest.raises(ConfigError) as error:
        run_program(program)
    assert str(error.value) == (
        "Operations 'ops': canary.read_path='orders' must start with '/'; "
        "canary.read_path='orders' needs '{id}' to poll for the job of the round trip; "
        "canary.timeout_s=90 must not exceed the interval (60 s): runs would overlap; "
        "canary.retention_days=0 is outside 1 to 455 days (Synthetics retention); "
        "canary.invoke_arns=[] must be a non-empty list of execute-api ARNs (ThrottledApi.invoke_arn)"
    )


# --- composite alarms ------------------------------------------------------------------------------
def test_composite_alarms_group_user_facing_symptoms_to_the_ops_topic(graphs: dict[str, Graph]) -> None:
    graph = graphs["prod"]
    topic = graph.exports["ops_topic_arn"]
    front = graph.one("aws:cloudwatch/compositeAlarm:CompositeAlarm", "ops-symptom-front-door")
    assert front.inputs["alarmRule"] == (
        'ALARM("resilient-serverless-prod-orders-5xx-rate") OR ALARM("resilient-serverless-prod-orders-latency-p99") '
        'OR ALARM("resilient-serverless-prod-ops-canary")'
    )
    processing = graph.one("aws:cloudwatch/compositeAlarm:CompositeAlarm", "ops-symptom-processing")
    named = re.findall(r'ALARM\("([^"]+)"\)', processing.inputs["alarmRule"])
    assert named == [
        *(
            f"resilient-serverless-prod-orders-inbox-{n}"
            for n in ("low-age", "high-age", "low-dlq-depth", "high-dlq-depth")
        ),
        # the reports workflow: jobs that fail or time out are a processing symptom too
        *(
            f"resilient-serverless-prod-reports-{n}"
            for n in (
                "executions-failed",
                "executions-timed-out",
                "executions-throttled",
                "starts-age",
                "webhooks-age",
                "starts-dlq-depth",
                "webhooks-dlq-depth",
                "outcomes-dlq-depth",
            )
        ),
    ]
    for c in (front, processing):
        assert c.inputs["alarmActions"] == [topic] and c.inputs["okActions"] == [topic], c.urn
        alarms = {a.outputs["name"]: a.urn for a in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
        assert {alarms[n] for n in re.findall(r'ALARM\("([^"]+)"\)', c.inputs["alarmRule"])} <= set(c.dependencies)


# --- rules: fire on the mistake, quiet on the fix --------------------------------------------------------
def _findings(program: Any, rule_id: str) -> list[str]:
    graph = run_program(program)
    return [f.message for f in rules.check(graph) if f.rule == rule_id]


def test_an_alarm_without_the_ops_topic_is_an_error_where_a_topic_exists() -> None:
    def program(action: bool) -> None:
        topic = aws.sns.Topic("ops")
        aws.cloudwatch.MetricAlarm(
            "a",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            alarm_actions=[topic.arn] if action else [],
        )
        aws.cloudwatch.CompositeAlarm(
            "c", alarm_name="c", alarm_rule='ALARM("a")', alarm_actions=[topic.arn] if action else []
        )

    bad = _findings(lambda: program(False), "alarm-to-ops-topic")
    assert (
        bad
        == ["no alarm action to the stack's topic (arn:aws:sns:eu-west-1:123456789012:ops-" + bad[0].split("ops-")[1]]
        * 2
    )
    assert _findings(lambda: program(True), "alarm-to-ops-topic") == []
    assert (
        _findings(
            lambda: aws.cloudwatch.MetricAlarm("a", comparison_operator="x", evaluation_periods=1), "alarm-to-ops-topic"
        )
        == []
    )


def _canary(retention: bool, lifecycle: bool, block: bool, managed: bool = False) -> None:
    bucket = aws.s3.Bucket("b", bucket="bkt")
    if lifecycle:
        aws.s3.BucketLifecycleConfiguration(
            "lc",
            bucket=bucket.id,
            rules=[{"id": "x", "status": "Enabled", "filter": {"prefix": "artifacts/"}, "expiration": {"days": 7}}],
        )
    if block:
        aws.s3.BucketPublicAccessBlock(
            "pab",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
    role = aws.iam.Role("r", assume_role_policy="{}")
    aws.iam.RolePolicy(
        "p",
        role=role.id,
        policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}]}),
    )
    if managed:
        aws.iam.RolePolicyAttachment(
            "m", role=role.name, policy_arn="arn:aws:iam::aws:policy/CloudWatchSyntheticsFullAccess"
        )
    aws.synthetics.Canary(
        "c",
        name="c",
        artifact_s3_location="s3://bkt/artifacts/",
        execution_role_arn=role.arn,
        handler="canary.handler",
        runtime_version="syn-python-selenium-5.1",
        schedule={"expression": "rate(5 minutes)"},
        success_retention_period=7 if retention else None,
        failure_retention_period=7 if retention else None,
    )


def test_a_canary_without_retention_expiry_or_public_access_block_is_an_error() -> None:
    assert _findings(lambda: _canary(False, False, False), "canary-retention") == [
        "no successRetentionPeriod: Synthetics' default applies silently",
        "no failureRetentionPeriod: Synthetics' default applies silently",
        "bucket bkt has no enabled expiration covering s3://bkt/artifacts/: artifacts pile up forever",
        "bucket bkt does not block public access (screenshots and logs of the API)",
    ]
    assert _findings(lambda: _canary(True, True, True), "canary-retention") == []


def test_a_canary_role_with_wildcards_or_managed_policies_is_an_error() -> None:
    assert _findings(lambda: _canary(True, True, True, managed=True), "canary-role-scoped") == [
        "managed policy arn:aws:iam::aws:policy/CloudWatchSyntheticsFullAccess on the canary role: "
        "grant only what it calls",
        "wildcard actions s3:* in p",
    ]


def test_an_insight_rule_on_logs_kept_forever_or_not_ours_is_an_error() -> None:
    def program() -> None:
        forever = aws.cloudwatch.LogGroup("g", name="/forever")
        body = forever.name.apply(lambda n: json.dumps({"LogGroupNames": [n, "/elsewhere"]}))
        aws.cloudwatch.ContributorInsightRule("i", rule_name="i", rule_state="ENABLED", rule_definition=body)

    assert _findings(program, "insight-rule-retention") == [
        "reads /forever, which keeps logs forever",
        "reads /elsewhere, which this stack does not manage (no retention it can vouch for)",
    ]


# --- what differs between the stacks ---------------------------------------------------------------
EXPECTED = {
    # stack: (canary, insight rules, composite alarms: 2 symptoms + 2 objectives x page and ticket)
    "dev": (0, 0, 6),
    "staging": (0, 5, 6),
    "prod": (1, 5, 6),
    "local": (0, 0, 6),
}


@pytest.mark.parametrize("stack", list(EXPECTED))
def test_each_stack_gets_the_operations_its_settings_ask_for(graphs: dict[str, Graph], stack: str) -> None:
    graph = graphs[stack]
    canaries, insights, composites = EXPECTED[stack]
    assert len(graph.of_type("aws:cloudwatch/dashboard:Dashboard")) == 1
    assert len(graph.of_type("aws:synthetics/canary:Canary")) == canaries
    assert len(graph.of_type("aws:cloudwatch/contributorInsightRule:ContributorInsightRule")) == insights
    assert len(graph.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")) == composites
    assert len(graph.of_type("aws:cloudwatch/queryDefinition:QueryDefinition")) == 7


def test_local_registers_no_service_localstack_free_lacks(graphs: dict[str, Graph]) -> None:
    # LocalStack's free edition has no Synthetics and no Contributor Insights (nor X-Ray, HTTP APIs)
    unsupported = ("aws:synthetics/", "contributorInsightRule", "aws:apigatewayv2/", "aws:wafv2/")
    types_ = {r.type for r in graphs["local"]}
    assert [t for t in types_ if any(u in t for u in unsupported)] == []


def test_every_declared_setting_is_read_by_the_program() -> None:
    from environments.settings import SPECS

    source = (ROOT / "__main__.py").read_text()
    read = set(re.findall(r"settings\.([a-z_]+)", source))
    unread = [s.attr for s in SPECS if s.attr not in read and not (s.attr == "waivers" and "waived_rules" in read)]
    assert unread == []


def test_a_program_can_turn_the_probes_on_without_our_main() -> None:
    def program() -> None:
        topic = aws.sns.Topic("pager")
        Operations(
            "watch",
            {
                "components": [],
                "alarm_topic_arn": topic.arn,
                "canary": {
                    "url": "https://api.example.com",
                    "read_path": "/health",
                    "interval_minutes": 1,
                    "timeout_s": 30,
                },
            },
        )
        pulumi.export("ok", True)

    graph = run_program(program, project="shop", stack="qa")
    canary = graph.one("aws:synthetics/canary:Canary")
    assert canary.inputs["schedule"] == {"expression": "rate(1 minute)"}
    assert "WRITE_PATH" not in canary.inputs["runConfig"]["environmentVariables"]
    assert [f for f in rules.check(graph) if f.rule.startswith(("canary-", "alarm-to-ops"))] == []


def test_operations_resources_wait_for_what_they_name(graphs: dict[str, Graph]) -> None:
    # AWS refuses a metric filter, query or insight rule on a log group that does not exist yet,
    # and a composite alarm on missing alarms: each depends on what it names.
    graph = graphs["prod"]
    urn_of_group = {g.outputs["name"]: g.urn for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for f in graph.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter"):
        assert urn_of_group[f.inputs["logGroupName"]] in f.dependencies, f.urn
    for q in graph.of_type("aws:cloudwatch/queryDefinition:QueryDefinition"):
        assert {urn_of_group[n] for n in q.inputs["logGroupNames"]} <= set(q.dependencies), q.urn
    for r in graph.of_type("aws:cloudwatch/contributorInsightRule:ContributorInsightRule"):
        names = json.loads(r.inputs["ruleDefinition"])["LogGroupNames"]
        assert {urn_of_group[n] for n in names} <= set(r.dependencies), r.urn
    dashboard = graph.one("aws:cloudwatch/dashboard:Dashboard")
    alarms = graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") + graph.of_type(
        "aws:cloudwatch/compositeAlarm:CompositeAlarm"
    )
    assert {a.urn for a in alarms} <= set(dashboard.dependencies)


def test_the_round_trip_names_the_job_id_field_id_by_default() -> None:
    def program() -> None:
        Operations(
            "ops", {"components": [], "canary": {"url": "https://x", "read_path": "/jobs/{id}", "write_path": "/jobs"}}
        )

    env = run_program(program).one("aws:synthetics/canary:Canary").inputs["runConfig"]["environmentVariables"]
    assert (env["ID_FIELD"], env["WRITE_BODY"]) == ("id", "{}")
