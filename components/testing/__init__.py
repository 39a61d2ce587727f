"""The test kit: run a Pulumi program offline under realistic AWS mocks and query what it made.
The engine is ``components.offline``; this package re-exports it beside the kit's own helpers.

from resilient_serverless.components.testing import run_stack
graph = run_stack("dev")                      # the real __main__.py and stack file
fn = graph.one("aws:lambda/function:Function", name="orders-function")
assert fn.inputs["timeout"] == 10, fn.urn
"""

from typing import TYPE_CHECKING, Any

from ..offline import (
    AwsMocks,
    CapturedResource,
    Graph,
    ProjectFiles,
    RecordingMonitor,
    UnknownStackError,
    load_project,
    render_policy_document,
    run_program,
    run_stack,
)
from .lambda_context import FakeLambdaContext, handler_environment, lambda_context

if TYPE_CHECKING:
    from .local import LocalRun, run_locally


def __getattr__(name: str) -> Any:
    """``run_locally`` and ``LocalRun`` on first use: the local run needs the ``local`` extra
    (moto, boto3), which planning and the mock-based kit do not."""
    if name in ("LocalRun", "run_locally"):
        from . import local  # noqa: PLC0415

        return getattr(local, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AwsMocks",
    "CapturedResource",
    "FakeLambdaContext",
    "Graph",
    "LocalRun",
    "ProjectFiles",
    "RecordingMonitor",
    "UnknownStackError",
    "handler_environment",
    "lambda_context",
    "load_project",
    "render_policy_document",
    "run_locally",
    "run_program",
    "run_stack",
]
