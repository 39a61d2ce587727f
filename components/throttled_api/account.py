"""The region's API Gateway account setting (the CloudWatch role REST logging needs)."""

from __future__ import annotations

from typing import ClassVar

import pulumi
import pulumi_aws as aws

from ..base import ResilientComponent
from .common import ASSUME_APIGATEWAY


class ApiGatewayAccount(ResilientComponent):
    """The region's API Gateway account setting: the role REST APIs use to write execution and
    access logs.

    It is one setting per account and region: create it in one stack only (the reference
    deployment: ``prod``, and ``local`` for LocalStack's own account) and pass it to every
    ThrottledApi of that stack as ``account`` so their stages and method settings wait for it.
    The role, its policy and the setting are kept when the stack is destroyed
    (``retain_on_delete``): destroying them would reset the setting for every other stack of the
    account and region, whose REST logging would then fail on their next ``up``.
    """

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = ("role", "account")
    PUSH_POLICY = "arn:{partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts=opts)
        # Other stacks' REST APIs rely on this setting: it outlives the stack that made it.
        keep = pulumi.ResourceOptions(retain_on_delete=True)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self.role = self._child(
            "role",
            aws.iam.Role,
            "role",
            {
                "name": self.physical("iam_role"),
                "assume_role_policy": ASSUME_APIGATEWAY,
            },
            keep,
        )
        attachment = self._child(
            "role",
            aws.iam.RolePolicyAttachment,
            "push-logs",
            {
                "role": self.role.name,
                "policy_arn": partition.apply(lambda p: self.PUSH_POLICY.format(partition=p)),
            },
            keep,
        )
        self.account = self._child(
            "account",
            aws.apigateway.Account,
            "account",
            {"cloudwatch_role_arn": self.role.arn},
            pulumi.ResourceOptions(depends_on=[attachment], retain_on_delete=True),
        )
        self.register_outputs({"role_arn": self.role.arn})
