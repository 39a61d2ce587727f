"""Reports while their worker runs: the worker's invocation is held mid-flight (started, its
handler not yet run) while the run's clock moves past the execution's timeout, or while the
caller cancels, and the job API answers as it would in AWS."""

from __future__ import annotations

import json

from resilient_serverless.components.testing import LocalRun

from .conftest import CALLER
from .test_reports import ROWS, status_of, submit


def renderer(stack: LocalRun) -> str:
    (name,) = [name for name in stack.functions.specs if "renderer" in name]
    return name


def execution_timeout_s(stack: LocalRun) -> int:
    (machine,) = stack.graph.of_type("aws:sfn/stateMachine:StateMachine")
    definition = machine.inputs["definition"]
    return int((json.loads(definition) if isinstance(definition, str) else definition)["TimeoutSeconds"])


def execution_status(stack: LocalRun, job_id: str) -> str:
    (execution,) = [e for e in stack.backend.executions() if job_id in json.dumps(e.input_data)]
    return str(execution.exec_status.value)


def test_a_report_that_outlives_its_execution_timeout_reads_timed_out(stack: LocalRun) -> None:
    with stack.hold(renderer(stack)) as held:
        # GIVEN a report whose worker is running (held mid-flight)
        job_id = submit(stack, ROWS)
        stack.settle()
        assert held.waiting == 1
        assert status_of(stack, job_id) == "running"
        # WHEN the run's clock passes the execution's TimeoutSeconds, as the graph sets it
        stack.clock.advance(execution_timeout_s(stack) + 1)
        stack.settle()
        # THEN its execution timed out on the run's clock, and the job API reports it timed out
        assert execution_status(stack, job_id) == "TIMED_OUT"
        assert status_of(stack, job_id) == "timed_out"
    stack.settle()
    # AND the worker, released past its own timeout, never ran: the status stays timed out
    assert status_of(stack, job_id) == "timed_out"
    runs = [i for i in stack.invocations if i.function == renderer(stack) and i.event.get("job_id") == job_id]
    assert [i.error["errorType"] for i in runs if i.error] == ["Sandbox.Timedout"] * len(runs), runs


def test_a_report_cancelled_while_its_worker_runs_reads_cancelled(stack: LocalRun) -> None:
    with stack.hold(renderer(stack)) as held:
        # GIVEN a report whose worker is running (held mid-flight)
        job_id = submit(stack, ROWS)
        stack.settle()
        assert held.waiting == 1
        assert status_of(stack, job_id) == "running"
        # WHEN the caller cancels it
        cancelled = stack.request("DELETE", f"/reports/{job_id}", caller=CALLER)
        assert cancelled.status == 202, cancelled
    # AND the worker goes on
    stack.settle()
    # THEN the job reads cancelled, and no result was written for it
    assert status_of(stack, job_id) == "cancelled"
    result = stack.request("GET", f"/reports/{job_id}/result", caller=CALLER)
    assert (result.status, result.json()["error"]["code"]) == (409, "no_result"), result
