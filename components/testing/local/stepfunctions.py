"""Step Functions in moto's interpreter, made to behave as AWS does where it matters to a run:
Express refuses StopExecution and a stopped execution aborts at once; retry intervals, entered
times and task-token heartbeats follow the run's clock; a task token's answer ends its task at
once; tasks call AWS as the state machine's role."""

from __future__ import annotations

import datetime
import importlib
import pkgutil
import time
from typing import TYPE_CHECKING, Any

from .clock import Clock, DatetimeModule

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = ["hook_stepfunctions"]


class ClockSleep:
    """A ``time`` module whose ``sleep`` moves the run's clock instead of waiting."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def sleep(self, seconds: float) -> None:
        self._clock.advance(max(0.0, seconds))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def hook_stepfunctions(run: LocalRun) -> None:
    _hook_execution_timeout(run)
    _hook_stop(run)
    _hook_clock(run)
    _hook_task_tokens(run)
    _hook_credentials(run)


def _hook_execution_timeout(run: LocalRun) -> None:
    """An execution's ``TimeoutSeconds`` passes on the run's clock (moto waits for it in real
    time). While it runs, its deadline is in ``run.deadlines``, so ``settle`` waits for an
    execution past it to end as timed out."""
    import threading

    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.utils import TMP_THREADS

    clock = run.clock
    evaluate = EvalComponent.eval

    def eval_on_clock(self: Program, env: Any) -> None:
        timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
        env.next_state_name = self.start_at.start_at_name
        worker = threading.Thread(target=evaluate, args=(self, env), daemon=True)
        TMP_THREADS.append(worker)
        deadline = clock.now() + timeout if timeout else float("inf")
        run.deadlines[id(env)] = deadline
        try:
            worker.start()
            while worker.is_alive() and env.is_running() and clock.now() <= deadline:
                worker.join(0.02)
            if worker.is_alive() and env.is_running():
                env.set_timed_out()
        finally:
            run.deadlines.pop(id(env), None)

    run.backend.patch(Program, "eval", eval_on_clock)


def _hook_stop(run: LocalRun) -> None:
    """StopExecution is for Standard executions only (moto stops any), and aborts at once (moto's
    interpreter notices the stop only when its current wait ends)."""
    from moto.core.exceptions import JsonRESTError
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    backend = run.backend
    stop = StepFunctionsParserBackend.stop_execution

    def stop_execution(self: Any, execution_arn: str, *args: Any, **kwargs: Any) -> Any:
        machine_arn = execution_arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        if run._machine_types.get(machine_arn) == "EXPRESS":
            raise JsonRESTError("ValidationException", "This operation is not supported by EXPRESS state machines")
        stopped = stop(self, execution_arn, *args, **kwargs)
        for execution in backend.executions():
            if execution.exec_arn == execution_arn and execution.exec_status == ExecutionStatus.RUNNING:
                execution.exec_status = ExecutionStatus.ABORTED
                execution.stop_date = datetime.datetime.now(tz=datetime.UTC)
        return stopped

    backend.patch(StepFunctionsParserBackend, "stop_execution", stop_execution)


def _hook_clock(run: LocalRun) -> None:
    """Retry intervals pass on the run's clock, at once; entered, start and stop times
    (``$$.State.EnteredTime``...) read it. ``Wait`` states and task timeouts stay on real time."""
    from moto.stepfunctions import parser as sfn_root
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    run.backend.patch(retrier_decl, "time", ClockSleep(run.clock))
    clock_datetime = DatetimeModule(run.clock)
    for name in ("asl.component.state.state", "asl.eval.event.event_manager", "backend.execution", "models"):
        run.backend.patch(importlib.import_module(f"{sfn_root.__name__}.{name}"), "datetime", clock_datetime)


def _hook_task_tokens(run: LocalRun) -> None:
    """A task token's answer ends its task at once (moto waits out the heartbeat first); the
    heartbeat and the task's timeout run on the run's clock; the run counts the parked tasks so
    ``settle`` knows an execution that waits for an answer from no one is settled."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
    from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimedOut

    clock = run.clock

    def wait_for_task_token_heartbeat(self: Any, env: Any, callback_endpoint: Any, heartbeat_endpoint: Any) -> Any:
        deadline = clock.now() + heartbeat_endpoint._heartbeat_seconds
        with run._parked_task(callback_endpoint):
            while env.is_running():
                outcome = callback_endpoint.get_outcome()
                if outcome is not None:
                    return outcome
                if heartbeat_endpoint._next_heartbeat_event.wait(0.05):
                    heartbeat_endpoint._next_heartbeat_event.clear()
                    deadline = clock.now() + heartbeat_endpoint._heartbeat_seconds
                elif clock.now() > deadline:
                    return HeartbeatTimedOut()
        return None

    def wait_for_task_token_timeout(self: Any, timeout_seconds: int, callback_endpoint: Any) -> Any:
        deadline = clock.now() + timeout_seconds
        with run._parked_task(callback_endpoint):
            while clock.now() <= deadline:
                outcome = callback_endpoint.get_outcome()
                if outcome is not None:
                    return outcome
                time.sleep(0.05)
        return None

    callback = state_task_service_callback.StateTaskServiceCallback
    run.backend.patch(callback, "_wait_for_task_token_timeout", wait_for_task_token_timeout)
    run.backend.patch(callback, "_wait_for_task_token_heartbeat", wait_for_task_token_heartbeat)


def _hook_credentials(run: LocalRun) -> None:
    """Tasks call AWS as the state machine's role (moto's interpreter signs as nobody). With more
    than one state machine in the program, as the runner (moto does not say whose task it is)."""
    from moto.stepfunctions import parser as sfn_parser

    backend = run.backend
    machines = run.graph.of_type("aws:sfn/stateMachine:StateMachine")
    role = machines[0].inputs["roleArn"] if len(machines) == 1 else None

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        role_arn = getattr(state_credentials, "role_arn", None) or role
        credentials = backend.credentials_of(role_arn) if role_arn else {}
        return backend.client(service, **credentials)

    for info in pkgutil.walk_packages(sfn_parser.__path__, sfn_parser.__name__ + "."):
        if not info.name.startswith(sfn_parser.__name__ + ".asl.component.state.exec"):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "boto_client_for"):
            backend.patch(module, "boto_client_for", boto_client_for)
