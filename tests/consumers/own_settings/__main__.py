"""A user's program with stack settings of its own, declared with the package's settings machinery:
a bad value in a stack file is refused, naming the key, before any resource."""

import pulumi
from resilient_serverless.components import ResilientFunction
from shop_settings import SPEC

settings = SPEC.load()  # one ConfigError naming every bad key, before any resource

worker = ResilientFunction(
    "worker",
    {
        "handler": "worker.lambda_handler",
        "code": "./src",
        "invocation": "async",
        "timeout": settings["worker_timeout_seconds"],
        "log_level": settings["log_level"],
    },
)
pulumi.export("function_arn", worker.function_arn)
