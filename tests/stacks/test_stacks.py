"""Whole programs: the real __main__.py with each real stack file, as `pulumi up` would run it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from resilient_serverless.components import ConfigError, rules
from resilient_serverless.components.testing import Graph, run_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["dev", "staging", "prod", "local"]


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, Graph, dict[str, str]]:
    graph = run_stack(request.param, ROOT)
    return request.param, graph, rules.waivers(graph)


def test_every_stack_has_no_unwaived_finding(stack: tuple[str, Graph, dict[str, str]]) -> None:
    name, graph, waived = stack
    live = [f for f in rules.check(graph, waived) if not f.waived]
    assert live == [], f"{name}: {live}"


def test_every_stack_exports_its_endpoints(stack: tuple[str, Graph, dict[str, str]]) -> None:
    name, graph, _ = stack
    assert set(graph.exports) == {
        "api_url",
        "orders_table",
        "ops_topic_arn",
        "orders_api_function",
        "orders_api_target_arn",
        "orders_inbox",
        "ingest_functions",
        "push_url",
        "dashboard",
        "reports_jobs",
    }
    assert set(graph.exports["ingest_functions"]) == {"high", "low"}
    assert graph.exports["orders_api_function"] == f"resilient-serverless-{name}-orders-api"
    assert str(graph.exports["api_url"]).startswith("https://")


def test_every_component_child_is_parented(stack: tuple[str, Graph, dict[str, str]]) -> None:
    _, graph, _ = stack
    for component in graph.of_type("ResilientFunction"):
        kids = graph.children_of(component)
        assert {k.type.split(":")[-1] for k in kids} >= {"Function", "Role", "LogGroup", "MetricAlarm"}, component.urn
    api = graph.one("ThrottledApi")
    assert {k.type.split(":")[-1] for k in graph.children_of(api)} >= {"Stage", "Integration", "MetricAlarm"}


def test_the_api_sits_in_front_of_the_functions_with_stack_settings() -> None:
    dev, prod = run_stack("dev", ROOT), run_stack("prod", ROOT)
    assert dev.outputs_of(dev.one("ThrottledApi"))["flavor"] == "http"
    assert prod.outputs_of(prod.one("ThrottledApi"))["flavor"] == "rest"
    stage = dev.one("aws:apigatewayv2/stage:Stage", "orders-stage")
    assert stage.inputs["defaultRouteSettings"]["throttlingRateLimit"] == 20
    assert [s["routeKey"] for s in stage.inputs["routeSettings"]] == [
        "GET /orders/{order_id}",
        "POST /orders",
        "POST /reports",
        "GET /reports/{job_id}",
        "GET /reports/{job_id}/result",
        "DELETE /reports/{job_id}",
        "POST /reports/webhooks",
    ]
    integration = prod.one("aws:apigateway/integration:Integration", "orders-integration-get-orders-order-id")
    assert integration.inputs["uri"].endswith("function:resilient-serverless-prod-orders-api:live/invocations")


def test_writes_reach_the_high_queue_and_each_queue_drains_at_its_own_pace() -> None:
    graph = run_stack("prod", ROOT)
    high = graph.one("aws:sqs/queue:Queue", "orders-inbox-high")
    post = graph.one("aws:apigateway/integration:Integration", "orders-integration-post-orders")
    assert post.inputs["uri"].endswith(f"sqs:path/123456789012/{high.outputs['name']}")
    mappings = {m.name: m.inputs for m in graph.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")}
    assert mappings["orders-inbox-high-mapping"]["scalingConfig"] == {"maximumConcurrency": 20}  # prod setting
    assert mappings["orders-inbox-low-mapping"]["scalingConfig"] == {"maximumConcurrency": 2}
    consumer = graph.one("aws:lambda/function:Function", "orders-inbox-high-consumer-function")
    assert high.inputs["visibilityTimeoutSeconds"] == 6 * consumer.inputs["timeout"] + 1
    assert consumer.inputs["reservedConcurrentExecutions"] == -1  # bounded by its mapping instead
    assert consumer.inputs["environment"]["variables"]["ORDERS_TABLE"] == "resilient-serverless-prod-orders"


def test_stack_settings_reach_the_functions() -> None:
    prod = run_stack("prod", ROOT)
    api = prod.one("aws:lambda/function:Function", "orders-api-function")
    assert (api.inputs["memorySize"], api.inputs["reservedConcurrentExecutions"]) == (1024, 100), api.urn
    assert prod.one("ProvisionedConcurrencyConfig").inputs["provisionedConcurrentExecutions"] == 5
    assert prod.one("aws:sns/topicSubscription:TopicSubscription").inputs["endpoint"] == "ops@example.com"
    dev = run_stack("dev", ROOT)
    assert dev.one("aws:cloudwatch/logGroup:LogGroup", "orders-api-logs").inputs["retentionInDays"] == 7
    assert dev.of_type("TopicSubscription") == []


def test_local_targets_localstack_through_provider_config_only() -> None:
    config = yaml.safe_load((ROOT / "environments" / "Pulumi.local.yaml").read_text())["config"]
    endpoints = config["aws:endpoints"][0]
    assert set(endpoints.values()) == {"http://localhost:4566"}
    assert {"lambda", "sqs", "dynamodb", "iam", "logs", "sts", "apigateway"} <= set(endpoints)
    assert config["aws:skipCredentialsValidation"] and config["aws:skipRequestingAccountId"]
    assert config["aws:s3UsePathStyle"] is True
    assert "localstack" not in (ROOT / "__main__.py").read_text().lower()


def test_local_uses_only_what_localstack_free_emulates() -> None:
    config = yaml.safe_load((ROOT / "environments" / "Pulumi.local.yaml").read_text())["config"]
    ns = "resilient-serverless:"
    assert (config[ns + "apiFlavor"], config[ns + "canary"], config[ns + "contributorInsights"]) == (
        "rest",
        False,
        False,
    )
    graph = run_stack("local", ROOT)
    for fn in graph.of_type("aws:lambda/function:Function"):
        assert fn.inputs["layers"] == [], fn.urn  # no layers in the free edition: Powertools is bundled
    assert graph.of_type("aws:apigatewayv2/api:Api") == []
    assert rules.waivers(graph) == {"lambda-tracing-active": "LocalStack's free edition has no X-Ray"}


def test_bad_override_is_refused_before_any_resource() -> None:
    with pytest.raises(ConfigError, match=r"ingestMaxConcurrency=1000000 is outside 2 to 1000"):
        run_stack("dev", ROOT, overrides={"ingestMaxConcurrency": 1_000_000})


def test_push_is_on_where_websockets_exist_and_local_says_why_it_polls() -> None:
    dev, local = run_stack("dev", ROOT), run_stack("local", ROOT)
    assert str(dev.exports["push_url"]).startswith("wss://") and str(dev.exports["push_url"]).endswith("/live")
    notifier = dev.one("WebSocketNotifier")
    assert {k.type.split(":")[-1] for k in dev.children_of(notifier)} >= {"Api", "Stage", "Table", "MetricAlarm"}
    stage = dev.one("aws:apigatewayv2/stage:Stage", "job-push-stage")
    assert dev.one("aws:apigateway/account:Account").urn in stage.dependencies
    assert local.of_type("WebSocketNotifier") == []
    assert local.exports["push_url"] == (
        "polling only: LocalStack's free edition has no API Gateway v2 (no WebSocket APIs): clients poll for results"
    )


@pytest.mark.parametrize(
    ("name", "kind"), [("dev", "EXPRESS"), ("staging", "STANDARD"), ("prod", "STANDARD"), ("local", None)]
)
def test_the_reports_workflow_pushes_where_the_stack_has_a_notifier(name: str, kind: str | None) -> None:
    # GIVEN the stack WHEN its reports workflow is built THEN, where push is on, the state machine
    # records each terminal status and then invokes notify (Request Response: the only pattern an
    # Express machine runs, and nothing waits for a client), the submit function hands out the
    # socket URL, the job table is the notifier's, and notify may read (pre-sign) results; local
    # polls and has none of it
    import json

    graph = run_stack(name, ROOT)
    machine = graph.one("aws:sfn/stateMachine:StateMachine", "reports-sm")
    states = json.loads(machine.inputs["definition"])["States"]
    submit = graph.one("aws:lambda/function:Function", "reports-submit-function")
    env = submit.inputs["environment"]["variables"]
    if name == "local":
        assert not [s for s in states if s.startswith("Push")] and "PUSH_URL" not in env
        return
    assert machine.inputs.get("type", "STANDARD") == kind
    for status in ("Succeeded", "Failed", "TimedOut"):
        assert states[f"Record{status}"]["Next"] == f"Push{status}"
        assert states[f"Push{status}"]["Resource"].endswith(":states:::lambda:invoke")
    waiting = [n for n, s in states.items() if str(s.get("Resource", "")).endswith((".waitForTaskToken", ".sync"))]
    if kind == "EXPRESS":  # CreateStateMachine refuses an Express definition with either pattern
        assert waiting == []
    assert env["PUSH_URL"] == graph.exports["push_url"]
    jobs_table = graph.exports["reports_jobs"]["table"]
    for role in ("socket", "notify"):
        fn = graph.one("aws:lambda/function:Function", f"job-push-{role}-function")
        assert fn.inputs["environment"]["variables"]["JOBS_TABLE"] == jobs_table, fn.urn
    bucket = graph.one("aws:s3/bucket:Bucket", "reports-results").outputs["arn"]
    results = [
        p
        for p in graph.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.name.startswith("job-push-notify") and f"{bucket}/results/*" in p.inputs["policy"]
    ]
    assert results, "notify cannot read the workflow's results"
