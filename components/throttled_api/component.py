"""ThrottledApi: validate, then build the chosen flavour, then its alarms."""

from __future__ import annotations

from typing import ClassVar

import pulumi
from typing_extensions import Unpack

from ..blocks import access_log_group
from ..validation import component_args
from .alarms import ApiAlarms
from .http import HttpFlavor
from .rest import RestFlavor
from .routes import ThrottledApiArgs, _validate


class ThrottledApi(RestFlavor, HttpFlavor, ApiAlarms):
    """API Gateway (REST or HTTP) in front of ResilientFunctions and SQS queues."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = (
        "api",
        "stage",
        "access_logs",
        "execution_logs",
        "deployment",
        "method_settings",
        "method",
        "integration",
        "route",
        "permission",
        "integration_role",
        "usage_plan",
        "api_key",
        "waf",
        "alarm",
        "gateway_response",
    )

    # Public attributes (api, stage, url, api_id, stage_name, execution_arn, usage_plan_ids,
    # api_keys, access_logs) are declared and documented once, on ApiCore (common.py).

    def __init__(
        self,
        name: str,
        args: ThrottledApiArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **keywords: Unpack[ThrottledApiArgs],
    ) -> None:
        # Both ThrottledApi(name, {...}) and the Pulumi style ThrottledApi(name, key=...)
        given = component_args("ThrottledApi", name, args, keywords)
        settings = _validate(name, given, self.check_transform_keys)
        super().__init__(name, tags=given.get("tags"), transform=given.get("transform"), opts=opts)
        self.settings = settings
        self.flavor = settings.flavor
        self.stage_name = settings.stage_name
        self.routes = settings.routes
        self.usage_plan_ids = {}
        self.api_keys = {}
        self.permissions = []
        self.access_logs = access_log_group(self, settings.log_retention_days)
        self.integration_role = self._create_integration_role()
        if settings.flavor == "rest":
            self._create_rest()
        else:
            self._create_http()
        self.alarms = self._create_alarms()
        self.register_outputs(
            {
                "url": self.url,
                "api_id": self.api_id,
                "stage_name": self.stage_name,
                "execution_arn": self.execution_arn,
                "usage_plan_ids": self.usage_plan_ids,
                "api_keys": self.api_keys,
                "flavor": settings.flavor,
                "stage_throttle": {"rate": settings.rate, "burst": settings.burst},
                "routes": [r.summary() for r in settings.routes],
                "account_setting": settings.account_setting,
            }
        )

    def invoke_arn(self, method: str, path: str) -> pulumi.Output[str]:
        """The ``execute-api:Invoke`` resource of one route, for the IAM policy of a caller
        allowed to call it (``auth={"type": "iam"}``): ``{execution_arn}/{stage}/{METHOD}{path}``
        with path parameters as ``*``."""
        route = next((r for r in self.routes if r.method == method and r.path == path), None)
        if route is None:
            known = ", ".join(r.key for r in self.routes)
            raise KeyError(f"ThrottledApi {self._name!r} has no route {method} {path} (routes: {known})")
        stage = "*" if self.flavor == "http" else self.stage_name
        return self.execution_arn.apply(lambda arn: f"{arn}/{stage}/{route.arn_method}{route.arn_path}")
