"""PriorityQueuePair mappings invoke the consumer's ``live`` alias where it has one."""

from __future__ import annotations

from typing import Any

from resilient_serverless.components import PriorityQueuePair
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

MAPPING, ALIAS = "aws:lambda/eventSourceMapping:EventSourceMapping", "aws:lambda/alias:Alias"
FUNCTION = "aws:lambda/function:Function"


def build(consumer: dict[str, Any]) -> Graph:
    def program() -> None:
        PriorityQueuePair(
            "jobs",
            {
                "handler": "app.handlers.ingest.lambda_handler",
                "code": HANDLERS,
                "consumer": consumer,
                "surge": {"backlog": 50},
            },
        )

    return run_program(program, project="not-ours", stack="eu-north")


def test_a_consumer_with_snapstart_is_invoked_through_its_alias() -> None:
    # GIVEN consumers with SnapStart (a published version behind the live alias)
    graph = build({"snap_start": True})
    # WHEN the mappings are created
    for role in ("high", "low", "surge"):
        mapping = graph.one(MAPPING, f"jobs-{role}-mapping")
        alias = graph.one(ALIAS, f"jobs-{role}-consumer-live")
        # THEN each names its consumer's alias (qualified ARN), and so depends on it
        assert mapping.inputs["functionName"] == alias.outputs["arn"], mapping.urn
        assert alias.urn in mapping.dependencies, mapping.urn


def test_a_consumer_without_an_alias_is_invoked_by_name() -> None:
    graph = build({})
    assert not graph.of_type(ALIAS)
    mapping = graph.one(MAPPING, "jobs-high-mapping")
    function = graph.one(FUNCTION, "jobs-high-consumer-function")
    assert mapping.inputs["functionName"] == function.outputs["name"], mapping.urn
