"""The region's API Gateway account setting (the CloudWatch role REST logging needs)."""

from __future__ import annotations

from typing import ClassVar

import pulumi
import pulumi_aws as aws

from ..base import ResilientComponent
from .common import ASSUME_APIGATEWAY


class ApiGatewayAccount(ResilientComponent):
    """The region's API Gateway account setting: the role REST APIs use to write execution and
    access logs. It is one setting per account and region: deploy it from one stack only."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = ("role", "account")
    PUSH_POLICY = "arn:{partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts=opts)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self.role = self._child(
            "role",
            aws.iam.Role,
            "role",
            {
                "name": self.physical("iam_role"),
                "assume_role_policy": ASSUME_APIGATEWAY,
            },
        )
        attachment = self._child(
            "role",
            aws.iam.RolePolicyAttachment,
            "push-logs",
            {
                "role": self.role.name,
                "policy_arn": partition.apply(lambda p: self.PUSH_POLICY.format(partition=p)),
            },
        )
        self.account = self._child(
            "account",
            aws.apigateway.Account,
            "account",
            {"cloudwatch_role_arn": self.role.arn},
            pulumi.ResourceOptions(depends_on=[attachment]),
        )
        self.register_outputs({"role_arn": self.role.arn})
