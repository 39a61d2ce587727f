"""Run in a fresh interpreter: import (init) a handler module and invoke it once; print ms."""

import contextlib
import importlib
import io
import sys
import time

start = time.perf_counter()


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench-request"
    function_version = "$LATEST"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    module = importlib.import_module(sys.argv[1])
    module.lambda_handler({"id": 1}, Context())
print(f"{(time.perf_counter() - start) * 1000:.3f}")
