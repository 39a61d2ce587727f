"""An AsyncJobWorkflow alone: the user's worker, the workflow's own handlers, one API in front
(README: "AsyncJobWorkflow: what you get by default")."""

import pulumi
from resilient_serverless.components import AsyncJobWorkflow, ResilientFunction, ThrottledApi, package_function

code = package_function("./src", handlers=["reports.render"])
renderer = ResilientFunction(
    "report-renderer", {"handler": "reports.render", "code": code, "invocation": "async", "timeout": 120}
)
reports = AsyncJobWorkflow("reports", {"worker": renderer, "path": "/reports"})
api = ThrottledApi("front", {"routes": [*reports.routes]})
pulumi.export("url", api.url)
