"""Least-privilege grants: each call adds one inline policy with named actions on named ARNs.

A component that owns a role exposes ``grants`` (``fn.grants.send_to(queue)``). Wildcard actions
and resources are refused where AWS accepts a narrower one: the rule ``iam-no-wildcards`` checks
the result in the plan as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pulumi
import pulumi_aws as aws

from .validation import ConfigError

if TYPE_CHECKING:
    from .base import ResilientComponent

__all__ = ["Grants", "QueueGroup", "assume_role_policy", "policy_json"]

_LABEL = re.compile(r"[^A-Za-z0-9-]")


@runtime_checkable
class QueueGroup(Protocol):
    """What a producer's grants read of a PriorityQueuePair: its queues by role (high, low, surge,
    shards), its settings (surge) and the producer's config. A protocol rather than the class, so
    this module, which every component imports, imports none of them."""

    queues: Mapping[str, aws.sqs.Queue]
    settings: Any
    producer_config: pulumi.Output[dict[str, Any]]


def policy_json(statements: Sequence[Mapping]) -> pulumi.Output[str]:
    """An IAM policy document (JSON) from statements whose values may be Pulumi outputs."""
    return pulumi.Output.from_input({"Version": "2012-10-17", "Statement": list(statements)}).apply(
        lambda doc: json.dumps(doc, sort_keys=True)
    )


def assume_role_policy(service: str) -> str:
    """The trust policy that lets ``service`` (e.g. ``lambda.amazonaws.com``) assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        },
        sort_keys=True,
    )


def _label_of(target: Any) -> str:
    name = getattr(target, "_name", None) or str(target)
    return _LABEL.sub("-", name)[:60]


class Grants:
    """Inline policies on ``role``, created as children of ``owner``."""

    def __init__(self, owner: ResilientComponent, role: aws.iam.Role) -> None:
        self._owner = owner
        self._role = role
        self._labels: set[str] = set()
        self.policies: list[aws.iam.RolePolicy] = []

    def allow(self, label: str, actions: Sequence[str], resources: Sequence[pulumi.Input[str]]) -> aws.iam.RolePolicy:
        """Allow ``actions`` on ``resources``; ``label`` names the policy (unique per role)."""
        problems = [f"action {a!r} is a wildcard" for a in actions if a == "*" or a.endswith(":*")]
        problems += ["resource '*' is a wildcard" for r in resources if r == "*"]
        if label in self._labels:
            problems.append(f"grant label {label!r} is used twice on this role")
        if problems:
            raise ConfigError(f"grant {label!r} on {self._owner._name!r}", problems)
        self._labels.add(label)
        statement = {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
        return self._policy(label, [statement])

    def _policy(self, label: str, statements: Sequence[Mapping[str, Any]]) -> aws.iam.RolePolicy:
        policy = aws.iam.RolePolicy(
            f"{self._owner._name}-grant-{label}",
            role=self._role.id,
            policy=policy_json(statements),
            opts=pulumi.ResourceOptions(parent=self._owner),
        )
        self.policies.append(policy)
        return policy

    def route_to(self, pair: QueueGroup) -> aws.iam.RolePolicy:
        """What a producer's ``Router`` needs for ``pair``: ``sqs:SendMessage`` and
        ``sqs:GetQueueAttributes`` (the backlog signal) on the queues it routes to (high, surge,
        shards; never low), and, where the pair surges on age, ``cloudwatch:GetMetricData`` on
        ``"*"``: that action has no resource-level permissions, so ``"*"`` is the narrowest
        resource there is. It is the one wildcard resource a grant helper writes."""
        label = f"route-{_label_of(pair)}"
        if label in self._labels:
            raise ConfigError(
                f"grant {label!r} on {self._owner._name!r}", [f"grant label {label!r} is used twice on this role"]
            )
        self._labels.add(label)
        queues = [queue.arn for name, queue in pair.queues.items() if name != "low"]
        statements: list[dict[str, Any]] = [
            {"Effect": "Allow", "Action": ["sqs:GetQueueAttributes", "sqs:SendMessage"], "Resource": queues}
        ]
        if (pair.settings.surge or {}).get("age_s") is not None:
            statements.append({"Effect": "Allow", "Action": ["cloudwatch:GetMetricData"], "Resource": "*"})
        return self._policy(label, statements)

    def send_to(self, queue: aws.sqs.Queue | QueueGroup) -> aws.iam.RolePolicy:
        """Allow sending to a queue; for a ``PriorityQueuePair``, to every queue its producer
        (``Router``) sends to: high, and surge and shards when it has them (never low or a DLQ)."""
        if not isinstance(queue, aws.sqs.Queue) and isinstance(queue, QueueGroup):
            entries = [q for role, q in queue.queues.items() if role != "low"]
            return self.allow(f"send-{_label_of(queue)}", ["sqs:SendMessage"], [q.arn for q in entries])
        if not isinstance(queue, aws.sqs.Queue):
            raise ConfigError(
                f"grant send_to on {self._owner._name!r}",
                [f"send_to takes an aws.sqs.Queue or a PriorityQueuePair, got {type(queue).__name__}"],
            )
        return self.allow(f"send-{_label_of(queue)}", ["sqs:SendMessage"], [queue.arn])

    def consume_from(self, queue: aws.sqs.Queue) -> aws.iam.RolePolicy:
        actions = [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        ]
        return self.allow(f"consume-{_label_of(queue)}", actions, [queue.arn])

    def publish_to(self, topic: aws.sns.Topic) -> aws.iam.RolePolicy:
        return self.allow(f"publish-{_label_of(topic)}", ["sns:Publish"], [topic.arn])

    def read_write_table(self, table: aws.dynamodb.Table) -> aws.iam.RolePolicy:
        actions = [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "dynamodb:ConditionCheckItem",
        ]
        return self.allow(f"table-{_label_of(table)}", actions, [table.arn])

    def invoke(self, function_arn: pulumi.Input[str], label: str) -> aws.iam.RolePolicy:
        return self.allow(f"invoke-{label}", ["lambda:InvokeFunction"], [function_arn])

    def read_parameters(self, parameter_arns: Sequence[pulumi.Input[str]], label: str) -> aws.iam.RolePolicy:
        return self.allow(f"params-{label}", ["ssm:GetParameter", "ssm:GetParameters"], parameter_arns)

    def read_secret(self, secret_arn: pulumi.Input[str], label: str) -> aws.iam.RolePolicy:
        return self.allow(f"secret-{label}", ["secretsmanager:GetSecretValue"], [secret_arn])
