"""Push in the job workflow, on moto's Step Functions interpreter: the real definition
(``job_states.workflow_definition``) with the notifier's states placed in it, run as Standard and
as Express. The job table is moto's DynamoDB, written by the definition's own ``updateItem``
tasks; moto's Lambda invoke is routed to a worker and to the real notify handler in this process,
so the interpreter drives our code, not an echo. And the ASL alone: no Express definition waits."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from resilient_serverless.components import asl
from resilient_serverless.components.job_states import WorkflowShape, workflow_definition
from resilient_serverless.components.websocket_notifier import push_states

from handlers.push.notify import NotifyConfig, PushFailed, notify

from .test_subscribe_and_notify import TOKEN_A, World

WORKER_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev-reports-worker"
NOTIFY_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:shop-dev-push-notify"
ROLE = "arn:aws:iam::123456789012:role/jobs-flow"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-dev-reports-webhooks"


def shape(*, push: bool = True, mode: str = "invoke", webhooks: bool = False) -> WorkflowShape:
    return WorkflowShape(
        table_name="jobs",
        worker_arn=WORKER_ARN,
        worker_mode=mode,
        task_timeout_s=60,
        heartbeat_s=30 if mode == "callback" else None,
        execution_timeout_s=300,
        worker_retry=asl.RetryPolicy(("Lambda.ServiceException",), 1, 1, 2.0, 5),
        notify_queue_url=QUEUE if webhooks else None,
        push_states=functools.partial(push_states, notify_function=NOTIFY_ARN, partition="aws", notify_timeout_s=10)
        if push
        else None,
    )


class Router:
    """moto's Lambda invoke (its simple backend, no Docker), answered by the function the name points at."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.worker_fails: set[str] = set()
        self.notify_fails = False

    def __call__(self, _: Any, name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body) if body else {}
        try:
            if name.endswith("reports-worker"):
                if event["job_id"] in self.worker_fails:
                    raise RuntimeError("the render failed")
                result: Any = {"bucket": "results", "key": f"{event['job_id']}.json"}
            else:
                if self.notify_fails:
                    raise PushFailed('{"failed": 1}')
                result = notify(
                    event,
                    jobs=self.world.jobs,
                    connections=self.world.connections,
                    management=self.world.management,
                    s3=self.world.s3,
                    config=NotifyConfig(),
                    sleep=lambda _: None,
                )
        except Exception as error:  # Lambda reports the function's error by its type, as here
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
        return json.dumps(result).encode()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        world = World()
        world.router = Router(world)  # type: ignore[attr-defined]
        router = world.router  # type: ignore[attr-defined]

        def invoke(backend: Any, *args: Any) -> bytes:  # a function: the backend binds to it as self
            return router(backend, *args)

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
        world.s3.put_object(Bucket="results", Key="job-a.json", Body=b'{"total": 42}')
        yield world


def run(world: World, job_id: str, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start the job's execution and wait for its end: (described execution, history events)."""
    sfn: Any = world.sfn
    machine = sfn.create_state_machine(
        name=f"reports-{job_id}-{kind.lower()}",
        definition=json.dumps(workflow_definition(shape())),
        roleArn=ROLE,
        type=kind,
    )["stateMachineArn"]
    state: dict[str, Any] = {"job_id": job_id, "input": {}, "input_pointer": None, "deadline": None, "owner": "o"}
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(state))["executionArn"]
    for _ in range(400):  # the interpreter runs in a thread: poll it (bounded by attempts, not time)
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the execution never ended")
    return described, sfn.get_execution_history(executionArn=execution)["events"]


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def job(world: World, job_id: str) -> dict[str, Any]:
    return {k: next(iter(v.values())) for k, v in (world.jobs.get(job_id) or {}).items()}


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_the_status_is_recorded_first_then_the_subscriber_is_told(world: World, kind: str) -> None:
    # GIVEN a client subscribed to a queued job
    world.finish("job-a", "queued")
    world.connect("c-1", "job-a", TOKEN_A)
    assert json.loads(world.subscribe("c-1", "job-a", TOKEN_A)["body"])["type"] == "subscribed"
    # WHEN its execution runs
    described, events = run(world, "job-a", kind)
    # THEN the success was recorded before any push state, and the push told the subscriber
    assert described["status"] == "SUCCEEDED", described
    states = entered(events)
    assert states == ["MarkRunning", "RunWorker", "RecordSucceeded", "PushSucceeded", "Done"]
    assert job(world, "job-a")["status"] == "succeeded"
    assert json.loads(world.received("c-1")) == {
        "type": "result",
        "job_id": "job-a",
        "status": "succeeded",
        "result": {"total": 42},
    }
    assert json.loads(described["output"])["push"] == {"delivered": 1, "gone": 0}


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_a_job_nobody_subscribed_to_is_succeeded_at_once(world: World, kind: str) -> None:
    world.finish("job-a", "queued")
    described, events = run(world, "job-a", kind)
    assert described["status"] == "SUCCEEDED"
    assert entered(events)[-2:] == ["PushSucceeded", "Done"]
    assert "push_error" not in job(world, "job-a") and job(world, "job-a")["status"] == "succeeded"


def test_a_failed_push_is_recorded_as_push_error_and_never_changes_the_status(world: World) -> None:
    world.finish("job-a", "queued")
    world.router.notify_fails = True  # type: ignore[attr-defined]
    described, events = run(world, "job-a", "STANDARD")
    assert described["status"] == "SUCCEEDED"
    assert entered(events)[-3:] == ["PushSucceeded", "RecordPushErrorSucceeded", "Done"]
    recorded = job(world, "job-a")
    assert recorded["status"] == "succeeded"
    assert json.loads(recorded["push_error"])["Error"] == "PushFailed"


def test_a_failed_job_is_recorded_failed_then_its_subscriber_is_told(world: World) -> None:
    world.finish("job-a", "queued")
    world.connect("c-1", "job-a", TOKEN_A)
    world.subscribe("c-1", "job-a", TOKEN_A)
    world.router.worker_fails.add("job-a")  # type: ignore[attr-defined]
    described, events = run(world, "job-a", "EXPRESS")
    assert described["status"] == "FAILED"
    assert entered(events)[-3:] == ["RecordFailed", "PushFailed", "JobFailed"]
    message = json.loads(world.received("c-1"))
    assert (message["job_id"], message["status"]) == ("job-a", "failed")


# --- the ASL alone: every generated definition -------------------------------------------------------------
SHAPES = {
    f"{mode}-{'push' if push else 'poll'}-{'hooks' if hooks else 'nohooks'}": shape(
        push=push, mode=mode, webhooks=hooks
    )
    for mode in ("invoke", "callback")
    for push in (True, False)
    for hooks in (True, False)
}
# Express workflows run Request Response integrations only (Step Functions "service integration
# patterns"); AsyncJobWorkflow refuses worker_mode='callback' on Express.
EXPRESS_SHAPES = [name for name in SHAPES if name.startswith("invoke")]


def resources(definition: Mapping[str, Any]) -> list[str]:
    return [str(state.get("Resource", "")) for _, state in asl.tasks_of(definition)]


def reachable_without(definition: Mapping[str, Any], through: Callable[[str], bool]) -> set[str]:
    """States reachable from StartAt on paths that never enter a state for which ``through`` holds."""
    states = definition["States"]
    seen: set[str] = set()
    todo = [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if through(name):
            continue
        state = states[name]
        nexts = [state.get("Next"), state.get("Default"), *(c.get("Next") for c in state.get("Catch", []))]
        nexts += [c.get("Next") for c in state.get("Choices", [])]
        todo += [n for n in nexts if n]
    return seen


@pytest.mark.parametrize("name", EXPRESS_SHAPES)
def test_no_express_definition_waits_for_a_token_or_a_sync_job(name: str) -> None:
    definition = workflow_definition(SHAPES[name])
    waiting = [r for r in resources(definition) if r.endswith((".waitForTaskToken", ".sync"))]
    assert waiting == [], name
    assert asl.problems_in(definition, express=True) == []


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_push_state_comes_after_its_status_is_recorded(name: str) -> None:
    definition = workflow_definition(SHAPES[name])
    pushes = {s for s in definition["States"] if s.startswith("Push")}
    assert (len(pushes) == 3) is name.split("-")[1].startswith("push"), pushes
    recorded = {"RecordSucceeded", "RecordFailed", "RecordTimedOut"}
    assert reachable_without(definition, lambda s: s in recorded) & pushes == set()
    for push in pushes:
        record = "Record" + push.removeprefix("Push")
        assert definition["States"][record]["Next"] == push
        assert definition["States"][push]["Resource"] == "arn:aws:states:::lambda:invoke"
        assert definition["States"][push]["Catch"][0]["Next"] == f"RecordPushError{push.removeprefix('Push')}"
