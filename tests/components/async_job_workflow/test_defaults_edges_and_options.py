"""AsyncJobWorkflow under Pulumi mocks: defaults pinned to resource inputs, validation before any
child, the edges AWS needs at create time, the push contract with a fake channel, and the routes
served by a ThrottledApi from a program that is not ours."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from resilient_serverless.components import (
    AsyncJobWorkflow,
    ConfigError,
    PushChannel,
    ResilientFunction,
    ThrottledApi,
    asl,
    defaults,
    rules,
)
from resilient_serverless.components.testing import AwsMocks, Graph, run_program

from tests.conftest import HANDLERS

SM, TABLE, QUEUE = "aws:sfn/stateMachine:StateMachine", "aws:dynamodb/table:Table", "aws:sqs/queue:Queue"


def worker(name: str = "renderer", timeout: int = 60) -> ResilientFunction:
    return ResilientFunction(
        name,
        {"handler": "handlers.jobs.worker.lambda_handler", "code": HANDLERS, "invocation": "async", "timeout": timeout},
    )


def build(name: str = "reports", *, mocks: AwsMocks | None = None, **args: Any) -> Graph:
    def program() -> None:
        jobs = AsyncJobWorkflow(name, {"worker": worker(), "code": HANDLERS, **args})
        pulumi.export("routes", [(r["method"], r["path"], r["function"]._name) for r in jobs.routes])

    return run_program(program, project="shop", stack="dev", mocks=mocks)


@pytest.fixture(scope="module")
def jobs() -> Graph:
    return build()


def definition(graph: Graph) -> dict[str, Any]:
    return json.loads(graph.one(SM).inputs["definition"])


# --- defaults, each pinned ----------------------------------------------------------------------
def test_the_job_table_is_on_demand_with_ttl_pitr_and_encryption(jobs: Graph) -> None:
    table = jobs.one(TABLE, "reports-jobs")
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST" and table.inputs["hashKey"] == "job_id", table.urn
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    idem = jobs.one(TABLE, "reports-idempotency")
    assert (idem.inputs["hashKey"], idem.inputs["ttl"]["attributeName"]) == ("id", "expiration"), idem.urn


def test_the_default_workflow_is_standard_with_a_one_hour_bound(jobs: Graph) -> None:
    sm = jobs.one(SM)
    assert sm.inputs["type"] == "STANDARD" == defaults.JOB_WORKFLOW_TYPE, sm.urn
    assert definition(jobs)["TimeoutSeconds"] == 3600 == defaults.JOB_EXECUTION_TIMEOUT_S
    assert sm.inputs["tracingConfiguration"] == {"enabled": True}


def test_the_worker_task_outlasts_the_worker_by_10_s_and_retries_twice_with_jitter(jobs: Graph) -> None:
    run = definition(jobs)["States"]["RunWorker"]
    assert run["TimeoutSeconds"] == 60 + 10 == 60 + defaults.JOB_TASK_TIMEOUT_MARGIN_S
    assert run["Retry"] == [
        {
            "ErrorEquals": ["States.TaskFailed"],
            "IntervalSeconds": 2,
            "MaxAttempts": 2,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 30,
            "JitterStrategy": "FULL",
        }
    ]
    assert run["Resource"] == "arn:aws:states:::lambda:invoke" and defaults.JOB_WORKER_MODE == "invoke"
    assert run["Parameters"]["FunctionName"].endswith(":function:shop-dev-renderer")


def test_the_generated_definition_passes_every_check(jobs: Graph) -> None:
    assert asl.problems_in(definition(jobs)) == []


def test_results_bucket_is_encrypted_private_tls_only_and_expires(jobs: Graph) -> None:
    bucket = jobs.one("aws:s3/bucket:Bucket", "reports-results")
    assert bucket.inputs["bucket"] == "shop-dev-reports-results"
    sse = jobs.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    block = jobs.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    statement = json.loads(jobs.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules_ = jobs.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    days = {r["id"]: r.get("expiration", {}).get("days") for r in rules_}
    assert days["expire-results"] == 7 == defaults.JOB_RESULT_RETENTION_DAYS
    assert days["expire-inputs"] == 1 == defaults.JOB_INPUT_RETENTION_DAYS


def test_submits_are_buffered_by_a_starter_with_bounded_concurrency(jobs: Graph) -> None:
    mapping = jobs.one("aws:lambda/eventSourceMapping:EventSourceMapping", "reports-starts-mapping").inputs
    assert mapping["scalingConfig"] == {"maximumConcurrency": 2} and defaults.JOB_STARTER_MAX_CONCURRENCY == 2
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    starts = jobs.one(QUEUE, "reports-starts")
    assert mapping["eventSourceArn"] == starts.outputs["arn"]
    assert (
        json.loads(starts.inputs["redrivePolicy"])["deadLetterTargetArn"]
        == jobs.one(QUEUE, "reports-starts-dlq").outputs["arn"]
    )
    env = jobs.one("aws:lambda/function:Function", "reports-submit-function").inputs["environment"]["variables"]
    assert env["START_QUEUE_URL"] == starts.outputs["url"]
    path = jobs.outputs_of(jobs.one("AsyncJobWorkflow"))["start_path"]
    assert path == {
        "mode": "queue",
        "starter_max_concurrency": 2,
        "start_quota_per_s": 150.0,
        "starts_per_s": 40.0,
        "sustained_per_s": 40.0,
    }


def test_job_functions_get_their_settings_from_the_environment(jobs: Graph) -> None:
    env = jobs.one("aws:lambda/function:Function", "reports-result-function").inputs["environment"]["variables"]
    assert env["RESULT_URL_TTL_S"] == "900" and defaults.JOB_RESULT_URL_TTL_S == 900
    assert env["JOB_TTL_S"] == str(30 * 86_400) and defaults.JOB_TTL_DAYS == 30
    assert env["IDEMPOTENCY_TTL_S"] == "3600" == str(defaults.JOB_IDEMPOTENCY_TTL_S)
    assert env["MAX_BODY_BYTES"] == "1048576" == str(defaults.JOB_MAX_BODY_BYTES)
    assert env["INLINE_INPUT_BYTES"] == "200000" == str(defaults.JOB_INLINE_INPUT_BYTES)
    assert env["JOBS_PATH"] == "/jobs" == defaults.JOB_PATH
    assert env["JOBS_TABLE"] == "shop-dev-reports-jobs"


def test_the_worker_gets_where_to_write_and_what_to_read_in_its_payload(jobs: Graph) -> None:
    payload = definition(jobs)["States"]["RunWorker"]["Parameters"]["Payload"]
    bucket = jobs.one("aws:s3/bucket:Bucket", "reports-results")
    assert payload["results_bucket"] == bucket.outputs["bucket"], bucket.urn
    assert payload["result_key.$"] == "States.Format('results/{}', $.job_id)"
    assert payload["jobs_table"] == jobs.one(TABLE, "reports-jobs").outputs["name"]


def test_the_contract_defaults_of_the_job_handlers_are_the_component_defaults() -> None:
    from resilient_serverless.handlers.resilience import contract

    declared = {v.name: v.default for v in contract.JOB_CONFIG if not v.required}
    assert declared["RESULT_URL_TTL_S"] == str(defaults.JOB_RESULT_URL_TTL_S)
    assert declared["RESULT_RETENTION_S"] == str(defaults.JOB_RESULT_RETENTION_DAYS * 86_400)
    assert declared["JOB_TTL_S"] == str(defaults.JOB_TTL_DAYS * 86_400)
    assert declared["IDEMPOTENCY_TTL_S"] == str(defaults.JOB_IDEMPOTENCY_TTL_S)
    assert declared["MAX_BODY_BYTES"] == str(defaults.JOB_MAX_BODY_BYTES)
    assert declared["INLINE_INPUT_BYTES"] == str(defaults.JOB_INLINE_INPUT_BYTES)
    assert declared["EXECUTION_TIMEOUT_S"] == str(defaults.JOB_EXECUTION_TIMEOUT_S)
    assert declared["JOBS_PATH"] == defaults.JOB_PATH
    assert declared["PUSH_TOKEN_TTL_S"] == str(defaults.JOB_EXECUTION_TIMEOUT_S + defaults.JOB_PUSH_TOKEN_GRACE_S)
    assert {v.name for v in contract.JOB_CONFIG if v.required} == {
        "JOBS_TABLE",
        "IDEMPOTENCY_TABLE",
        "RESULTS_BUCKET",
        "STATE_MACHINE_ARN",
    }


def test_each_job_function_gets_exactly_the_variables_its_contract_declares(jobs: Graph) -> None:
    from resilient_serverless.handlers.resilience import contract

    for fn in jobs.of_type("aws:lambda/function:Function"):
        declared = contract.contract_for(fn.inputs["handler"])
        assert declared is not None, fn.urn
        names = {v.name for v in declared}
        env = set(fn.inputs.get("environment", {}).get("variables", {}))
        ours = {n for n in env if not n.startswith(("POWERTOOLS_", "RESILIENT_"))}
        assert ours <= names, (fn.urn, ours - names)
        assert {v.name for v in declared if v.required} <= env, fn.urn


def test_every_job_function_names_a_handler_the_package_defines(jobs: Graph) -> None:
    # A handler path is only checked by AWS at the first invocation: check each against the source
    import importlib

    handlers = {
        f.name: f.inputs["handler"]
        for f in jobs.of_type("aws:lambda/function:Function")
        if f.name != "renderer-function"
    }
    assert handlers == {
        "reports-submit-function": "handlers.jobs.submit.lambda_handler",
        "reports-status-function": "handlers.jobs.status.lambda_handler",
        "reports-result-function": "handlers.jobs.result.lambda_handler",
        "reports-cancel-function": "handlers.jobs.cancel.lambda_handler",
        "reports-recorder-function": "handlers.jobs.recorder.lambda_handler",
        "reports-webhooks-function": "handlers.jobs.webhooks.register_handler",
        "reports-dispatcher-function": "handlers.jobs.webhooks.dispatch_handler",
        "reports-starter-function": "handlers.jobs.starter.lambda_handler",
    }
    for name, path in handlers.items():
        module, function = path.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function, None)), name


def test_alarms_on_executions_and_queues(jobs: Graph) -> None:
    component = jobs.one("AsyncJobWorkflow")
    alarms = {
        a.name: (a.inputs["metricName"], a.inputs["threshold"]) for a in jobs.children_of(component, "MetricAlarm")
    }
    assert alarms == {
        "reports-alarm-executions-failed": ("ExecutionsFailed", 0),
        "reports-alarm-executions-timed-out": ("ExecutionsTimedOut", 0),
        "reports-alarm-executions-throttled": ("ExecutionThrottled", 0),
        "reports-alarm-starts-age": ("ApproximateAgeOfOldestMessage", 300),
        "reports-alarm-starts-dlq-depth": ("ApproximateNumberOfMessagesVisible", 0),
        "reports-alarm-webhooks-age": ("ApproximateAgeOfOldestMessage", 300),
        "reports-alarm-webhooks-dlq-depth": ("ApproximateNumberOfMessagesVisible", 0),
        "reports-alarm-outcomes-dlq-depth": ("ApproximateNumberOfMessagesVisible", 0),
    }
    assert defaults.JOB_START_QUEUE_AGE_ALARM_S == 300


# --- create-time edges -----------------------------------------------------------------------------
def test_the_state_machine_is_created_after_its_role_policy(jobs: Graph) -> None:
    sm, policy = jobs.one(SM), jobs.one("aws:iam/rolePolicy:RolePolicy", "reports-sm-policy")
    assert policy.urn in sm.dependencies, sm.urn
    statements = json.loads(policy.inputs["policy"])["Statement"]
    invoke = next(s for s in statements if s["Action"] == ["lambda:InvokeFunction"])
    fn = jobs.one("aws:lambda/function:Function", "renderer-function").outputs["arn"]
    assert invoke["Resource"] == [fn, f"{fn}:*"]


def test_the_bucket_policy_waits_for_the_public_access_block(jobs: Graph) -> None:
    policy = jobs.one("aws:s3/bucketPolicy:BucketPolicy")
    block = jobs.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in policy.dependencies, policy.urn


def test_the_starter_mapping_waits_for_its_grants(jobs: Graph) -> None:
    mapping = jobs.one("aws:lambda/eventSourceMapping:EventSourceMapping", "reports-starts-mapping")
    consume = jobs.one("aws:iam/rolePolicy:RolePolicy", "reports-starter-grant-consume-reports-starts")
    assert consume.urn in mapping.dependencies, mapping.urn


def test_the_workflow_passes_the_resilience_rules(jobs: Graph) -> None:
    assert [f for f in rules.check(jobs, waived={}) if f.severity == "error"] == []


# --- options ---------------------------------------------------------------------------------------
def test_express_defaults_to_five_minutes() -> None:
    graph = build(workflow_type="EXPRESS")
    assert graph.one(SM).inputs["type"] == "EXPRESS" and definition(graph)["TimeoutSeconds"] == 300


def test_callback_workers_get_a_heartbeat_and_a_task_token() -> None:
    graph = build(worker_mode="callback", execution_timeout_s=7200)
    run = definition(graph)["States"]["RunWorker"]
    assert run["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert (run["HeartbeatSeconds"], run["TimeoutSeconds"]) == (60, 7140) and defaults.JOB_HEARTBEAT_S == 60
    assert run["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert run["Parameters"]["Payload"]["heartbeat_s"] == run["HeartbeatSeconds"]  # the worker's heartbeat pace


def test_direct_start_has_no_queue_and_lets_submit_start_executions() -> None:
    graph = build(start="direct", webhooks=False)
    assert sorted(q.name for q in graph.of_type(QUEUE)) == [
        "renderer-dlq",
        "reports-outcomes-dlq",
        "reports-recorder-dlq",
    ]  # no start queue
    submit = graph.one("resilient-serverless:index:ResilientFunction", "reports-submit")
    actions = [
        json.loads(p.inputs["policy"])["Statement"][0]["Action"] for p in graph.children_of(submit, "RolePolicy")
    ]
    assert ["states:StartExecution"] in actions


def test_a_program_that_is_not_ours_puts_two_workflows_behind_one_api_in_another_region() -> None:
    def program() -> None:
        a = AsyncJobWorkflow("exports", {"worker": worker("exporter"), "code": HANDLERS, "path": "/v2/exports"})
        b = AsyncJobWorkflow(
            "thumbs", {"worker": worker("thumbnailer"), "code": HANDLERS, "path": "/thumbs", "api_flavor": "http"}
        )
        ThrottledApi("gateway", {"flavor": "http", "routes": [*b.routes]})
        ThrottledApi("public", {"routes": [*a.routes]})

    graph = run_program(program, project="media", stack="eu", mocks=AwsMocks(region="us-west-2"))
    keys = {r.inputs["routeKey"] for r in graph.of_type("aws:apigatewayv2/route:Route")}
    assert keys == {
        "POST /thumbs",
        "GET /thumbs/{job_id}",
        "GET /thumbs/{job_id}/result",
        "DELETE /thumbs/{job_id}",
        "POST /thumbs/webhooks",
    }
    models = graph.of_type("aws:apigateway/model:Model")
    assert len(models) == 1 and json.loads(models[0].inputs["schema"])["required"] == ["input"]
    assert graph.one(SM, "exports-sm").outputs["arn"].startswith("arn:aws:states:us-west-2:")


# --- push contract -------------------------------------------------------------------------------
class FakePush:
    def __init__(self) -> None:
        self.url = pulumi.Output.from_input("wss://push.example/live")
        self.bound: list[Any] = []
        self.asked: dict[str, dict[str, str]] = {}
        self.readable: list[tuple[Any, str]] = []

    def read_results(self, bucket_arn: Any, prefix: str = "") -> None:
        self.readable.append((bucket_arn, prefix))

    def bind_jobs(self, table_name: Any, table_arn: Any) -> None:
        self.bound.append((table_name, table_arn))

    def workflow_states(self, *, status: str, entry: str, next_state: str, fallback_state: str) -> dict[str, Any]:
        self.asked[status] = {"entry": entry, "next": next_state, "fallback": fallback_state}
        return {
            entry: asl.task(
                "arn:aws:states:::lambda:invoke",
                timeout_s=15,
                retry=[asl.RetryPolicy(("States.TaskFailed",), 1, 2, 2.0, 5)],
                catches=[asl.catch(["States.ALL"], fallback_state, "$.push_error")],
                next_state=next_state,
                parameters={"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:push"},
                result_path=None,
            )
        }

    def state_machine_statements(self) -> list[dict[str, Any]]:
        return [
            {
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": ["arn:aws:lambda:eu-west-1:123456789012:function:push"],
            }
        ]


def test_a_push_channel_is_bound_its_states_run_after_the_worker_and_its_url_reaches_submit() -> None:
    push = FakePush()
    assert isinstance(push, PushChannel)
    graph = build(push=push)
    assert len(push.bound) == 1
    # after each recorded terminal status, never before it (webhooks on: the push precedes the notice)
    assert push.asked == {
        status: {"entry": f"Push{title}", "next": f"Notify{title}", "fallback": f"RecordPushError{title}"}
        for status, title in (("succeeded", "Succeeded"), ("failed", "Failed"), ("timed_out", "TimedOut"))
    }
    states = definition(graph)["States"]
    assert states["RunWorker"]["Next"] == "RecordSucceeded" and states["RecordSucceeded"]["Next"] == "PushSucceeded"
    assert states["RecordPushErrorSucceeded"]["Next"] == "NotifySucceeded"
    assert asl.problems_in(definition(graph)) == []
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy", "reports-sm-policy").inputs["policy"])
    assert push.state_machine_statements()[0] in policy["Statement"]
    env = graph.one("aws:lambda/function:Function", "reports-submit-function").inputs["environment"]["variables"]
    assert env["PUSH_URL"] == "wss://push.example/live" and env["PUSH_TOKEN_TTL_S"] == str(3600 + 300)


# --- bad input -------------------------------------------------------------------------------------
def test_bad_arguments_are_all_named_before_any_resource() -> None:
    from .test_bad_input import Counting

    mocks = Counting()

    def program() -> None:
        mocks.names.clear()  # the stack itself
        AsyncJobWorkflow(
            "reports",
            {
                "worker": "not-a-function",
                "code": HANDLERS,
                "path": "/jobs/{id}",
                "workflow_type": "FAST",
                "result_url_ttl_s": 604_801,
                "retry": {"max_attempts": 11, "tries": 1},
                "starter_max_concurrency": 1,
                "job_ttl_days": 3,
                "bogus": True,
            },
        )

    with mocks, pytest.raises(ConfigError) as raised:
        run_program(program, mocks=mocks)
    assert raised.value.problems == [
        "unknown argument 'bogus' (valid arguments: alarm_topic_arn, api_flavor, auth, code, execution_timeout_s, "
        "functions, heartbeat_s, idempotency_ttl_s, inline_input_bytes, input_schema, job_ttl_days, "
        "log_execution_data, log_level, log_retention_days, max_body_bytes, path, push, result_retention_days, "
        "result_url_ttl_s, retry, start, start_queue_age_alarm_s, start_quota_per_s, starter_max_concurrency, tags, "
        "task_timeout_s, transform, webhooks, worker, worker_mode, workflow_type)",
        "worker='not-a-function' must be a ResilientFunction (the function that does the work)",
        "path='/jobs/{id}' must be a fixed collection path such as '/jobs' (no parameters, no trailing '/')",
        "workflow_type='FAST' is not one of 'STANDARD', 'EXPRESS'",
        "unknown retry key 'tries' (valid retry keys: backoff_rate, interval_s, max_attempts, max_delay_s)",
        "retry.max_attempts=11 is outside 0 to 10 (Step Functions MaxAttempts)",
        "starter_max_concurrency=1 is outside 2 to 1000 (SQS mapping maximum concurrency)",
        "result_url_ttl_s=604801 is outside 1 to 3600 seconds (a URL pre-signed by a function expires with the "
        "function role's temporary credentials, whatever its ExpiresIn says; Lambda documents no lifetime for them, "
        "so at most one hour is promised)",
        "job_ttl_days=3 must be at least result_retention_days=7: a result would outlive its job and answer 404 "
        "instead of its URL",
    ]
    assert mocks.names == []  # constructed, not only registered


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"workflow_type": "EXPRESS", "execution_timeout_s": 600},
            "execution_timeout_s=600 is outside 60 to 300 seconds (Express workflow limit)",
        ),
        (
            {"workflow_type": "EXPRESS", "worker_mode": "callback"},
            "worker_mode='callback' needs workflow_type='STANDARD': Express workflows cannot wait for a task token",
        ),
        (
            {"task_timeout_s": 3600},
            "task_timeout_s=3600 must be below execution_timeout_s=3600: the execution would time out first and "
            "the job's status would never be recorded",
        ),
        (
            {"task_timeout_s": 30},
            "task_timeout_s=30 must be above the worker's timeout of 60 s: Lambda gives up first and reports why",
        ),
        (
            {"worker_mode": "callback", "heartbeat_s": 4000},
            "heartbeat_s=4000 must be below task_timeout_s=3540: a heartbeat of 4000 s is not below the timeout of "
            "3540 s",
        ),
        (
            {"heartbeat_s": 30},
            "heartbeat_s applies only to worker_mode='callback' (an invoked worker is bounded by its timeout)",
        ),
        ({"retry": {"interval_s": 60, "max_delay_s": 10}}, "retry.max_delay_s=10 is below retry.interval_s=60"),
        (
            {"inline_input_bytes": 262_144},
            "inline_input_bytes=262144 is outside 1 to 240000 bytes "
            "(Step Functions and SQS carry 262144 with metadata)",
        ),
        (
            {"push": object()},
            "does not offer url, bind_jobs, workflow_states, state_machine_statements and read_results",
        ),
    ],
)
def test_each_bad_argument_gets_one_clear_error(args: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build(**args)
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_each_route_is_throttled_at_what_its_function_can_serve() -> None:
    captured: list[dict[str, Any]] = []

    def program() -> None:
        captured.extend(AsyncJobWorkflow("reports", {"worker": worker(), "code": HANDLERS}).routes)

    run_program(program)
    assert {(r["method"], r["path"]): r["throttle"] for r in captured} == {
        ("POST", "/jobs"): {"rate": 100.0, "burst": 100},  # 10 reserved x 1000 / 100 ms
        ("GET", "/jobs/{job_id}"): {"rate": 200.0, "burst": 200},  # 10 reserved x 1000 / 50 ms
        ("GET", "/jobs/{job_id}/result"): {"rate": 200.0, "burst": 200},
        ("DELETE", "/jobs/{job_id}"): {"rate": 200.0, "burst": 200},
        ("POST", "/jobs/webhooks"): {"rate": 200.0, "burst": 200},
    }
    assert (defaults.JOB_SUBMIT_LATENCY_MS, defaults.JOB_READ_LATENCY_MS) == (100, 50)


def test_execution_outcomes_outside_the_definition_reach_a_recorder(jobs: Graph) -> None:
    rule = jobs.one("aws:cloudwatch/eventRule:EventRule", "reports-outcomes")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"] == {
        "stateMachineArn": [jobs.one(SM).outputs["arn"]],
        "status": ["FAILED", "TIMED_OUT", "ABORTED"],
    }
    target = jobs.one("aws:cloudwatch/eventTarget:EventTarget", "reports-outcomes-target")
    permission = jobs.one("aws:lambda/permission:Permission", "reports-recorder-invoke-outcomes")
    assert permission.urn in target.dependencies, target.urn
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    assert target.inputs["arn"] == jobs.one("aws:lambda/function:Function", "reports-recorder-function").outputs["arn"]


def cancel_actions(graph: Graph) -> set[str]:
    policies = [p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith("reports-cancel-")]
    return {a for p in policies for st in json.loads(p.inputs["policy"])["Statement"] for a in st["Action"]}


def test_cancel_may_stop_standard_executions_only(jobs: Graph) -> None:
    stop = jobs.one("aws:iam/rolePolicy:RolePolicy", "reports-cancel-grant-stop")
    (statement,) = json.loads(stop.inputs["policy"])["Statement"]
    assert statement["Resource"] == [jobs.one(SM).outputs["arn"].replace(":stateMachine:", ":execution:") + ":*"]
    # Express executions are ':express:' ARNs, and AWS has no StopExecution for them
    assert "states:StopExecution" not in cancel_actions(build(workflow_type="EXPRESS"))


def test_express_has_no_recorder_because_eventbridge_carries_no_express_events() -> None:
    graph = build(workflow_type="EXPRESS")
    assert graph.of_type("aws:cloudwatch/eventRule:EventRule") == []


# --- pre-signed result URLs live no longer than the credentials that sign them -------------------
TTL_WHY = (
    "a URL pre-signed by a function expires with the function role's temporary credentials, whatever its "
    "ExpiresIn says; Lambda documents no lifetime for them, so at most one hour is promised"
)


def test_the_result_url_lifetime_is_bounded_by_the_signing_credentials_not_by_sigv4() -> None:
    assert defaults.PRESIGNED_URL_MAX_S == 3600  # the conservative bound; see its source in defaults.py
    with pytest.raises(ConfigError) as raised:
        build(result_url_ttl_s=3601)
    assert raised.value.problems == [f"result_url_ttl_s=3601 is outside 1 to 3600 seconds ({TTL_WHY})"]
    graph = build(result_url_ttl_s=3600)
    env = graph.one("aws:lambda/function:Function", "reports-result-function").inputs["environment"]["variables"]
    assert env["RESULT_URL_TTL_S"] == "3600"


def test_the_stack_setting_for_result_urls_has_the_same_bound() -> None:
    from environments.settings import parse_settings

    with pytest.raises(ConfigError) as raised:
        parse_settings({"jobResultUrlTtlSeconds": 86_400})
    assert raised.value.problems == [f"jobResultUrlTtlSeconds=86400 is outside 1 to 3600 seconds ({TTL_WHY})"]
    assert parse_settings({"jobResultUrlTtlSeconds": 3600}).job_result_url_ttl == 3600


# --- the outcomes rule never drops an event silently ---------------------------------------------
def test_outcome_events_that_cannot_be_delivered_go_to_an_alarmed_dlq_after_bounded_retries(jobs: Graph) -> None:
    rule = jobs.one("aws:cloudwatch/eventRule:EventRule", "reports-outcomes")
    target = jobs.one("aws:cloudwatch/eventTarget:EventTarget", "reports-outcomes-target")
    dlq = jobs.one(QUEUE, "reports-outcomes-dlq")
    assert target.inputs["deadLetterConfig"] == {"arn": dlq.outputs["arn"]}, target.urn
    assert target.inputs["retryPolicy"] == {"maximumEventAgeInSeconds": 3600, "maximumRetryAttempts": 10}
    assert (defaults.JOB_OUTCOME_EVENT_AGE_S, defaults.JOB_OUTCOME_RETRY_ATTEMPTS) == (3600, 10)
    # GIVEN the queue's policy: EventBridge may send, for this rule only
    policy = jobs.one("aws:sqs/queuePolicy:QueuePolicy", "reports-outcomes-dlq-policy")
    assert policy.inputs["queueUrl"] == dlq.outputs["url"]
    assert json.loads(policy.inputs["policy"])["Statement"] == [
        {
            "Sid": "OutcomeRuleDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": dlq.outputs["arn"],
            "Condition": {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}},
        }
    ]
    # THEN the target waits for that policy (a dead letter sent before it exists is refused)
    assert policy.urn in target.dependencies, target.urn
    alarm = jobs.one("aws:cloudwatch/metricAlarm:MetricAlarm", "reports-alarm-outcomes-dlq-depth")
    assert alarm.inputs["dimensions"] == {"QueueName": dlq.outputs["name"]}
    assert (alarm.inputs["metricName"], alarm.inputs["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)


# --- state machines log ------------------------------------------------------------------------
def test_the_state_machine_logs_errors_without_execution_data_to_a_vended_log_group(jobs: Graph) -> None:
    sm = jobs.one(SM)
    group = jobs.one("aws:cloudwatch/logGroup:LogGroup", "reports-sm-logs")
    assert group.inputs["name"] == f"/aws/vendedlogs/states/{sm.inputs['name']}", group.urn
    assert group.inputs["retentionInDays"] == defaults.LOG_RETENTION_DAYS == 30
    assert sm.inputs["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "logDestination": f"{group.outputs['arn']}:*",
    }
    assert (defaults.JOB_LOG_LEVEL, defaults.JOB_LOG_EXECUTION_DATA) == ("ERROR", False)
    # THEN the machine waits for its policy and its log group
    policy = jobs.one("aws:iam/rolePolicy:RolePolicy", "reports-sm-policy")
    assert {policy.urn, group.urn} <= set(sm.dependencies), sm.urn


def test_the_state_machine_role_may_deliver_logs_and_the_iam_rule_knows_why_on_star(jobs: Graph) -> None:
    policy = jobs.one("aws:iam/rolePolicy:RolePolicy", "reports-sm-policy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert {
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
        ],
        "Resource": ["*"],
    } in statements
    assert [f for f in rules.check(jobs, waived={}) if f.rule == "iam-no-wildcards"] == []


def test_all_states_and_their_data_are_logged_when_asked() -> None:
    graph = build(log_level="ALL", log_execution_data=True, log_retention_days=7)
    sm = graph.one(SM)
    assert (sm.inputs["loggingConfiguration"]["level"], sm.inputs["loggingConfiguration"]["includeExecutionData"]) == (
        "ALL",
        True,
    )
    assert graph.one("aws:cloudwatch/logGroup:LogGroup", "reports-sm-logs").inputs["retentionInDays"] == 7


# --- auth, and push that can read what it pushes ------------------------------------------------
def test_given_a_push_channel_then_the_workflow_lets_it_read_the_results_itself() -> None:
    push = FakePush()
    captured: list[Any] = []

    def program() -> None:
        jobs = AsyncJobWorkflow("reports", {"worker": worker(), "code": HANDLERS, "push": push})
        jobs.bucket.arn.apply(captured.append)

    run_program(program)
    assert len(push.readable) == 1
    bucket_arn, prefix = push.readable[0]
    assert prefix == "results/"  # where the worker writes: results/<job_id>
    assert isinstance(bucket_arn, pulumi.Output) and captured == ["arn:aws:s3:::project-test-reports-results"]


@pytest.mark.parametrize("flavor", ["rest", "http"])
def test_given_auth_then_every_route_the_workflow_returns_carries_it(flavor: str) -> None:
    captured: list[dict[str, Any]] = []

    def program() -> None:
        jobs = AsyncJobWorkflow(
            "reports", {"worker": worker(), "code": HANDLERS, "api_flavor": flavor, "auth": {"type": "iam"}}
        )
        captured.extend(jobs.routes)
        ThrottledApi("api", {"flavor": flavor, "routes": jobs.routes})

    graph = run_program(program)
    assert [r["auth"] for r in captured] == [{"type": "iam"}] * 5
    if flavor == "rest":
        methods = graph.of_type("aws:apigateway/method:Method")
        assert {m.inputs["authorization"] for m in methods if m.inputs["httpMethod"] != "OPTIONS"} == {"AWS_IAM"}
    else:
        routes = graph.of_type("aws:apigatewayv2/route:Route")
        assert {r.inputs["authorizationType"] for r in routes} == {"AWS_IAM"}


def test_without_auth_the_routes_are_public_as_before() -> None:
    captured: list[dict[str, Any]] = []

    def program() -> None:
        captured.extend(AsyncJobWorkflow("reports", {"worker": worker(), "code": HANDLERS}).routes)

    run_program(program)
    assert [("auth" in r) for r in captured] == [False] * 5
