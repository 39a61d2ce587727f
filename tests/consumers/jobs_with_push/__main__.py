"""An AsyncJobWorkflow whose results are pushed through a WebSocketNotifier (README:
"WebSocketNotifier", "AsyncJobWorkflow: what you get by default")."""

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import (
    AsyncJobWorkflow,
    ResilientFunction,
    ThrottledApi,
    WebSocketNotifier,
    package_function,
)

topic = aws.sns.Topic("ops")
code = package_function("./src", handlers=["reports.render"])
renderer = ResilientFunction(
    "report-renderer",
    {"handler": "reports.render", "code": code, "invocation": "async", "timeout": 120, "alarm_topic_arn": topic.arn},
)
push = WebSocketNotifier("job-push", {"alarm_topic_arn": topic.arn})
reports = AsyncJobWorkflow(
    "reports", {"worker": renderer, "path": "/reports", "push": push, "alarm_topic_arn": topic.arn}
)
api = ThrottledApi("front", {"routes": [*reports.routes], "alarm_topic_arn": topic.arn})
pulumi.export("url", api.url)
pulumi.export("push_url", push.url)
