"""Operations over the user's own components: a ResilientFunction and a component type of the
user's, which joins the dashboard through @contributes (README: "Operations")."""

import json

import pulumi
import pulumi_aws as aws
from resilient_serverless.components import Operations, ResilientFunction, package_function
from resilient_serverless.components.operations import Context, Contribution, contributes


class Mailer(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("acme:index:Mailer", name)
        dead = aws.sqs.Queue(
            f"{name}-outbox-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=1_209_600,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.queue = aws.sqs.Queue(
            f"{name}-outbox",
            sqs_managed_sse_enabled=True,
            redrive_policy=dead.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"queue_url": self.queue.url})


@contributes(Mailer)
def _mailer(mailer: Mailer, ctx: Context) -> Contribution:
    return Contribution(
        "queues",
        f"Mailer: {mailer._name}",
        widgets=[
            ctx.metric(
                "outbox depth", [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", mailer.queue.name]]
            )
        ],
    )


topic = aws.sns.Topic("ops")
code = package_function("./src", handlers=["mail.send"])
sender = ResilientFunction("sender", {"handler": "mail.send", "code": code, "alarm_topic_arn": topic.arn})
mailer = Mailer("mail")
table = aws.dynamodb.Table(
    "contacts", billing_mode="PAY_PER_REQUEST", hash_key="id", attributes=[{"name": "id", "type": "S"}]
)
Operations("ops", {"components": [sender, mailer], "tables": [table], "alarm_topic_arn": topic.arn})
