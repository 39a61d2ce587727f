"""The generated state machine runs in moto's Step Functions interpreter: success, a failing task
retried then caught, and a timeout; the definition passes two independent ASL validators and the
structure of the specification."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from moto import mock_aws
from moto.moto_api._internal.models import moto_api_backend
from resilient_serverless.components import asl
from resilient_serverless.components.job_states import WorkflowShape, workflow_definition

from tests.conftest import ROOT

REGION, ACCOUNT = "eu-west-1", "123456789012"
FAST_RETRY = asl.RetryPolicy(("States.TaskFailed",), interval_s=1, max_attempts=2, backoff_rate=2.0, max_delay_s=1)


class Aws:
    def __init__(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.ddb.create_table(
            TableName="jobs",
            KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        iam = boto3.client("iam", region_name=REGION)
        self.role = iam.create_role(RoleName="sm", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as z:
            z.writestr("worker.py", "def handler(event, context): return event")
        self.worker_arn = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="worker",
            Runtime="python3.12",
            Role=self.role,
            Handler="worker.handler",
            Code={"ZipFile": package.getvalue()},
        )["FunctionArn"]
        self.hooks = self.sqs.create_queue(QueueName="hooks")["QueueUrl"]

    def shape(self, **overrides: Any) -> WorkflowShape:
        args: dict[str, Any] = {
            "table_name": "jobs",
            "worker_arn": self.worker_arn,
            "worker_mode": "invoke",
            "task_timeout_s": 20,
            "heartbeat_s": None,
            "execution_timeout_s": 60,
            "worker_retry": FAST_RETRY,
            "notify_queue_url": self.hooks,
            "results_bucket": "results",
        }
        return WorkflowShape(**{**args, **overrides})

    def run(self, shape: WorkflowShape, job_id: str = "job-1", status: str = "queued") -> dict[str, Any]:
        self.ddb.put_item(TableName="jobs", Item={"job_id": {"S": job_id}, "status": {"S": status}})
        arn = self.sfn.create_state_machine(
            name=f"sm-{job_id}", definition=asl.to_json(workflow_definition(shape)), roleArn=self.role
        )["stateMachineArn"]
        payload: dict[str, Any] = {"job_id": job_id, "input": {"pages": 2}, "input_pointer": None, "deadline": 0}
        execution = self.sfn.start_execution(stateMachineArn=arn, name=job_id, input=json.dumps(payload))
        for _ in range(300):
            described: dict[str, Any] = dict(self.sfn.describe_execution(executionArn=execution["executionArn"]))
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
        described["history"] = self.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
        return described

    def job(self, job_id: str = "job-1") -> dict[str, str]:
        item = self.ddb.get_item(TableName="jobs", Key={"job_id": {"S": job_id}})["Item"]
        return {k: str(next(iter(v.values()))) for k, v in item.items()}

    def notices(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in self.sqs.receive_message(QueueUrl=self.hooks).get("Messages", [])]


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        yield Aws()


def entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def test_a_job_that_succeeds_records_its_result_and_announces_it(aws: Aws) -> None:
    # GIVEN a worker that writes its result and answers {bucket, key}
    moto_api_backend.set_lambda_simple_result(json.dumps({"bucket": "b", "key": "results/job-1"}), ACCOUNT, REGION)
    # WHEN the job runs
    execution = aws.run(aws.shape())
    # THEN the execution succeeds, the job moved queued -> running -> succeeded with its result
    assert execution["status"] == "SUCCEEDED", execution
    job = aws.job()
    assert (job["status"], job["result_bucket"], job["result_key"]) == ("succeeded", "b", "results/job-1")
    assert job["execution_arn"] == execution["executionArn"] and job["started_at"] <= job["finished_at"]
    assert entered(execution["history"]) == ["MarkRunning", "RunWorker", "RecordSucceeded", "NotifySucceeded", "Done"]
    assert aws.notices() == [{"job_id": "job-1", "status": "succeeded"}]


def test_the_worker_is_told_where_to_write_and_which_table_to_read(aws: Aws) -> None:
    # GIVEN a worker created before the workflow: nothing in its environment names the workflow's
    moto_api_backend.set_lambda_simple_result(
        json.dumps({"bucket": "results", "key": "results/job-1"}), ACCOUNT, REGION
    )
    # WHEN the job runs
    execution = aws.run(aws.shape())
    # THEN the worker's payload carries the bucket, the job's result key and the job table
    calls = [e["taskScheduledEventDetails"] for e in execution["history"] if e["type"] == "TaskScheduled"]
    (worker,) = [json.loads(c["parameters"])["Payload"] for c in calls if c["resourceType"] == "lambda"]
    assert {k: worker[k] for k in ("job_id", "results_bucket", "result_key", "jobs_table")} == {
        "job_id": "job-1",
        "results_bucket": "results",
        "result_key": "results/job-1",
        "jobs_table": "jobs",
    }
    assert execution["status"] == "SUCCEEDED", execution


def scheduled_tokens(aws: Aws, execution_arn: str, count: int) -> list[str]:
    """The task tokens of the first ``count`` worker calls, read from the execution history."""
    for _ in range(400):
        events = aws.sfn.get_execution_history(executionArn=execution_arn)["events"]
        calls = [e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled"]
        tokens = [json.loads(c["parameters"])["Payload"]["task_token"] for c in calls if c["resourceType"] == "lambda"]
        if len(tokens) >= count:
            return tokens
        time.sleep(0.05)
    raise AssertionError(f"only {len(tokens)} worker calls were scheduled")


def fail_until_moved_on(aws: Aws, execution_arn: str, token: str, attempt: int) -> None:
    """Report the attempt failed; moto may see the token before the task waits on it (a failure
    sent then is lost), so send again until the execution has moved past this attempt."""
    from botocore.exceptions import ClientError

    for _ in range(200):
        with contextlib.suppress(ClientError):
            aws.sfn.send_task_failure(taskToken=token, error="Report.RenderFailed", cause=f"attempt {attempt}")
        events = aws.sfn.get_execution_history(executionArn=execution_arn)["events"]
        failed = [e for e in events if e["type"] == "TaskFailed"]
        if len(failed) > attempt:
            return
        time.sleep(0.1)
    raise AssertionError(f"attempt {attempt} never failed")


def test_a_failing_task_is_retried_then_caught_and_recorded(aws: Aws) -> None:
    # GIVEN a callback worker that reports a failure on every attempt
    shape = aws.shape(worker_mode="callback", task_timeout_s=50, heartbeat_s=40)
    aws.ddb.put_item(TableName="jobs", Item={"job_id": {"S": "job-1"}, "status": {"S": "queued"}})
    arn = aws.sfn.create_state_machine(name="sm", definition=asl.to_json(workflow_definition(shape)), roleArn=aws.role)
    payload: dict[str, Any] = {"job_id": "job-1", "input": {}, "input_pointer": None, "deadline": 0}
    started = aws.sfn.start_execution(stateMachineArn=arn["stateMachineArn"], name="job-1", input=json.dumps(payload))
    # WHEN each attempt fails
    for attempt in range(1 + FAST_RETRY.max_attempts):
        token = scheduled_tokens(aws, started["executionArn"], attempt + 1)[attempt]
        fail_until_moved_on(aws, started["executionArn"], token, attempt)
    for _ in range(200):
        execution = aws.sfn.describe_execution(executionArn=started["executionArn"])
        if execution["status"] != "RUNNING":
            break
        time.sleep(0.05)
    # THEN the worker was called 1 + 2 times, the last error is on the job, the execution fails
    assert execution["status"] == "FAILED" and execution["error"] == "Jobs.Failed", execution
    assert len(scheduled_tokens(aws, started["executionArn"], 3)) == 1 + FAST_RETRY.max_attempts
    job = aws.job()
    assert (job["status"], job["error"]) == ("failed", "Report.RenderFailed"), job
    assert isinstance(job["cause"], str)  # moto drops a callback's cause ("null"); AWS passes "attempt 2"
    assert aws.notices() == [{"job_id": "job-1", "status": "failed"}]


def test_a_worker_past_its_task_timeout_is_recorded_as_timed_out(aws: Aws) -> None:
    # GIVEN a callback worker that never reports back, with a 2 s task timeout
    shape = aws.shape(worker_mode="callback", task_timeout_s=2, heartbeat_s=1)
    # WHEN the job runs
    execution = aws.run(shape)
    # THEN States.Timeout is caught (never retried), recorded on the job, and the execution fails
    assert execution["status"] == "FAILED" and execution["error"] == "Jobs.TimedOut", execution
    job = aws.job()
    assert job["status"] == "timed_out" and job["error"] in ("States.Timeout", "States.HeartbeatTimeout"), job
    assert aws.notices() == [{"job_id": "job-1", "status": "timed_out"}]


def test_a_cancelled_job_is_not_run(aws: Aws) -> None:
    # GIVEN a job cancelled while its start was queued
    # WHEN its execution starts
    execution = aws.run(aws.shape(), status="cancelled")
    # THEN the conditional write refuses it: no worker call, the job stays cancelled
    assert execution["status"] == "SUCCEEDED"
    assert entered(execution["history"]) == ["MarkRunning", "NotRunnable"]
    assert aws.job()["status"] == "cancelled"


def test_a_job_cancelled_while_it_runs_stays_cancelled_without_stop_execution(aws: Aws) -> None:
    # GIVEN a running job (Express cannot be stopped: cancelling is the status write alone)
    shape = aws.shape(worker_mode="callback", task_timeout_s=50, heartbeat_s=40)
    aws.ddb.put_item(TableName="jobs", Item={"job_id": {"S": "job-1"}, "status": {"S": "queued"}})
    arn = aws.sfn.create_state_machine(name="sm", definition=asl.to_json(workflow_definition(shape)), roleArn=aws.role)
    payload: dict[str, Any] = {"job_id": "job-1", "input": {}, "input_pointer": None, "deadline": 0}
    started = aws.sfn.start_execution(stateMachineArn=arn["stateMachineArn"], name="job-1", input=json.dumps(payload))
    scheduled_tokens(aws, started["executionArn"], 1)
    # WHEN the cancel's conditional write lands, and the worker, at its next check, gives up
    aws.ddb.update_item(
        TableName="jobs",
        Key={"job_id": {"S": "job-1"}},
        UpdateExpression="SET #s = :c",
        ConditionExpression="#s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": {"S": "cancelled"}, ":r": {"S": "running"}},
    )
    for attempt in range(1 + FAST_RETRY.max_attempts):
        token = scheduled_tokens(aws, started["executionArn"], attempt + 1)[attempt]
        fail_until_moved_on(aws, started["executionArn"], token, attempt)
    for _ in range(200):
        execution = aws.sfn.describe_execution(executionArn=started["executionArn"])
        if execution["status"] != "RUNNING":
            break
        time.sleep(0.05)
    # THEN the workflow's conditional write leaves the job cancelled and the execution ends quietly
    history = [dict(e) for e in aws.sfn.get_execution_history(executionArn=started["executionArn"])["events"]]
    assert execution["status"] == "SUCCEEDED", execution
    assert entered(history)[-2:] == ["RecordFailed", "NotRunnable"]
    assert aws.job()["status"] == "cancelled"
    assert aws.notices() == []


def test_the_execution_timeout_bounds_the_whole_run(aws: Aws) -> None:
    # GIVEN a callback worker that heartbeats never, and an execution timeout below its task timeout
    definition = workflow_definition(aws.shape(worker_mode="callback", task_timeout_s=30, heartbeat_s=20))
    definition["TimeoutSeconds"] = 1  # what a mis-set task timeout would meet; validation forbids it in components
    aws.ddb.put_item(TableName="jobs", Item={"job_id": {"S": "job-1"}, "status": {"S": "queued"}})
    arn = aws.sfn.create_state_machine(name="sm", definition=json.dumps(definition), roleArn=aws.role)
    payload: dict[str, Any] = {"job_id": "job-1", "input": {}, "input_pointer": None, "deadline": 0}
    execution = aws.sfn.start_execution(stateMachineArn=arn["stateMachineArn"], input=json.dumps(payload))
    for _ in range(100):
        described = aws.sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    # THEN the execution ends TIMED_OUT: the backstop the status handler reports as timed_out
    assert described["status"] == "TIMED_OUT"


# --- independent validation ---------------------------------------------------------------------
def definitions() -> dict[str, dict[str, Any]]:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:worker"
    base: dict[str, Any] = {
        "table_name": "jobs",
        "worker_arn": arn,
        "worker_mode": "invoke",
        "task_timeout_s": 20,
        "heartbeat_s": None,
        "execution_timeout_s": 60,
        "worker_retry": FAST_RETRY,
    }
    hooks = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/hooks"
    return {
        "invoke": workflow_definition(WorkflowShape(**base)),
        "invoke+webhooks": workflow_definition(WorkflowShape(**base, notify_queue_url=hooks)),
        "callback": workflow_definition(
            WorkflowShape(**{**base, "worker_mode": "callback", "heartbeat_s": 10, "task_timeout_s": 50})
        ),
    }


@pytest.mark.parametrize("variant", sorted(definitions()))
def test_the_definition_passes_our_bar_and_the_spec_schema(variant: str) -> None:
    definition = definitions()[variant]
    assert asl.problems_in(definition) == []
    jsonschema.Draft202012Validator(asl.ASL_SCHEMA).validate(definition)


@pytest.mark.parametrize("variant", sorted(definitions()))
def test_the_definition_parses_in_an_independent_asl_grammar(variant: str) -> None:
    # moto's parser is LocalStack's ANTLR grammar of the States Language, written apart from ours.
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    program: Any = AmazonStateLanguageParser.parse(json.dumps(definitions()[variant]))[0]
    assert program.start_at.start_at_name == "MarkRunning"


ASL_VALIDATOR = shutil.which("asl-validator") or next(
    (str(p) for p in (ROOT / "node_modules/.bin/asl-validator",) if p.exists()),
    None,
)


@pytest.mark.skipif(
    ASL_VALIDATOR is None,
    reason="the npm asl-validator is not installed (no Python ASL validator exists on PyPI): `npm i asl-validator`",
)
@pytest.mark.parametrize("variant", sorted(definitions()))
def test_the_definition_passes_the_npm_asl_validator(variant: str, tmp_path: Path) -> None:
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definitions()[variant]))
    done = subprocess.run([str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda d: d.pop("TimeoutSeconds"),
            "TimeoutSeconds=None must bound the execution: 1 to 31536000 s (Standard workflow)",
        ),
        (
            lambda d: d["States"]["RunWorker"].pop("TimeoutSeconds"),
            "state 'RunWorker' has TimeoutSeconds=None: every Task needs 1 to 31536000 s",
        ),
        (
            lambda d: d["States"]["RunWorker"].pop("Retry"),
            "state 'RunWorker' has no Retry: a transient error fails the job",
        ),
        (
            lambda d: d["States"]["RunWorker"].pop("Catch"),
            "state 'RunWorker' has no Catch: a failure ends the execution without recording it",
        ),
        (
            lambda d: d["States"]["RunWorker"]["Retry"][0].pop("JitterStrategy"),
            "state 'RunWorker' Retry[0] has JitterStrategy=None: retries in step need 'FULL' jitter",
        ),
        (
            lambda d: d["States"]["RunWorker"]["Retry"][0].pop("MaxDelaySeconds"),
            "state 'RunWorker' Retry[0] has no MaxDelaySeconds: the backoff grows without a cap",
        ),
        (
            lambda d: d["States"]["RunWorker"].pop("HeartbeatSeconds"),
            "state 'RunWorker' waits for a task token with HeartbeatSeconds=None: it needs a heartbeat below its "
            "TimeoutSeconds, or a lost callback parks the execution until the timeout",
        ),
    ],
)
def test_our_bar_names_each_missing_guard(mutate: Any, problem: str) -> None:
    definition = definitions()["callback"]
    mutate(definition)
    assert problem in asl.problems_in(definition)
