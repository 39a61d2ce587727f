"""The test kit: run a Pulumi program offline under realistic AWS mocks and query what it made.

from resilient_serverless.components.testing import run_stack
graph = run_stack("dev")                      # the real __main__.py and stack file
fn = graph.one("aws:lambda/function:Function", name="orders-function")
assert fn.inputs["timeout"] == 10, fn.urn
"""

from .capture import (
    CapturedResource,
    Graph,
    ProjectFiles,
    RecordingMonitor,
    UnknownStackError,
    load_project,
    run_program,
    run_stack,
)
from .lambda_context import FakeLambdaContext, handler_environment, lambda_context
from .local import LocalRun, run_locally
from .mocks import AwsMocks, render_policy_document

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
