"""Every Python example in README.md runs as an installed user would run it.

Each fenced ``python`` block is executed as written (imports through ``resilient_serverless``):
- a block that uses the handler library runs under moto, with an ``orders`` table and a queue;
- a block that tests (the kit's ``run_program`` / ``run_stack``) or adds a rule runs as is, from
  the repository root, and every ``test_*`` function it defines is called;
- any other block is a piece of a Pulumi program and runs inside ``run_program``.
Names a block uses without defining (``queue``, ``table``, ``code``, ``orders``, ...) stand for
what the reader's own program has; they are built here (GIVENS) as real resources or values.
A block preceded by ``<!-- example: skip (reason) -->`` is skipped with that reason.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pulumi_aws as aws
import pytest
from moto import mock_aws
from resilient_serverless.components import PriorityQueuePair, ResilientFunction, package_function, rules
from resilient_serverless.components.testing import Graph, run_program

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"(?:<!-- example: skip \((?P<skip>[^)]*)\) -->\n)?```python\n(?P<code>.*?)```", re.S)


def readme_examples() -> list[Any]:
    text = (ROOT / "README.md").read_text()
    params = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("code"))
        marks = [pytest.mark.skip(reason=match["skip"])] if match["skip"] else []
        params.append(pytest.param(match["code"], line, id=f"README.md:{line}", marks=marks))
    return params


def free_names(code: str) -> set[str]:
    """Names the block reads but never binds (and that are not builtins)."""
    tree = ast.parse(code)
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return loaded - bound - set(dir(builtins))


def kind_of(code: str) -> str:
    if "resilient_serverless.handlers" in code:
        return "handler"
    if "components.testing" in code or "@rule(" in code:
        return "plain"
    return "program"


@pytest.fixture
def user_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The reader's project: ./src (their code), ./build/orders (a prepared directory), an
    empty requirements.txt; packages are cached under tmp."""
    (tmp_path / "src" / "orders").mkdir(parents=True)
    (tmp_path / "src" / "orders" / "__init__.py").write_text("")
    (tmp_path / "src" / "orders" / "api.py").write_text("def handle(event, context):\n    return {}\n")
    (tmp_path / "build" / "orders" / "handlers").mkdir(parents=True)
    (tmp_path / "build" / "orders" / "handlers" / "orders.py").write_text("def lambda_handler(e, c):\n    pass\n")
    (tmp_path / "requirements.txt").write_text("# no third-party dependency\n")
    monkeypatch.setenv("RESILIENT_SERVERLESS_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _reference_code() -> Any:
    return package_function(ROOT / "handlers", package_name="handlers", library=False)


PROGRAM_GIVENS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "queue": lambda ns: aws.sqs.Queue("given-queue"),
    "rule": lambda ns: aws.cloudwatch.EventRule("given-rule", schedule_expression="rate(5 minutes)"),
    "table": lambda ns: aws.dynamodb.Table(
        "given-table", hash_key="order_id", attributes=[{"name": "order_id", "type": "S"}]
    ),
    "topic": lambda ns: aws.sns.Topic("given-topic"),
    "orders_table": lambda ns: aws.dynamodb.Table(
        "given-orders-table", hash_key="order_id", attributes=[{"name": "order_id", "type": "S"}]
    ),
    "code": lambda ns: _reference_code(),
    "orders": lambda ns: ResilientFunction(
        "given-orders", {"handler": "handlers.orders.lambda_handler", "code": _reference_code()}
    ),
    "writer": lambda ns: ResilientFunction(
        "given-writer", {"handler": "handlers.orders.lambda_handler", "code": _reference_code(), "invocation": "async"}
    ),
    "inbox": lambda ns: PriorityQueuePair(
        "given-inbox", {"handler": "handlers.ingest.lambda_handler", "code": _reference_code()}
    ),
}


def _my_program() -> None:
    ResilientFunction(
        "orders", {"handler": "handlers.orders.lambda_handler", "code": _reference_code(), "invocation": "async"}
    )


PLAIN_GIVENS: dict[str, Callable[[dict[str, Any]], Any]] = {"my_program": lambda ns: _my_program}
HANDLER_GIVENS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "producer_config": lambda ns: {"high_url": ns["_queue_url"], "surge_url": None, "shard_urls": [], "fifo": False},
    "order": lambda ns: {"order_id": "o-1", "quantity": 2},
}


def _namespace(code: str, givens: dict[str, Callable[[dict[str, Any]], Any]], ns: dict[str, Any]) -> dict[str, Any]:
    missing = sorted(free_names(code) - set(givens))
    assert not missing, f"the example uses {missing}, which neither it nor GIVENS define"
    for name in sorted(free_names(code)):
        ns[name] = givens[name](ns)
    return ns


@pytest.fixture
def restored_environment() -> Iterator[None]:
    """Examples set variables as a reader would (os.environ.update); undo that afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize(("code", "line"), readme_examples())
def test_readme_example_runs(
    code: str,
    line: int,
    user_project: Path,
    monkeypatch: pytest.MonkeyPatch,
    restored_environment: None,
) -> None:
    kind = kind_of(code)
    if kind == "program":
        monkeypatch.chdir(user_project)

        def program() -> None:
            exec(compile(code, f"README.md:{line}", "exec"), _namespace(code, PROGRAM_GIVENS, {}))

        graph: Graph = run_program(program, project="shop", stack="dev")
        assert graph.resources, f"README.md:{line} created nothing"
    elif kind == "plain":
        monkeypatch.chdir(ROOT)
        # a rule example registers an id the catalogue already has: give it an empty one
        monkeypatch.setattr(rules.registry, "RULES", {})
        monkeypatch.setattr(rules, "RULES", rules.registry.RULES)
        ns = _namespace(code, PLAIN_GIVENS, {"__name__": "readme_example"})
        exec(compile(code, f"README.md:{line}", "exec"), ns)
        tests = [fn for name, fn in ns.items() if name.startswith("test_") and callable(fn)]
        for test in tests:
            test()
        assert tests or rules.RULES, f"README.md:{line} defines neither a test nor a rule"
    else:
        with mock_aws():
            boto3.client("dynamodb", region_name="eu-west-1").create_table(
                TableName="orders",
                KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            queue_url = boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="inbox")["QueueUrl"]
            ns = _namespace(code, HANDLER_GIVENS, {"__name__": "readme_example", "_queue_url": queue_url})
            exec(compile(code, f"README.md:{line}", "exec"), ns)


def test_the_rule_example_fires_on_an_unencrypted_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the README's rule, registered afresh
    code = next(p.values[0] for p in readme_examples() if "@rule(" in p.values[0])
    monkeypatch.setattr(rules.registry, "RULES", {})
    monkeypatch.setattr(rules, "RULES", rules.registry.RULES)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    registered = rules.RULES["sqs-encrypted"]

    # WHEN it checks a queue without encryption, and one with it
    def program() -> None:
        aws.sqs.Queue("plain")
        aws.sqs.Queue("sealed", sqs_managed_sse_enabled=True)

    graph = run_program(program)
    findings = {q.name: list(registered.fn(q, graph)) for q in graph.of_type("aws:sqs/queue:Queue")}
    # THEN it fires on the first only
    assert findings == {"plain": ["no server-side encryption"], "sealed": []}


def test_every_readme_python_block_is_collected() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(readme_examples()) == text.count("```python") > 5
