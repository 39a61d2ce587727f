"""One local run per stack of the reference deployment, shared by every e2e test of that stack
(starting one costs seconds: the program, moto, the resources). Tests use their own ids, so the
runs' shared state does not couple them."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resilient_serverless.components.testing import Graph, LocalRun, run_locally
from resilient_serverless.components.testing.local.run import capture_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["dev", "staging", "prod", "local"]
# The routes of every stack but local are IAM-authorized: the test calls them as this principal.
CALLER = "arn:aws:iam::123456789012:role/orders-client"


class Runs:
    """The one local run of this process (moto's backends are process-wide): the stack a test
    asks for, started once and kept while the tests of that stack run (pytest groups them by the
    session-scoped parameter), closed when another run is needed."""

    def __init__(self) -> None:
        self._name: tuple[str, Path] | None = None
        self._stack = contextlib.ExitStack()
        self._run: LocalRun | None = None

    def stack(self, name: str, project_dir: Path = ROOT) -> LocalRun:
        """The run of stack ``name`` of the program at ``project_dir`` (the reference deployment
        unless named), kept open for the next test that asks for the same."""
        if self._name != (name, project_dir) or self._run is None:
            self.close()
            self._run = self._stack.enter_context(run_locally(graph_of(name, project_dir), project_dir))
            self._name = (name, project_dir)
        return self._run

    def close(self) -> None:
        self._stack.close()
        self._stack, self._run, self._name = contextlib.ExitStack(), None, None


RUNS = Runs()


@functools.cache
def graph_of(name: str, project_dir: Path = ROOT) -> Graph:
    """A stack's graph, captured once per session (a capture runs the whole program): the runs of
    a stack, and ``resilient-serverless run``'s test, start from the same one."""
    return capture_stack(name, project_dir)


@pytest.fixture(scope="session", params=STACKS)
def stack_name(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param
    RUNS.close()


@pytest.fixture
def stack(stack_name: str) -> LocalRun:
    return RUNS.stack(stack_name)


@pytest.fixture
def own_run() -> Iterator[None]:
    """For a test that starts its own run (a user's program): no stack run may be open meanwhile."""
    RUNS.close()
    yield


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def dlq_messages(run: LocalRun, queue_name_suffix: str) -> list[dict[str, Any]]:
    """Every message in the queue whose name ends with the suffix, with its attributes (received
    and made visible again, so the test looks without consuming)."""
    sqs = run.client("sqs")
    url = next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith(queue_name_suffix))
    answer = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"], VisibilityTimeout=0
    )
    return list(answer.get("Messages") or [])


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Close the stack run after the last e2e test, so tests elsewhere in the session (a README
    example that starts its own run) find no run open."""
    here = Path(__file__).parent
    if nextitem is None or here not in Path(str(nextitem.fspath)).parents:
        RUNS.close()
