"""A WebSocketNotifier alone, bound to no job workflow (README: "WebSocketNotifier")."""

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import WebSocketNotifier

topic = aws.sns.Topic("ops")
push = WebSocketNotifier("job-push", {"alarm_topic_arn": topic.arn})
pulumi.export("url", push.url)
