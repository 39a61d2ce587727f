"""Run a handler locally: a fake Lambda context and the environment the handler library reads.

    os.environ.update(handler_environment(region="eu-west-1", namespace="shop"))
    from orders.api import handle                       # clients are created at import
    handle(event, lambda_context(function_name="orders", timeout_s=10))

The context counts down from its timeout like Lambda's, so deadline-aware code
(``Deadline.from_context``) behaves as it would in the function.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

__all__ = ["FakeLambdaContext", "handler_environment", "lambda_context"]


@dataclass
class FakeLambdaContext:
    """The attributes and the one method of ``LambdaContext`` that handlers and Powertools use.

    ``remaining_ms``, when set, is returned as is (a test that needs a fixed deadline);
    otherwise the time left counts down from ``timeout_s`` since creation.
    """

    function_name: str = "function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/function"
    log_stream_name: str = "2026/01/01/[$LATEST]local"
    timeout_s: float = 10.0
    remaining_ms: int | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        if self.remaining_ms is not None:
            return self.remaining_ms
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_s - elapsed) * 1000))


def lambda_context(
    function_name: str = "function",
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 512,
    region: str = "eu-west-1",
    account: str = "123456789012",
) -> FakeLambdaContext:
    """A context for ``function_name`` whose ARN, log group and deadline match it.

    Defaults: timeout 10 s and 512 MB (ResilientFunction's defaults), eu-west-1, account
    123456789012.
    """
    return FakeLambdaContext(
        function_name=function_name,
        memory_limit_in_mb=memory_mb,
        invoked_function_arn=f"arn:aws:lambda:{region}:{account}:function:{function_name}",
        log_group_name=f"/aws/lambda/{function_name}",
        timeout_s=timeout_s,
    )


def handler_environment(
    *, region: str = "eu-west-1", namespace: str = "local", service: str = "local", log_level: str = "INFO"
) -> dict[str, str]:
    """The variables Lambda and ResilientFunction set that the handler library reads.

    - ``AWS_REGION`` / ``AWS_DEFAULT_REGION``: clients are created at import and need a region.
    - ``POWERTOOLS_METRICS_NAMESPACE``: Metrics refuses to flush without one.
    - ``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_LOG_LEVEL``: the logger's service and level.
    - ``POWERTOOLS_TRACE_DISABLED``: no tracing outside Lambda (there is no daemon to send to).

    Defaults: eu-west-1, namespace and service ``local``, INFO.
    """
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "POWERTOOLS_METRICS_NAMESPACE": namespace,
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_LOG_LEVEL": log_level,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
