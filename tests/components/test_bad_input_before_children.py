"""Bad input to a component is one ConfigError naming every key, raised before the first child:
nested consumer arguments included, ``None`` args, and the Pulumi style of keyword arguments."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from resilient_serverless.components import ConfigError, PriorityQueuePair, ResilientFunction, ThrottledApi
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

PAIR = {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS}
FUNCTION = {"handler": "app.handlers.orders.lambda_handler", "code": HANDLERS}


def refused(make: Any) -> tuple[ConfigError, Graph]:
    """Run ``make`` as a program; return the error it raised and what it had registered by then."""
    caught: list[ConfigError] = []

    def program() -> None:
        try:
            make()
        except ConfigError as error:
            caught.append(error)

    graph = run_program(program, project="shop", stack="dev")
    assert len(caught) == 1, "no ConfigError was raised"
    return caught[0], graph


# --- the pair's nested consumer arguments ----------------------------------------------------------
@pytest.mark.parametrize(
    ("consumer", "problem"),
    [
        ({"timeout": 0}, "consumer.timeout=0 is outside 1 to 900 seconds (Lambda timeout)"),
        ({"timeout": 901}, "consumer.timeout=901 is outside 1 to 900 seconds (Lambda timeout)"),
        ({"memory": 64}, "consumer.memory=64 is outside 128 to 10240 MB (Lambda memory)"),
        ({"environment": "A=1"}, "consumer.environment='A=1' must be a dict of names to values"),
        ({"transform": {"queue": {}}}, "consumer: unknown transform key 'queue' (valid transform keys: alarm, "),
    ],
)
def test_a_bad_nested_consumer_argument_is_named_before_any_queue(consumer: dict[str, Any], problem: str) -> None:
    # GIVEN a pair whose consumer arguments hold one bad value
    # WHEN it is declared
    error, graph = refused(lambda: PriorityQueuePair("inbox", {**PAIR, "consumer": consumer}))
    # THEN the pair's one error names the nested key, and nothing (no queue) was registered
    assert str(error).startswith("PriorityQueuePair 'inbox': ")
    assert [p for p in error.problems if p.startswith(problem)], error.problems
    assert len(graph) == 0


def test_an_unknown_consumer_key_lists_the_valid_ones() -> None:
    error, graph = refused(lambda: PriorityQueuePair("inbox", {**PAIR, "consumer": {"timeot": 5}}))
    assert error.problems[0].startswith(
        "consumer: unknown argument 'timeot': did you mean 'timeout'? "
        "(valid arguments: account_concurrency, alarm_topic_arn, "
    )
    assert len(graph) == 0


def test_every_bad_key_top_level_and_nested_is_in_the_one_error() -> None:
    error, _ = refused(
        lambda: PriorityQueuePair(
            "inbox", {**PAIR, "batch_size": 0, "consumer": {"timeout": 0, "memory": 1}, "max_receive_count": 0}
        )
    )
    assert error.problems == [
        "consumer.timeout=0 is outside 1 to 900 seconds (Lambda timeout)",
        "consumer.memory=1 is outside 128 to 10240 MB (Lambda memory)",
        "batch_size=0 is outside 1 to 10000 (SQS mapping batch)",
        "max_receive_count=0 is outside 1 to 1000 (SQS redrive maxReceiveCount)",
    ]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"handler": "ingest"}, "handler='ingest' must be 'module.function', e.g. 'handlers.orders.lambda_handler'"),
        ({"code": "/no/such/dir"}, "code='/no/such/dir' is not an existing path"),
        ({"consumer": ["timeout", 5]}, "consumer=['timeout', 5] must be a dict"),
        ({"max_concurrency": 5}, "max_concurrency=5 must be a dict"),
        ({"surge": 100}, "surge=100 must be a dict"),
        ({"shards": 4}, "shards=4 must be a dict"),
        ({"oldest_age_alarm_s": 60}, "oldest_age_alarm_s=60 must be a dict"),
    ],
)
def test_bad_shapes_of_the_pair_are_named_not_raised_raw(args: dict[str, Any], problem: str) -> None:
    error, graph = refused(lambda: PriorityQueuePair("inbox", {**PAIR, **args}))
    assert problem in error.problems, error.problems
    assert len(graph) == 0


def test_a_valid_nested_consumer_still_reaches_its_function() -> None:
    def program() -> None:
        PriorityQueuePair("inbox", {**PAIR, "consumer": {"timeout": 20, "memory": 256}})

    graph = run_program(program, project="shop", stack="dev")
    functions = graph.of_type("aws:lambda/function:Function")
    assert {(f.inputs["timeout"], f.inputs["memorySize"]) for f in functions} == {(20, 256)}


# --- None args and keyword arguments --------------------------------------------------------------
def test_none_args_name_what_is_required() -> None:
    error, graph = refused(lambda: ResilientFunction("f", None))
    assert str(error) == "ResilientFunction 'f': handler is required; code is required"
    assert len(graph) == 0


def test_none_args_of_the_pair_name_what_is_required() -> None:
    error, _ = refused(lambda: PriorityQueuePair("inbox", None))
    assert error.problems == [
        "handler is required (the consumers' handler and package)",
        "code is required (the consumers' handler and package)",
    ]


def test_args_that_are_not_a_dict_show_the_two_calls() -> None:
    error, graph = refused(lambda: ResilientFunction("f", "handlers.orders.lambda_handler"))
    assert str(error) == (
        "ResilientFunction 'f': args='handlers.orders.lambda_handler' must be a dict of arguments: "
        "ResilientFunction('f', {'key': value, ...}) or ResilientFunction('f', key=value, ...)"
    )
    assert len(graph) == 0


def test_pulumi_style_keyword_arguments_are_accepted() -> None:
    # GIVEN the call a Pulumi user writes first: keyword arguments, as for pulumi_aws resources
    def program() -> None:
        fn = ResilientFunction("orders", handler="app.handlers.orders.lambda_handler", code=HANDLERS, timeout=7)
        pair = PriorityQueuePair("inbox", handler="app.handlers.ingest.lambda_handler", code=HANDLERS, ttl_s=600)
        pulumi.export("fn", fn.function_name)
        pulumi.export("ttl", pair.settings.ttl_s)

    # WHEN it runs THEN the components are built from those arguments
    graph = run_program(program, project="shop", stack="dev")
    orders = graph.one("aws:lambda/function:Function", "orders-function")
    assert orders.inputs["timeout"] == 7
    assert graph.exports["ttl"] == 600


def test_a_bad_keyword_argument_is_the_usual_error() -> None:
    error, graph = refused(lambda: ResilientFunction("f", handler="h.h", code=HANDLERS, memroy=256))
    assert error.problems[0].startswith("unknown argument 'memroy': did you mean 'memory'? (valid arguments: ")
    assert len(graph) == 0


def test_a_key_given_both_ways_is_refused() -> None:
    error, _ = refused(lambda: ResilientFunction("f", {**FUNCTION, "timeout": 5}, timeout=6))
    assert str(error) == "ResilientFunction 'f': timeout is given both in args and as a keyword argument"


def test_opts_still_work_positionally_and_by_keyword() -> None:
    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        ResilientFunction("a", FUNCTION, pulumi.ResourceOptions(parent=parent))
        ResilientFunction("b", opts=pulumi.ResourceOptions(parent=parent), **FUNCTION)

    graph = run_program(program, project="shop", stack="dev")
    parent = graph.one("test:index:Parent", "parent")
    assert {c.name for c in graph.children_of(parent)} == {"a", "b"}


def test_the_api_takes_keyword_arguments_and_none_too() -> None:
    def program() -> None:
        fn = ResilientFunction("get", **FUNCTION)
        ThrottledApi("front", flavor="http", routes=[{"method": "GET", "path": "/x", "function": fn}])

    graph = run_program(program, project="shop", stack="dev")
    assert graph.one("aws:apigatewayv2/stage:Stage", "front-stage").inputs["name"] == "$default"
    error, _ = refused(lambda: ThrottledApi("front", None))
    assert str(error) == "ThrottledApi 'front': routes is required: at least one route"
