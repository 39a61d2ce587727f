"""Two limits past the route throttles: Step Functions' StartExecution bucket (per account and
region, per workflow type) behind a job submit route, and a REST API's usage plans (a bucket and a
quota per API key). Each shows where its throttle lands under a spike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pulumi
import pytest
from resilient_serverless.components import ResilientFunction, ThrottledApi
from resilient_serverless.components.aws_facts import QUOTAS, sfn_start_bucket
from resilient_serverless.components.simulate import Assumptions, StackModel, build_model, naive, simulate_model
from resilient_serverless.components.simulate.load import parse_load
from resilient_serverless.components.simulate.model import RouteModel, StartsModel, UsagePlanModel
from resilient_serverless.components.testing import Graph, run_program

SUBMIT_RPS = 5000.0  # the submit route admits this much, retries included: far above 150 starts/s


def submit_stack(starts: StartsModel | None, plans: tuple[UsagePlanModel, ...] = ()) -> StackModel:
    route = RouteModel(
        "POST /jobs", "sync", SUBMIT_RPS, SUBMIT_RPS, 29.0, SUBMIT_RPS, "route throttle", "submit", 50.0, 10.0, 900
    )
    route = replace(route, starts=starts)
    return StackModel("test", "eu-central-1", "rest", (route,), Assumptions(), usage_plans=plans)


def standard(buffered: bool) -> StartsModel:
    rate, burst = sfn_start_bucket("STANDARD", "eu-central-1")
    return StartsModel(
        "STANDARD", rate, burst, buffered=buffered, starter_concurrency=100 if buffered else 0, queue="jobs-starts"
    )


def test_given_the_start_quotas_then_each_is_dated_data_with_its_source() -> None:
    assert sfn_start_bucket("STANDARD", "eu-central-1") == (150, 800)
    assert sfn_start_bucket("STANDARD", "us-east-1") == (300, 1300)
    assert sfn_start_bucket("EXPRESS", "eu-central-1") == (100_000, 100_000)
    for name in [n for n in QUOTAS if n.startswith("sfn_")]:
        assert QUOTAS[name].source.startswith("https://docs.aws.amazon.com/step-functions/"), name


def test_given_a_spike_of_submits_that_start_directly_when_run_then_starts_past_the_bucket_fail_the_submit() -> None:
    # GIVEN submits at 500/s for 10 s, each starting its Standard execution itself (150/s, bucket 800)
    doc = simulate_model(submit_stack(standard(buffered=False)), parse_load("rate:500", duration_s=10), series=False)
    route = doc["routes"][0]
    # THEN the throttle shows up at StartExecution, not at the edge or Lambda: those submits
    # answer an error, are wasted, and the clients' retries fail again
    assert route["throttled_429"] == {"edge": 0, "usage_plan": 0, "function": 0}
    assert route["start_execution"]["throttled"] > 0
    assert route["failed_requests"] > 0
    assert route["wasted_invocations"] > 0
    # ... every submit either started its execution or finally failed, and no more started than
    # the bucket and its refill allow over the run (the 30 s settle included)
    started = route["start_execution"]["started"]
    assert route["goodput"] == started
    assert started + route["failed_requests"] == pytest.approx(route["offered"], abs=2)
    assert started < 800 + 150 * 40


def test_given_the_same_spike_through_a_start_queue_when_run_then_no_submit_fails_and_the_queue_ages() -> None:
    # GIVEN the same submits, their starts queued for a starter
    doc = simulate_model(submit_stack(standard(buffered=True)), parse_load("rate:500", duration_s=10), series=True)
    route = doc["routes"][0]
    # THEN every submit is answered (202), the throttled starts wait in the start queue, whose
    # oldest message ages while the bucket refills at 150/s
    assert (route["failed_requests"], route["goodput"]) == (0, 5000)
    assert route["start_execution"]["throttled"] > 0
    assert route["oldest_message_age_s_max"]["jobs-starts"] > 10
    assert route["start_execution"]["started"] == pytest.approx(5000, rel=0.01)  # all, within the settle


def test_given_an_express_workflow_when_the_same_spike_starts_directly_then_nothing_is_throttled() -> None:
    rate, burst = sfn_start_bucket("EXPRESS", "eu-central-1")
    doc = simulate_model(
        submit_stack(StartsModel("EXPRESS", rate, burst, buffered=False)), parse_load("rate:500", duration_s=10)
    )
    assert doc["routes"][0]["start_execution"] == {"started": 5000, "throttled": 0}


def test_given_two_api_keys_with_usage_plans_when_a_spike_arrives_then_the_plans_bucket_gives_the_429s() -> None:
    # GIVEN two keys of 10 rps (burst 20) each, sharing the route's traffic evenly
    plans = (UsagePlanModel("a", 10.0, 20.0), UsagePlanModel("b", 10.0, 20.0))
    doc = simulate_model(submit_stack(None, plans), parse_load("rate:100", duration_s=10), series=False)
    route = doc["routes"][0]
    # THEN about 20 rps pass (the plans' rates) plus their bursts; the rest are the plans' 429s
    first_attempts_admitted = 2 * 20 + 2 * 10 * 10
    assert route["throttled_429"]["usage_plan"] > 0
    assert route["throttled_429"]["usage_plan"] == route["throttled_429"]["edge"]
    assert route["goodput"] == pytest.approx(first_attempts_admitted, rel=0.25)


def test_given_a_usage_plan_with_a_daily_quota_when_it_is_used_up_then_every_later_request_is_refused() -> None:
    plans = (UsagePlanModel("a", 1000.0, 1000.0, quota=100.0, period_s=86_400.0),)
    doc = simulate_model(submit_stack(None, plans), parse_load("rate:50", duration_s=10), series=False)
    route = doc["routes"][0]
    assert route["goodput"] == 100
    assert route["throttled_429"]["usage_plan"] > 0


def test_given_a_model_made_naive_then_its_usage_plans_are_gone_and_its_starts_are_direct() -> None:
    model = submit_stack(standard(buffered=True), (UsagePlanModel("a", 10.0, 20.0),))
    baseline = naive(model)
    assert baseline.usage_plans == ()
    assert baseline.routes[0].starts == StartsModel(
        "STANDARD", 150, 800, buffered=False, starter_concurrency=0, queue=""
    )


def test_given_prod_when_modelled_then_the_submit_route_starts_a_standard_workflow_through_its_start_queue(
    stack_graph: Callable[[str], Graph],
) -> None:
    model = build_model(stack_graph("prod"), region="eu-central-1")
    submit = next(r for r in model.routes if r.key == "POST /reports")
    # prod runs 4 starters (environments/Pulumi.prod.yaml)
    assert submit.starts == StartsModel(
        "STANDARD", 150, 800, buffered=True, starter_concurrency=4, queue="reports-starts"
    )
    assert all(r.starts is None for r in model.routes if r.key != "POST /reports")


def api_with_plans() -> None:
    code = pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return {}\n")})
    fn = ResilientFunction("lookup", {"handler": "index.handler", "code": code})
    ThrottledApi(
        "front",
        {
            "flavor": "rest",
            "routes": [{"method": "GET", "path": "/x", "function": fn}],
            "usage_plans": {
                "gold": {"rate": 50, "burst": 100, "quota": {"limit": 10_000, "period": "DAY"}},
                "free": {"rate": 5, "burst": 10},
            },
        },
    )


def test_given_an_api_with_usage_plans_when_modelled_then_each_key_brings_its_bucket_and_quota() -> None:
    model = build_model(run_program(api_with_plans, project="plans", stack="dev"))
    assert sorted(model.usage_plans, key=lambda p: p.client) == [
        UsagePlanModel("free", 5.0, 10.0),
        UsagePlanModel("gold", 50.0, 100.0, quota=10_000.0, period_s=86_400.0),
    ]
