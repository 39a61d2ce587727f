"""``workflow_states`` run in moto's Step Functions interpreter, inside a minimal state machine of
our own (AsyncJobWorkflow builds the real one): the task token round trip, the heartbeat timeout
and the fallback to polling. moto's Lambda invoke is routed to the real park and notify handlers
in this process, so the interpreter drives our code, not an echo."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, HeartbeatEndpoint
from resilient_serverless.components.websocket_notifier import push_states

from handlers.push.notify import NotifyConfig, notify
from handlers.push.park import park
from tests.unit.handlers.test_push import TOKEN_A, World, put_job

PARK_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev-push-park"
NOTIFY_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev-push-notify"
ROLE = "arn:aws:iam::123456789012:role/jobs-flow"


def definition(heartbeat_s: int, timeout_s: int) -> str:
    states = push_states(
        park_function=PARK_ARN,
        notify_function=NOTIFY_ARN,
        partition="aws",
        heartbeat_s=heartbeat_s,
        timeout_s=timeout_s,
        notify_timeout_s=10,
        next_state="Done",
        fallback_state="Poll",
    )
    return json.dumps(
        {
            "StartAt": "PushResult",
            "States": {
                **states,
                "Done": {"Type": "Pass", "Result": "pushed", "ResultPath": "$.delivery", "End": True},
                # AsyncJobWorkflow's fallback: the job stays pollable, the reason is recorded.
                "Poll": {"Type": "Pass", "Result": "polling", "ResultPath": "$.delivery", "End": True},
            },
        }
    )


def lambda_router(world: World) -> Callable[..., bytes]:
    """moto's Lambda invoke (its simple backend, no Docker), answered by the handler the name points at."""

    def invoke(_: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body) if body else {}
        try:
            if function_name.endswith("push-park"):
                result = park(event, world.deps)
            else:
                result = notify(
                    event,
                    connections=world.connections,
                    management=world.management,
                    s3=world.s3,
                    config=NotifyConfig(),
                    sleep=lambda _: None,
                )
        except Exception as error:  # Lambda reports the function's error by its type, as here
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
        return json.dumps(result).encode()

    return invoke


def keep_an_early_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's interpreter arms a task's heartbeat only after the Lambda returns, and a task success
    sent during that invocation (park releasing at once) never wakes the heartbeat wait: the task
    then fails with States.HeartbeatTimeout. AWS accepts the token from the moment the task is
    scheduled; this makes moto do the same (an outcome already there counts as the beat)."""
    original = CallbackEndpoint.setup_heartbeat_endpoint

    def setup(self: CallbackEndpoint, heartbeat_seconds: int) -> HeartbeatEndpoint:
        endpoint = original(self, heartbeat_seconds)
        if self.get_outcome() is not None:
            endpoint.notify()
        return endpoint

    monkeypatch.setattr(CallbackEndpoint, "setup_heartbeat_endpoint", setup)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        world = World()
        monkeypatch.setattr(LambdaSimpleBackend, "invoke", lambda_router(world))
        keep_an_early_outcome(monkeypatch)
        world.s3.put_object(Bucket="results", Key="job-a.json", Body=b'{"total": 42}')
        yield world


def start(world: World, job_id: str, heartbeat_s: int = 60, timeout_s: int = 120) -> str:
    machine = world.sfn.create_state_machine(
        name=f"jobs-{job_id}-{heartbeat_s}", definition=definition(heartbeat_s, timeout_s), roleArn=ROLE
    )["stateMachineArn"]
    state = {"job_id": job_id, "result": {"bucket": "results", "key": f"{job_id}.json"}}
    return str(world.sfn.start_execution(stateMachineArn=machine, input=json.dumps(state))["executionArn"])


def wait_for(check: Callable[[], Any], what: str, attempts: int = 300) -> Any:
    """Poll the interpreter's thread (bounded by attempts, not asserted on time)."""
    for _ in range(attempts):
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def finished(world: World, execution: str) -> dict[str, Any]:
    def done() -> Any:
        described = world.sfn.describe_execution(executionArn=execution)
        return described if described["status"] != "RUNNING" else None

    described = wait_for(done, "the execution to end")
    assert described["status"] == "SUCCEEDED", described
    return dict(json.loads(described["output"]))


def test_the_token_round_trip_releases_the_workflow_and_the_result_reaches_the_subscriber(world: World) -> None:
    # GIVEN a client connected to job A's socket, and the workflow parked on job A
    world.connect("c-1", "job-a", TOKEN_A)
    execution = start(world, "job-a")
    token = wait_for(lambda: (world.jobs.get("job-a") or {}).get("push_task_token"), "the parked token")
    assert token["S"]
    # WHEN the client subscribes
    response = world.subscribe("c-1", "job-a", TOKEN_A)
    # THEN the subscribe released the workflow, which pushed the result and went on to next_state
    assert json.loads(response["body"])["released"] is True
    output = finished(world, execution)
    assert output["delivery"] == "pushed"
    assert output["push"] == {"delivered": 1, "gone": 0}
    assert output["push_subscription"]["job_id"] == "job-a"
    assert json.loads(world.received("c-1")) == {"type": "result", "job_id": "job-a", "result": {"total": 42}}
    assert "push_task_token" not in (world.jobs.get("job-a") or {})


def test_a_client_that_subscribed_first_is_served_without_waiting(world: World) -> None:
    world.connect("c-1", "job-a", TOKEN_A)
    world.subscribe("c-1", "job-a", TOKEN_A)
    output = finished(world, start(world, "job-a"))
    assert (output["delivery"], output["push"]["delivered"]) == ("pushed", 1)


def test_no_subscriber_within_the_heartbeat_falls_back_to_polling_with_the_reason(world: World) -> None:
    # GIVEN a one-second heartbeat inside a one-hour timeout, and nobody subscribing
    execution = start(world, "job-a", heartbeat_s=1, timeout_s=3600)
    # WHEN the execution ends (within the polling budget of finished(): only the heartbeat can end it)
    output = finished(world, execution)
    # THEN the job falls back to polling with the reason; AWS names it States.HeartbeatTimeout, moto's
    # interpreter States.Timeout (the Catch on States.ALL takes both)
    assert output["delivery"] == "polling"
    assert output["push_error"]["Error"] in ("States.HeartbeatTimeout", "States.Timeout")
    events = world.sfn.get_execution_history(executionArn=execution)["events"]
    scheduled = next(e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled")
    assert (scheduled["heartbeatInSeconds"], scheduled["timeoutInSeconds"]) == (1, 3600)
    assert [e["type"] for e in events if e["type"] == "TaskTimedOut"] == ["TaskTimedOut"]
    assert "push" not in output


def test_a_job_submitted_without_push_falls_back_at_once(world: World) -> None:
    put_job(world.dynamodb, "job-plain", None)
    output = finished(world, start(world, "job-plain"))
    assert output["delivery"] == "polling"
    assert output["push_error"]["Error"] == "PushNotRequested"


def test_a_subscriber_gone_before_the_push_falls_back_with_the_notify_error(world: World) -> None:
    world.connect("c-1", "job-a", TOKEN_A)
    world.subscribe("c-1", "job-a", TOKEN_A)
    world.connections.remove("c-1")  # left without a $disconnect reaching us
    output = finished(world, start(world, "job-a"))
    assert output["delivery"] == "polling"
    assert output["push_error"]["Error"] == "NoSubscriberReached"
