"""ResilientFunction's Lambda defaults of today: the runtime AWS supports longest, recursive loop
detection written explicitly, and tenant isolation where AWS allows it."""

from __future__ import annotations

from typing import Any

import pytest
from resilient_serverless.components import ConfigError, aws_facts, defaults

from .test_defaults_and_bad_input import FUNCTION, build

RECURSION = "aws:lambda/functionRecursionConfig:FunctionRecursionConfig"


def test_the_default_runtime_is_the_python_runtime_aws_supports_longest() -> None:
    # GIVEN the dated runtime table WHEN the default is read THEN it is the last Python runtime to be deprecated
    latest = max(
        (f for f in aws_facts.LAMBDA_RUNTIMES.values() if f.identifier.startswith("python")),
        key=lambda f: f.deprecated_on,
    )
    assert defaults.FUNCTION_RUNTIME == latest.identifier == "python3.13"
    assert aws_facts.supported_runtimes("lambda", "python", aws_facts.CHECKED_ON)[0] == defaults.FUNCTION_RUNTIME


def test_recursive_loop_detection_is_set_to_terminate_on_every_function() -> None:
    # GIVEN a function with no recursion argument WHEN built
    graph = build()
    fn, recursion = graph.one(FUNCTION), graph.one(RECURSION)
    # THEN its recursion config says Terminate, for that function, under the component
    assert recursion.inputs == {"functionName": fn.outputs["name"], "recursiveLoop": "Terminate"}, recursion.urn
    assert recursion.parent == graph.one("resilient-serverless:index:ResilientFunction").urn
    assert defaults.FUNCTION_RECURSIVE_LOOP == "Terminate"


def test_a_function_meant_to_loop_may_allow_it() -> None:
    # GIVEN recursive_loop='Allow' WHEN built THEN the config allows the loop
    assert build(recursive_loop="Allow").one(RECURSION).inputs["recursiveLoop"] == "Allow"


def test_tenant_isolation_sets_per_tenant_mode_and_is_off_by_default() -> None:
    # GIVEN a sync function with tenant isolation, and one without
    isolated, shared = build(tenant_isolation=True).one(FUNCTION), build().one(FUNCTION)
    # THEN the first runs one tenant per execution environment; the second has no tenancy config
    assert isolated.inputs["tenancyConfig"] == {"tenantIsolationMode": "PER_TENANT"}, isolated.urn
    assert "tenancyConfig" not in shared.inputs, shared.urn


@pytest.mark.parametrize(
    ("args", "problems"),
    [
        ({"recursive_loop": "Off"}, ["recursive_loop='Off' is not one of 'Terminate', 'Allow'"]),
        (
            {"tenant_isolation": True, "invocation": "queue", "reserved_concurrency": None},
            [
                "tenant_isolation=True needs invocation='sync', not 'queue': AWS accepts no event source but "
                "API Gateway for a tenant-isolated function"
            ],
        ),
        (
            {"tenant_isolation": True, "provisioned_concurrency": 2},
            ["tenant_isolation=True cannot be combined with provisioned_concurrency=2 (AWS)"],
        ),
        (
            {"tenant_isolation": True, "snap_start": True},
            ["tenant_isolation=True cannot be combined with snap_start=True (AWS)"],
        ),
        ({"tenant_isolation": "yes"}, ["tenant_isolation='yes' must be True or False"]),
    ],
)
def test_settings_aws_refuses_are_named_before_any_resource(args: dict[str, Any], problems: list[str]) -> None:
    # GIVEN a recursion mode or a tenant isolation AWS would refuse WHEN the function is built
    with pytest.raises(ConfigError) as raised:
        build(**args)
    # THEN one error names it
    assert raised.value.problems == problems
