"""AsyncJobWorkflow refuses every bad argument, by type and by range, before its first child:
each bad input gets its exact message, and nothing is registered."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from resilient_serverless.components import AsyncJobWorkflow, ConfigError, ResilientFunction
from resilient_serverless.components.resilient_function import ResilientFunctionArgs
from resilient_serverless.components.testing import AwsMocks, run_program

from tests.conftest import HANDLERS

WORKER = "worker"  # stands for the ResilientFunction each case builds, unless the case replaces it
FUNCTION_ARGS = ", ".join(sorted(ResilientFunctionArgs.__annotations__))


class Counting(AwsMocks):
    """Records each resource constructed, as it is constructed (the mock monitor hears of a
    registration later, asynchronously: an error raised after a child was constructed could
    otherwise pass for one raised before)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __enter__(self) -> Counting:
        self._original = pulumi.Resource.__init__
        names, original = self.names, self._original

        def recording(resource: pulumi.Resource, t: str, name: str, *args: Any, **kwargs: Any) -> None:
            names.append(name)
            original(resource, t, name, *args, **kwargs)

        pulumi.Resource.__init__ = recording  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        pulumi.Resource.__init__ = self._original  # type: ignore[method-assign]


def raw_function() -> aws.lambda_.Function:
    return aws.lambda_.Function(
        "raw",
        role="arn:aws:iam::123456789012:role/raw",
        handler="app.handler",
        runtime="python3.13",
        code=pulumi.AssetArchive({}),
    )


def attempt(mocks: Counting | None = None, **args: Any) -> tuple[list[str], list[str]]:
    """The problems of one AsyncJobWorkflow and the resources constructed once it was called."""
    mocks = mocks or Counting()
    problems: list[str] = []

    def program() -> None:
        worker: Any = ResilientFunction(
            "renderer",
            {"handler": "handlers.jobs.worker.lambda_handler", "code": HANDLERS, "invocation": "async", "timeout": 60},
        )
        if args.get("worker") == "raw":
            args["worker"] = raw_function()
        mocks.names.clear()  # what the workflow constructs, not its given worker
        AsyncJobWorkflow("reports", {"worker": worker, "code": HANDLERS, **args})

    with mocks:
        try:
            run_program(program, mocks=mocks)
        except ConfigError as error:
            problems = error.problems
    return problems, list(mocks.names)


SYNC_TIMEOUT = (
    "functions.timeout=45 is too long for a sync function: it must be below 30 s so it gives up before API Gateway "
    "(29 s REST, 30 s HTTP): use invocation='async' for longer work"
)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"functions": {"memmory": 1024}},
            f"functions: unknown argument 'memmory': did you mean 'memory'? (valid arguments: {FUNCTION_ARGS})",
        ),
        ({"functions": {"timeout": 45}}, SYNC_TIMEOUT),
        (
            {"functions": {"timeout": 29}},
            "functions.timeout=29 must be below 29 s with api_flavor='rest': the REST integration gives up at 29 s",
        ),
        ({"functions": {"memory": 64}}, "functions.memory=64 is outside 128 to 10240 MB (Lambda memory)"),
        ({"functions": "big"}, "functions='big' must be a dict of ResilientFunction arguments"),
        ({"code": "/nowhere/handlers"}, "code='/nowhere/handlers' is not an existing path"),
        (
            {"worker": "raw"},
            "worker=a pulumi_aws.lambda_.function.Function must be a ResilientFunction (the function that does the "
            "work): wrap the handler in a ResilientFunction",
        ),
        ({"webhooks": "false"}, "webhooks='false' must be True or False"),
        (
            {"webhooks": {"url": "https://hooks.example.com"}},
            "webhooks={'url': 'https://hooks.example.com'} must be True or False",
        ),
        ({"retry": "fast"}, "retry='fast' must be a dict of retry settings"),
        ({"auth": {"type": "jwt"}}, "auth.type='jwt' must be one of iam, cognito, lambda on REST (jwt is HTTP only)"),
        ({"auth": "iam"}, "auth='iam' must be a dict with a type (iam or cognito or lambda on REST)"),
        ({"log_level": "DEBUG"}, "log_level='DEBUG' is not one of 'ALL', 'ERROR', 'FATAL'"),
        ({"log_execution_data": "no"}, "log_execution_data='no' must be True or False"),
        ({"alarm_topic_arn": 42}, "alarm_topic_arn=42 must be an SNS topic ARN"),
        ({"tags": {"team": 7}}, "tags={'team': 7} must map names to strings"),
        ({"input_schema": "object"}, "input_schema='object' must be a JSON schema object"),
    ],
)
def test_each_bad_argument_is_named_exactly_before_any_resource(args: dict[str, Any], problem: str) -> None:
    problems, constructed = attempt(**args)
    assert problems == [problem]
    assert constructed == []


def test_every_bad_argument_is_named_in_one_error() -> None:
    problems, constructed = attempt(
        functions={"timeout": 45}, code="/nowhere/handlers", webhooks="false", log_level="DEBUG", worker="raw"
    )
    assert constructed == []
    assert problems == [
        "worker=a pulumi_aws.lambda_.function.Function must be a ResilientFunction (the function that does the "
        "work): wrap the handler in a ResilientFunction",
        "code='/nowhere/handlers' is not an existing path",
        SYNC_TIMEOUT,
        "webhooks='false' must be True or False",
        "log_level='DEBUG' is not one of 'ALL', 'ERROR', 'FATAL'",
    ]


@pytest.mark.parametrize(("webhooks", "expected"), [(False, False), (True, True)])
def test_webhooks_given_as_a_bool_turn_them_on_or_off(webhooks: bool, expected: bool) -> None:
    mocks = Counting()
    problems, _ = attempt(mocks, webhooks=webhooks)
    assert problems == []
    assert ("reports-webhooks" in mocks.names) is expected, mocks.names
