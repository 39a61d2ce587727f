"""Each argument's default is declared once (the component's ``ARGS`` table) and its documentation
(the args TypedDict's field docstring, ``Default: ...``) says the same value."""

from __future__ import annotations

import ast
import inspect
import itertools
import re
from collections.abc import Mapping
from typing import Any

import pytest
from resilient_serverless.components import priority_queue_pair
from resilient_serverless.components.async_job_workflow import args as job_args
from resilient_serverless.components.async_job_workflow import validation as job_validation
from resilient_serverless.components.resilient_function import args as function_args
from resilient_serverless.components.resilient_function import validation as function_validation
from resilient_serverless.components.throttled_api import routes as api_routes
from resilient_serverless.components.validation import Arg
from resilient_serverless.components.websocket_notifier import args as socket_args
from resilient_serverless.components.websocket_notifier import validation as socket_validation

TABLES = [
    ("ResilientFunction", function_validation.ARGS, function_args.ResilientFunctionArgs),
    ("PriorityQueuePair", priority_queue_pair.ARGS, priority_queue_pair.PriorityQueuePairArgs),
    ("AsyncJobWorkflow", job_validation.ARGS, job_args.AsyncJobWorkflowArgs),
    ("WebSocketNotifier", socket_validation.ARGS, socket_args.WebSocketNotifierArgs),
    ("ThrottledApi", api_routes.ARGS, api_routes.ThrottledApiArgs),
]
# The values read before a default that depends on them: a sync function, a standard queue pair.
CONTEXT = {"invocation": "sync", "fifo": False, "flavor": "rest"}


def documented_defaults(args_class: type) -> dict[str, str]:
    """Field name -> the text after ``Default:`` in its docstring."""
    tree = ast.parse(inspect.getsource(args_class))
    body = tree.body[0].body  # type: ignore[attr-defined]
    found = {}
    for field, doc in itertools.pairwise(body):
        if isinstance(field, ast.AnnAssign) and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
            match = re.search(r"Default:\s*(.*)", str(doc.value.value), re.S)
            if match and isinstance(field.target, ast.Name):
                found[field.target.id] = " ".join(match.group(1).split())
    return found


def _default(row: Arg, context: Mapping[str, Any]) -> Any:
    return row.default(context) if callable(row.default) else row.default


@pytest.mark.parametrize(("component", "table", "args_class"), TABLES, ids=[t[0] for t in TABLES])
def test_every_documented_default_is_the_value_of_the_table(
    component: str, table: dict[str, Arg], args_class: type
) -> None:
    # GIVEN the defaults the args document
    documented = documented_defaults(args_class)
    checked = 0
    for key, row in table.items():
        # WHEN the table's default is known without the program (not derived from another value)
        try:
            value = _default(row, CONTEXT)
        except KeyError:
            continue
        # THEN the documentation names it
        shown = (
            "none" if value is None else str(int(value) if isinstance(value, float) and value.is_integer() else value)
        )
        assert key in documented, f"{component}.{key} documents no default"
        text = documented[key].replace("``", "")
        assert re.search(rf"(?<![\w.]){re.escape(shown)}(?!\w)", text, re.IGNORECASE), (
            f"{component}.{key}: the table says {value!r}, the docstring says {documented[key]!r}"
        )
        checked += 1
    assert checked >= min(len(table), 4), component
