"""Pulumi mocks that answer like AWS: real ARN, URL and id shapes per resource type, and the
common data-source calls (caller identity, region, partition, IAM policy documents).

Computed outputs matter under mocks: an input built from a missing output (say a Lambda
``invokeArn``) is silently dropped, so every output a component reads must be answered here.
Extend with ``outputs={type_token: fn}`` and ``calls={token: fn}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi

__all__ = ["AwsMocks", "render_policy_document"]

OutputFn = Callable[["AwsMocks", pulumi.runtime.MockResourceArgs, str], dict[str, Any]]
CallFn = Callable[["AwsMocks", Mapping[str, Any]], dict[str, Any]]


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _api_id(seed: str) -> str:
    # API Gateway ids are 10 lowercase alphanumerics.
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    number = int(_hex(seed, 16), 16)
    return "".join(digits[(number >> (5 * i)) % 36] for i in range(10))


class AwsMocks(pulumi.runtime.Mocks):
    """Mocks with realistic AWS outputs. Ids and names are stable for a given resource name."""

    def __init__(
        self,
        region: str = "eu-west-1",
        account_id: str = "123456789012",
        partition: str = "aws",
        outputs: Mapping[str, OutputFn] | None = None,
        calls: Mapping[str, CallFn] | None = None,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.partition = partition
        self._outputs: dict[str, OutputFn] = {**_OUTPUTS, **dict(outputs or {})}
        self._calls: dict[str, CallFn] = {**_CALLS, **dict(calls or {})}

    # -- helpers for output functions ------------------------------------------------------------
    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join(
            [
                "arn",
                self.partition,
                service,
                self.region if region else "",
                self.account_id if account else "",
                resource,
            ]
        )

    def physical(self, args: pulumi.runtime.MockResourceArgs, key: str = "name") -> str:
        """The name AWS would see: the input, or Pulumi's auto-name (logical name + 7 hex)."""
        given = args.inputs.get(key)
        return str(given) if given else f"{args.name}-{_hex(args.name, 7)}"

    # -- Mocks API -------------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        fn = self._outputs.get(args.typ)
        extra = fn(self, args, args.name) if fn else {}
        resource_id = extra.pop("id", None) or f"{args.name}-{_hex(args.typ + args.name, 8)}"
        if fn is None and "arn" not in args.inputs:
            service = args.typ.split(":")[1].split("/")[0] if ":" in args.typ else "unknown"
            extra["arn"] = self.arn(service, args.name)
        return resource_id, {**args.inputs, **extra}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        fn = self._calls.get(args.token)
        if fn is None:
            raise NotImplementedError(f"AwsMocks has no answer for the call {args.token!r}; pass calls={{token: fn}}")
        return fn(self, args.args), []


# --- resource outputs ----------------------------------------------------------------------------
def _lambda_function(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    arn = m.arn("lambda", f"function:{name}")
    version = "1" if a.inputs.get("publish") else "$LATEST"
    return {
        "id": name,
        "name": name,
        "arn": arn,
        "version": version,
        "qualifiedArn": f"{arn}:{version}",
        "invokeArn": _invoke_arn(m, arn),
        "qualifiedInvokeArn": _invoke_arn(m, f"{arn}:{version}"),
        "lastModified": "2026-01-01T00:00:00.000+0000",
    }


def _invoke_arn(m: AwsMocks, function_arn: str) -> str:
    return f"arn:{m.partition}:apigateway:{m.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def _lambda_alias(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    function = str(a.inputs.get("functionName", "function")).split(":")[-1]
    arn = m.arn("lambda", f"function:{function}:{m.physical(a)}")
    return {"id": arn, "arn": arn, "invokeArn": _invoke_arn(m, arn)}


def _event_source_mapping(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    uuid = "-".join(_hex(a.name, n) for n in (8, 4, 4, 4, 12))
    return {"id": uuid, "uuid": uuid, "arn": m.arn("lambda", f"event-source-mapping:{uuid}"), "state": "Enabled"}


def _iam_role(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    return {
        "id": name,
        "name": name,
        "arn": m.arn("iam", f"role/{name}", region=False),
        "uniqueId": "AROA" + _hex(name, 17).upper(),
    }


def _iam_policy(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    arn = m.arn("iam", f"policy/{name}", region=False)
    return {"id": arn, "name": name, "arn": arn}


def _sqs_queue(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    if a.inputs.get("fifoQueue") and not name.endswith(".fifo"):
        name += ".fifo"
    url = f"https://sqs.{m.region}.amazonaws.com/{m.account_id}/{name}"
    return {"id": url, "url": url, "name": name, "arn": m.arn("sqs", name)}


def _sns_topic(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    arn = m.arn("sns", name)
    return {"id": arn, "arn": arn, "name": name}


def _log_group(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    return {"id": name, "name": name, "arn": m.arn("logs", f"log-group:{name}")}


def _metric_alarm(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a, "name")
    return {"id": name, "name": name, "arn": m.arn("cloudwatch", f"alarm:{name}")}


def _composite_alarm(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a, "alarmName")
    return {"id": name, "alarmName": name, "arn": m.arn("cloudwatch", f"alarm:{name}")}


def _dashboard(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a, "dashboardName")
    return {"id": name, "dashboardName": name, "dashboardArn": m.arn("cloudwatch", f"dashboard/{name}", region=False)}


def _dynamodb_table(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    arn = m.arn("dynamodb", f"table/{name}")
    out = {"id": name, "name": name, "arn": arn}
    if a.inputs.get("streamEnabled"):
        out["streamArn"] = f"{arn}/stream/2026-01-01T00:00:00.000"
    return out


def _s3_bucket(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a, "bucket").lower()
    return {
        "id": name,
        "bucket": name,
        "arn": f"arn:{m.partition}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{m.region}.amazonaws.com",
    }


def _rest_api(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    api_id = _api_id(a.name)
    return {
        "id": api_id,
        "rootResourceId": _api_id(a.name + "/")[:10],
        "executionArn": m.arn("execute-api", api_id),
        "arn": f"arn:{m.partition}:apigateway:{m.region}::/restapis/{api_id}",
    }


def _rest_stage(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    api_id, stage = a.inputs.get("restApi", "api"), a.inputs.get("stageName", "stage")
    return {
        "invokeUrl": f"https://{api_id}.execute-api.{m.region}.amazonaws.com/{stage}",
        "executionArn": m.arn("execute-api", f"{api_id}/{stage}"),
        "arn": f"arn:{m.partition}:apigateway:{m.region}::/restapis/{api_id}/stages/{stage}",
    }


def _api_key(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    key_id = _api_id(a.name)
    return {
        "id": key_id,
        "value": _hex("key" + a.name, 40),
        "arn": f"arn:{m.partition}:apigateway:{m.region}::/apikeys/{key_id}",
    }


def _http_api(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    api_id = _api_id(a.name)
    scheme = "wss" if a.inputs.get("protocolType") == "WEBSOCKET" else "https"
    return {
        "id": api_id,
        "apiEndpoint": f"{scheme}://{api_id}.execute-api.{m.region}.amazonaws.com",
        "executionArn": m.arn("execute-api", api_id),
        "arn": f"arn:{m.partition}:apigateway:{m.region}::/apis/{api_id}",
    }


def _http_stage(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    api_id, stage = a.inputs.get("apiId", "api"), a.inputs.get("name", "$default")
    path = "" if stage == "$default" else stage  # the $default stage serves the root
    return {
        "id": stage,
        "invokeUrl": f"https://{api_id}.execute-api.{m.region}.amazonaws.com/{path}",
        "executionArn": m.arn("execute-api", f"{api_id}/{stage}"),
    }


def _state_machine(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    arn = m.arn("states", f"stateMachine:{name}")
    return {"id": arn, "arn": arn, "name": name}


def _canary(m: AwsMocks, a: pulumi.runtime.MockResourceArgs, _: str) -> dict[str, Any]:
    name = m.physical(a)
    return {"id": name, "name": name, "arn": m.arn("synthetics", f"canary:{name}")}


_OUTPUTS: dict[str, OutputFn] = {
    "aws:lambda/function:Function": _lambda_function,
    "aws:lambda/alias:Alias": _lambda_alias,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _event_source_mapping,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/policy:Policy": _iam_policy,
    "aws:sqs/queue:Queue": _sqs_queue,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:dynamodb/table:Table": _dynamodb_table,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/stage:Stage": _rest_stage,
    "aws:apigateway/apiKey:ApiKey": _api_key,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/stage:Stage": _http_stage,
    "aws:sfn/stateMachine:StateMachine": _state_machine,
    "aws:synthetics/canary:Canary": _canary,
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": _composite_alarm,
}


# --- data-source calls ---------------------------------------------------------------------------
def render_policy_document(args: Mapping[str, Any]) -> str:
    """The JSON AWS would get from ``aws.iam.get_policy_document`` for these (camelCase) args."""
    statements = []
    for s in args.get("statements") or []:
        out: dict[str, Any] = {"Effect": s.get("effect", "Allow")}
        if s.get("sid"):
            out["Sid"] = s["sid"]
        for key, aws_key in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if s.get(key):
                values = sorted(s[key])
                out[aws_key] = values[0] if len(values) == 1 else values
        if s.get("principals"):
            principal: dict[str, Any] = {}
            for p in s["principals"]:
                ids = sorted(p.get("identifiers") or [])
                principal[p["type"]] = ids[0] if len(ids) == 1 else ids
            out["Principal"] = principal
        if s.get("conditions"):
            condition: dict[str, dict[str, Any]] = {}
            for c in s["conditions"]:
                values = list(c.get("values") or [])
                condition.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
            out["Condition"] = condition
        statements.append(out)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


_CALLS: dict[str, CallFn] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda m, _: {
        "accountId": m.account_id,
        "id": m.account_id,
        "userId": "AIDAMOCKUSER",
        "arn": f"arn:{m.partition}:iam::{m.account_id}:user/mock",
    },
    "aws:index/getRegion:getRegion": lambda m, _: {
        "name": m.region,
        "region": m.region,
        "id": m.region,
        "description": m.region,
        "endpoint": f"ec2.{m.region}.amazonaws.com",
    },
    "aws:index/getPartition:getPartition": lambda m, _: {
        "partition": m.partition,
        "id": m.partition,
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda m, _: {
        "names": [f"{m.region}{z}" for z in "abc"],
        "id": m.region,
        "zoneIds": [f"{m.region[:3]}{m.region[-1]}-az{i}" for i in (1, 2, 3)],
    },
    "aws:iam/getPolicyDocument:getPolicyDocument": lambda _, a: {
        "json": render_policy_document(a),
        "id": _hex(render_policy_document(a), 10),
        "minifiedJson": render_policy_document(a),
    },
}
