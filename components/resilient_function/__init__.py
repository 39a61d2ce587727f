"""ResilientFunction: a Lambda that sheds, bounds and isolates its work by default.

What you get by default (each value lives in ``defaults.py`` and is pinned by a test):
explicit timeout (10 s) and memory (512 MB); reserved concurrency (10) so excess work is
rejected cheaply instead of starving the account; X-Ray active tracing; JSON logs into
``/aws/lambda/<name>`` with 30 days' retention; the official Powertools layer with service,
namespace and log level set; a role that can write only its own log group and traces; alarms on
errors, throttles and p99 duration above 80% of the timeout. ``async`` functions also get an
event invoke config (1 retry, 1 h event age) with an SQS DLQ as on-failure destination.
"""

from __future__ import annotations

from .args import RUNTIMES, ResilientFunctionArgs
from .component import ResilientFunction, check_nested_function_args, powertools_layer_arn, queue_url_of_arn
from .validation import _validate as _validate  # the job components check their functions with it
from .validation import check_handler_and_code

__all__ = [
    "RUNTIMES",
    "ResilientFunction",
    "ResilientFunctionArgs",
    "check_handler_and_code",
    "check_nested_function_args",
    "powertools_layer_arn",
    "queue_url_of_arn",
]
