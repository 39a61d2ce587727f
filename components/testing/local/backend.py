"""The local AWS backend: moto's server in this process, the graph's resources created in it,
and the hooks that make moto hand Lambda invokes (API, Step Functions tasks, async) to the
local execution environments instead of echoing them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from ..capture import CapturedResource, Graph
from .clock import Clock

__all__ = ["NOT_EMULATED", "Backend", "start_backend"]

# Resource types the local run does not run, with the reason (listed by the run, never hidden).
NOT_EMULATED: dict[str, str] = {
    "aws:synthetics/canary:Canary": "Synthetics canaries need a browser runtime moto does not emulate",
    "aws:cloudwatch/contributorInsightRule:ContributorInsightRule": "moto does not emulate Contributor Insights",
    "aws:cloudwatch/dashboard:Dashboard": "dashboards draw metrics moto does not collect",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "alarms need metrics moto does not collect from handlers",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "alarms need metrics moto does not collect from handlers",
    "aws:wafv2/webAcl:WebAcl": "moto does not filter requests through WAF",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "moto does not filter requests through WAF",
    "aws:xray/samplingRule:SamplingRule": "X-Ray traces are not collected (no daemon receives them)",
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": "local environments start on demand",
}

REGIONAL = Config(retries={"max_attempts": 1, "mode": "standard"})
ADMIN_USER = "local-run-admin"


_SESSION_LOCK = threading.Lock()  # a session makes one client at a time (botocore's loaders are shared)


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every client of every run: it reads each service's model once (a new
    session per client read them again, a few hundred milliseconds a client)."""
    return boto3.session.Session()


@dataclass
class Backend:
    """moto's server plus the runner's (admin) session on it."""

    endpoint_url: str
    region: str
    account_id: str
    admin_keys: dict[str, str]
    clock: Clock
    _restore: list[Callable[[], None]] = field(default_factory=list)
    _role_credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, **credentials: str) -> Any:
        """A boto3 client on the backend, as the runner or with ``credentials`` (made once each)."""
        keys = credentials or self.admin_keys
        key = (service, keys["aws_access_key_id"])
        if key not in self._clients:
            with _SESSION_LOCK:
                self._clients[key] = _session().client(
                    service,  # type: ignore[call-overload]
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=REGIONAL,
                    **keys,
                )
        return self._clients[key]

    def sqs_queue(self, name: str) -> Any:
        """moto's own queue object, to count messages without a request."""
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.account_id][self.region].queues[name]

    def lambda_function(self, name: str) -> Any:
        """moto's function object (raises when it is gone). In process: moto refuses the signature
        of a signed Lambda GET or DELETE while its IAM check is on."""
        from moto.awslambda_simple.models import lambda_simple_backends

        return lambda_simple_backends[self.account_id][self.region].get_function(name)

    def executions(self) -> list[Any]:
        """moto's execution objects of every state machine (status without a request)."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        machines = stepfunctions_parser_backends[self.account_id][self.region].state_machines
        return [execution for machine in machines for execution in machine.executions]

    def credentials_of(self, role_arn: str) -> dict[str, str]:
        """Temporary credentials of ``role_arn`` (STS AssumeRole, as Lambda gets its role's)."""
        if role_arn not in self._role_credentials:
            # The service assumes the role (its trust policy names the service, not the runner),
            # so the session is made in moto's STS backend directly, as AWS makes it for Lambda.
            from moto.sts.models import sts_backends

            role = sts_backends[self.account_id]["aws"].assume_role(
                region_name=self.region,
                role_session_name="local-run",
                role_arn=role_arn,
                policy="",
                duration=43200,
                external_id="",
            )
            self._role_credentials[role_arn] = {
                "aws_access_key_id": role.access_key_id,
                "aws_secret_access_key": role.secret_access_key,
                "aws_session_token": role.session_token,
            }
        return self._role_credentials[role_arn]

    def environment_credentials(self, role_arn: str) -> dict[str, str]:
        keys = self.credentials_of(role_arn)
        return {
            "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": keys["aws_session_token"],
        }

    def enforce_iam(self) -> None:
        """From here every request is signed by a principal whose policies moto checks (the setup
        before it runs unchecked, which is also faster)."""
        from moto import settings as moto_settings
        from moto.core.authorization import ActionAuthenticatorMixin

        patch_iam(self)
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0

    def patch(self, target: Any, attribute: str, value: Any) -> None:
        previous = getattr(target, attribute)
        setattr(target, attribute, value)
        self._restore.append(lambda: setattr(target, attribute, previous))

    def restore(self) -> None:
        while self._restore:
            self._restore.pop()()


@contextlib.contextmanager
def start_backend(region: str, account_id: str, clock: Clock) -> Iterator[Backend]:
    """moto's server on 127.0.0.1 (a free port), reset, configured, with an admin user and IAM
    enforcement on for every request after this setup."""
    from moto import settings as moto_settings
    from moto.core import config as moto_config
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    if account_id != "123456789012":
        raise ValueError(f"account_id={account_id!r}: moto answers as account 123456789012; build the graph with it")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved_config = json.loads(json.dumps(moto_config.default_user_config))
    saved_auth = (moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count)
    moto_config.default_user_config["lambda"] = {"use_docker": False}
    moto_config.default_user_config["stepfunctions"] = {"execute_state_machine": True}
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")

    # The server's request lines and the interpreter's state-by-state logging are not the run's output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    _reset(endpoint)
    with _SESSION_LOCK:
        bootstrap = _session().client(
            "iam", region_name=region, endpoint_url=endpoint, aws_access_key_id="local", aws_secret_access_key="local"
        )
    bootstrap.create_user(UserName=ADMIN_USER)
    bootstrap.put_user_policy(
        UserName=ADMIN_USER,
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = bootstrap.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    backend = Backend(
        endpoint,
        region,
        account_id,
        {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]},
        clock,
    )
    try:
        yield backend
    finally:
        backend.restore()
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved_auth
        _reset(endpoint)
        for key in list(moto_config.default_user_config):
            del moto_config.default_user_config[key]  # type: ignore[misc]
        moto_config.default_user_config.update(saved_config)
        server.stop()


# Actions AWS authorizes with another action's permission (the batch forms of SQS calls).
AUTHORIZED_AS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    # moto names the operation; IAM names the permission that authorizes it.
    "lambda:Invoke": "lambda:InvokeFunction",
    "s3:HeadObject": "s3:GetObject",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    "s3:ListObjectsV2": "s3:ListBucket",
    "execute-api:PostToConnection": "execute-api:ManageConnections",
    "execute-api:GetConnection": "execute-api:ManageConnections",
    "execute-api:DeleteConnection": "execute-api:ManageConnections",
}


def patch_iam(backend: Backend) -> None:
    """Make moto's IAM check follow AWS where it does not: batch actions authorized as their single
    forms, and where moto does not resolve a request's resource (every service but SQS, S3, IAM
    and STS) a statement is matched by its action alone, not refused for naming an ARN."""
    from moto.iam import access_control

    check = access_control.IAMRequestBase.check_action_permitted
    matches = access_control.IAMPolicyStatement._check_element_matches

    def check_action_permitted(self: Any, resource: str) -> None:
        self._action = AUTHORIZED_AS.get(self._action, self._action)
        check(self, resource)

    def check_element_matches(self: Any, element: str, value: str) -> bool:
        if element == "Resource" and value == "*":
            return True
        return bool(matches(self, element, value))

    from moto.core.authorization import ActionAuthenticatorMixin

    authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        # moto's check reads the Authorization header only: a pre-signed URL (query-string
        # signature) would fail with a server error, so it is let through unchecked.
        if "X-Amz-Signature=" in str(getattr(self, "uri", "")) and "Authorization" not in self.headers:
            return
        authorize(self, iam_request_cls, resource)

    backend.patch(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", authenticate_and_authorize)
    backend.patch(access_control.IAMRequestBase, "check_action_permitted", check_action_permitted)
    backend.patch(access_control.IAMPolicyStatement, "_check_element_matches", check_element_matches)


def _reset(endpoint: str) -> None:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")) as answer:
        answer.read()


# --- the graph's resources in moto ----------------------------------------------------------------
def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def create_roles(backend: Backend, graph: Graph) -> None:
    iam = backend.client("iam")
    for role in graph.of_type("aws:iam/role:Role"):
        name = role.outputs["name"]
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_json(role.inputs["assumeRolePolicy"]))
        for inline in role.inputs.get("inlinePolicies") or []:
            if inline.get("policy"):
                iam.put_role_policy(RoleName=name, PolicyName=inline["name"], PolicyDocument=_json(inline["policy"]))
    for policy in graph.of_type("aws:iam/policy:Policy"):
        iam.create_policy(PolicyName=policy.outputs["name"], PolicyDocument=_json(policy.inputs["policy"]))
    for grant in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        iam.put_role_policy(
            RoleName=grant.inputs["role"],
            PolicyName=grant.inputs.get("name") or grant.name,
            PolicyDocument=_json(grant.inputs["policy"]),
        )
    for attachment in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        # AWS managed policies are not loaded in moto: such an attachment grants nothing locally.
        with contextlib.suppress(Exception):
            iam.attach_role_policy(RoleName=attachment.inputs["role"], PolicyArn=attachment.inputs["policyArn"])


def create_tables(backend: Backend, graph: Graph) -> None:
    dynamodb = backend.client("dynamodb")
    for table in graph.of_type("aws:dynamodb/table:Table"):
        inputs = table.inputs
        keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        request: dict[str, Any] = {
            "TableName": table.outputs["name"],
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        indexes = []
        for index in inputs.get("globalSecondaryIndexes") or []:
            index_keys = [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
            if index.get("rangeKey"):
                index_keys.append({"AttributeName": index["rangeKey"], "KeyType": "RANGE"})
            projection: dict[str, Any] = {"ProjectionType": index.get("projectionType", "ALL")}
            if index.get("nonKeyAttributes"):
                projection["NonKeyAttributes"] = index["nonKeyAttributes"]
            indexes.append({"IndexName": index["name"], "KeySchema": index_keys, "Projection": projection})
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        if inputs.get("streamEnabled"):
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": inputs.get("streamViewType", "NEW_AND_OLD_IMAGES"),
            }
        dynamodb.create_table(**request)
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled"):
            dynamodb.update_time_to_live(
                TableName=table.outputs["name"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
            )


def create_queues(backend: Backend, graph: Graph) -> None:
    sqs = backend.client("sqs")
    names = {
        "visibilityTimeoutSeconds": "VisibilityTimeout",
        "messageRetentionSeconds": "MessageRetentionPeriod",
        "delaySeconds": "DelaySeconds",
        "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
        "maxMessageSize": "MaximumMessageSize",
        "fifoQueue": "FifoQueue",
        "contentBasedDeduplication": "ContentBasedDeduplication",
        "redrivePolicy": "RedrivePolicy",
        "policy": "Policy",
    }
    queues = graph.of_type("aws:sqs/queue:Queue")
    # Dead-letter queues first: a redrive policy names one that must exist.
    for queue in sorted(queues, key=lambda q: bool(q.inputs.get("redrivePolicy"))):
        attributes = {
            aws: (
                str(value).lower()
                if isinstance(value, bool)
                else _json(value)
                if isinstance(value, dict)
                else str(value)
            )
            for key, aws in names.items()
            if (value := queue.inputs.get(key)) not in (None, "")
        }
        sqs.create_queue(QueueName=queue.outputs["name"], Attributes=attributes)


def create_buckets(backend: Backend, graph: Graph) -> None:
    s3 = backend.client("s3")
    for bucket in [*graph.of_type("aws:s3/bucket:Bucket"), *graph.of_type("aws:s3/bucketV2:BucketV2")]:
        location = (
            {}
            if backend.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": backend.region}}
        )
        s3.create_bucket(Bucket=bucket.outputs["bucket"], **location)


def create_topics(backend: Backend, graph: Graph) -> None:
    sns = backend.client("sns")
    for topic in graph.of_type("aws:sns/topic:Topic"):
        sns.create_topic(Name=topic.outputs["name"])
    for subscription in graph.of_type("aws:sns/topicSubscription:TopicSubscription"):
        if subscription.inputs.get("protocol") in ("sqs", "lambda"):
            sns.subscribe(
                TopicArn=subscription.inputs["topic"],
                Protocol=subscription.inputs["protocol"],
                Endpoint=subscription.inputs["endpoint"],
            )


def create_functions(backend: Backend, graph: Graph, package_bytes: Callable[[CapturedResource], bytes]) -> None:
    """Functions in moto under the graph's names, so ARNs in state machines, targets and
    permissions resolve; moto never runs them (the local environments do)."""
    lambda_ = backend.client("lambda")
    for function in graph.of_type("aws:lambda/function:Function"):
        inputs = function.inputs
        lambda_.create_function(
            FunctionName=function.outputs["name"],
            Runtime=inputs.get("runtime", "python3.12"),
            Role=inputs["role"],
            Handler=inputs["handler"],
            Code={"ZipFile": package_bytes(function)},
            Timeout=int(inputs.get("timeout", 3)),
            MemorySize=int(inputs.get("memorySize", 128)),
            Environment={
                "Variables": {k: str(v) for k, v in ((inputs.get("environment") or {}).get("variables") or {}).items()}
            },
        )


def create_state_machines(backend: Backend, graph: Graph) -> None:
    sfn = backend.client("stepfunctions")
    for machine in graph.of_type("aws:sfn/stateMachine:StateMachine"):
        sfn.create_state_machine(
            name=machine.outputs["name"],
            definition=_json(machine.inputs["definition"]),
            roleArn=machine.inputs["roleArn"],
            type=machine.inputs.get("type", "STANDARD"),
        )


def create_rules(backend: Backend, graph: Graph) -> None:
    events = backend.client("events")
    for rule in graph.of_type("aws:cloudwatch/eventRule:EventRule"):
        # A rule the program leaves unnamed is auto-named; its id is that name (on the default bus).
        name = rule.outputs.get("name") or rule.inputs.get("name") or rule.outputs["id"]
        request: dict[str, Any] = {"Name": name}
        for key, aws in (
            ("eventPattern", "EventPattern"),
            ("scheduleExpression", "ScheduleExpression"),
            ("eventBusName", "EventBusName"),
        ):
            if rule.inputs.get(key):
                request[aws] = _json(rule.inputs[key])
        events.put_rule(**request)
    for target in graph.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        entry: dict[str, Any] = {"Id": target.inputs.get("targetId") or target.name[:64], "Arn": target.inputs["arn"]}
        if target.inputs.get("input"):
            entry["Input"] = target.inputs["input"]
        if target.inputs.get("deadLetterConfig"):
            entry["DeadLetterConfig"] = {"Arn": target.inputs["deadLetterConfig"]["arn"]}
        if target.inputs.get("retryPolicy"):
            policy = target.inputs["retryPolicy"]
            entry["RetryPolicy"] = {
                k: v
                for k, v in (
                    ("MaximumRetryAttempts", policy.get("maximumRetryAttempts")),
                    ("MaximumEventAgeInSeconds", policy.get("maximumEventAgeInSeconds")),
                )
                if v is not None
            }
        events.put_targets(Rule=target.inputs["rule"], Targets=[entry])


def provision(backend: Backend, graph: Graph, package_bytes: Callable[[CapturedResource], bytes]) -> None:
    """Create in moto every resource of the graph that moto emulates."""
    create_roles(backend, graph)
    create_tables(backend, graph)
    create_queues(backend, graph)
    create_buckets(backend, graph)
    create_topics(backend, graph)
    create_functions(backend, graph, package_bytes)
    create_state_machines(backend, graph)
    create_rules(backend, graph)
