"""The dedup store: PriorityQueuePair hands a DynamoDB table to every consumer (environment and
grant), each stack of the reference deployment decides whether it has one and says why, and the
plan's cost table prices it."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi_aws as aws
import pytest
from resilient_serverless.components import PriorityQueuePair
from resilient_serverless.components.plan.cost import CostAssumptions, cost_table
from resilient_serverless.components.testing import Graph, run_program
from resilient_serverless.components.validation import ConfigError

from handlers.resilience.priority import DynamoDBDedupStore, consumer_from_env
from tests.conftest import HANDLERS, ROOT

FUNCTION, POLICY = "aws:lambda/function:Function", "aws:iam/rolePolicy:RolePolicy"


def build(**args: Any) -> Graph:
    def program() -> None:
        table = aws.dynamodb.Table(
            "dedup",
            name="shop-dev-dedup",
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            attributes=[{"name": "pk", "type": "S"}],
            ttl={"attribute_name": "expires_at", "enabled": True},
        )
        PriorityQueuePair(
            "inbox",
            {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "dedup_table": table, **args},
        )

    return run_program(program, project="shop", stack="dev")


@pytest.fixture(scope="module")
def pair() -> Graph:
    return build(surge={"backlog": 100})


def test_every_consumer_gets_the_table_and_may_read_and_write_it_only(pair: Graph) -> None:
    # GIVEN a pair (high, low, surge) with a dedup table
    table = pair.one("aws:dynamodb/table:Table", "dedup")
    consumers = [f for f in pair.of_type(FUNCTION) if f.name.endswith("-consumer-function")]
    assert len(consumers) == 3
    for fn in consumers:
        # THEN each consumer is told the table ...
        assert fn.inputs["environment"]["variables"]["RESILIENT_DEDUP_TABLE"] == "shop-dev-dedup", fn.urn
    # AND each role may BatchGetItem and BatchWriteItem on that table alone
    grants = [json.loads(p.inputs["policy"]) for p in pair.of_type(POLICY) if p.name.endswith("-dedup")]
    assert len(grants) == 3
    for doc in grants:
        assert doc["Statement"] == [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
                "Resource": [table.outputs["arn"]],
            }
        ]
    # AND the plan shows it on the pair
    assert pair.outputs_of(pair.one("PriorityQueuePair"))["dedup_table"] == "shop-dev-dedup"


def test_the_environment_the_pair_sets_gives_the_consumer_its_store(
    pair: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the high consumer's environment as the pair sets it
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    env = pair.one(FUNCTION, "inbox-high-consumer-function").inputs["environment"]["variables"]
    # WHEN the handler library builds its consumer from it
    consumer = consumer_from_env(lambda body, message: None, sqs=object(), environ=env)
    # THEN deferral and DLQ writes go through a DynamoDB dedup store on that table
    assert isinstance(consumer.dedup, DynamoDBDedupStore)
    assert consumer.dedup.table_name == "shop-dev-dedup"


def test_without_a_table_consumers_are_at_least_once() -> None:
    def program() -> None:
        PriorityQueuePair("inbox", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS})

    graph = run_program(program, project="shop", stack="dev")
    for fn in graph.of_type(FUNCTION):
        assert "RESILIENT_DEDUP_TABLE" not in fn.inputs["environment"]["variables"], fn.urn
    assert not [p for p in graph.of_type(POLICY) if p.name.endswith("-dedup")]
    assert "dedup_table" not in graph.outputs_of(graph.one("PriorityQueuePair"))


def test_a_dedup_table_that_is_not_a_table_is_refused() -> None:
    def program() -> None:
        PriorityQueuePair(
            "inbox", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "dedup_table": "dedup"}
        )

    with pytest.raises(ConfigError) as raised:
        run_program(program)
    assert raised.value.problems == [
        "dedup_table='dedup' must be an aws.dynamodb.Table (hash key 'pk', a string; TTL on 'expires_at')"
    ]


def test_the_cost_table_prices_the_store_per_diverted_message(pair: Graph) -> None:
    # GIVEN 10 million deferred or dead-lettered messages a month, in eu-west-1
    rows = cost_table(pair, "eu-west-1", CostAssumptions(diverted_messages=10_000_000))["rows"]
    # THEN one write and one consistent read unit each: 10 x ($0.70675 + $0.1415) = $8.48
    [row] = [r for r in rows if r["item"].startswith("dedup store")]
    assert (row["item"], row["quantity"], row["monthly_usd"]) == ("dedup store shop-dev-dedup", 10_000_000, 8.48)
    assert row["basis"] == (
        "1 write + 1 consistent read request unit per deferred or dead-lettered message, 10,000,000 a month stated"
    )


# --- the reference deployment decides per stack, and says why -----------------------------------------
DECISIONS = {"dev": False, "staging": True, "prod": True, "local": False}


@pytest.mark.parametrize(("stack", "on"), sorted(DECISIONS.items()))
def test_every_stack_decides_the_dedup_store_with_its_reason(stack: str, on: bool) -> None:
    # GIVEN the stack file
    lines = (ROOT / "environments" / f"Pulumi.{stack}.yaml").read_text().splitlines()
    # THEN it sets ingestDedupStore itself (no silent default) ...
    [index] = [i for i, line in enumerate(lines) if "resilient-serverless:ingestDedupStore:" in line]
    assert lines[index].split(":")[-1].strip() == str(on).lower()
    # AND the line above it is the reason, as a comment
    assert re.fullmatch(r"\s*# \S.{20,}", lines[index - 1]), lines[index - 1]


def test_the_reference_deployment_puts_the_store_behind_the_inbox_where_the_stack_says() -> None:
    from resilient_serverless.components.testing import run_stack

    # GIVEN prod (dedup store on) WHEN synthesized
    graph = run_stack("prod", ROOT)
    # THEN a table keyed by pk with a TTL on expires_at feeds both inbox consumers
    table = graph.one("aws:dynamodb/table:Table", "ingest-dedup")
    assert (table.inputs["hashKey"], table.inputs["ttl"]) == ("pk", {"attributeName": "expires_at", "enabled": True})
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    for role in ("high", "low"):
        env = graph.one(FUNCTION, f"orders-inbox-{role}-consumer-function").inputs["environment"]["variables"]
        assert env["RESILIENT_DEDUP_TABLE"] == table.outputs["name"] == "resilient-serverless-prod-ingest-dedup"
    # AND the plan's cost table shows what it costs
    rows = {r["item"]: r for r in cost_table(graph, "eu-west-1")["rows"]}
    assert rows["dedup store resilient-serverless-prod-ingest-dedup"]["monthly_usd"] == 0.85
