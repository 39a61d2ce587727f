"""moto patched to run as the graph says: Lambda invokes run the handlers (async ones queued for
``settle``), SQS times on the run's clock, ``@connections`` posts reach the run's connections,
Step Functions as ``stepfunctions`` describes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .common import dumps
from .functions import TooManyRequests
from .stepfunctions import hook_stepfunctions
from .websocket import hook_connections

if TYPE_CHECKING:
    from .host import LocalRunHost as LocalRun

__all__ = ["hook_moto"]


def hook_moto(run: LocalRun) -> None:
    hook_connections(run)
    _hook_lambda(run)
    _hook_sqs_clock(run)
    hook_stepfunctions(run)


def _hook_lambda(run: LocalRun) -> None:
    """Lambda invokes that reach moto (from handlers, Step Functions tasks) run the handler."""
    from moto.awslambda import models as lambda_models
    from moto.awslambda_simple import models as simple_models

    functions, backend = run.functions, run.backend

    def invoke(  # noqa: PLR0917 - moto's signature
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> Any:
        event = json.loads(body) if body else {}
        kind = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "Event":
            run.invoke_async(function_name, event)
            return b""
        try:
            invocation = functions.invoke(function_name, event, source="lambda:Invoke")
        except TooManyRequests as error:
            from moto.awslambda.exceptions import LambdaClientError

            raise LambdaClientError("TooManyRequestsException", str(error)) from None
        if invocation.failed:
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = dumps(invocation.error).encode()
        else:
            payload = dumps(invocation.result).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    backend.patch(lambda_models.LambdaBackend, "invoke", invoke)
    backend.patch(simple_models.LambdaSimpleBackend, "invoke", invoke)


def _hook_sqs_clock(run: LocalRun) -> None:
    """moto's SQS times visibility, delays and message ages on the run's clock."""
    from moto.sqs import models as sqs_models

    clock, backend = run.clock, run.backend
    real_time, real_millis = sqs_models.unix_time, sqs_models.unix_time_millis
    backend.patch(sqs_models, "unix_time", lambda *a: real_time(*a) + clock.offset_s)
    backend.patch(sqs_models, "unix_time_millis", lambda *a: real_millis(*a) + clock.offset_s * 1000)
