"""Run a Pulumi policy pack's policies over a captured graph, offline, as the engine would.

``pulumi-policy`` hands a resource policy a ``ResourceValidationArgs`` (the resource's inputs,
options, provider) once per resource, and a stack policy one ``StackValidationArgs`` (every
resource's state, parents and dependencies as ``PolicyResource`` objects, the stack's root and
its default providers included). ``resource_args`` and ``stack_args`` build those shapes from a
``Graph``, values behind the SDK's own unknown-checking proxy; ``analyze`` calls each policy as the
SDK's analyzer does (``Analyze`` per resource, then ``AnalyzeStack``), skipping disabled ones, and
returns what they reported.

Needs the ``policy`` extra (``pip install 'resilient-serverless[policy]'``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from .capture import CapturedResource, Graph

__all__ = ["Violation", "analyze", "policy_resources", "resource_args", "stack_args"]


def _urn(graph: Graph, type_: str, name: str) -> str:
    return f"urn:pulumi:{graph.stack}::{graph.project}::{type_}::{name}"


def _provider(graph: Graph, resource: CapturedResource) -> PolicyProviderResource | None:
    # The engine names the provider of every custom resource; components have none.
    if not resource.custom or resource.type.startswith("pulumi:providers:"):
        return None
    provider_type = f"pulumi:providers:{resource.type.split(':')[0]}"
    return PolicyProviderResource(
        provider_type, unknown_checking_proxy({}), _urn(graph, provider_type, "default"), "default"
    )


def _options(resource: CapturedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], resource.parent)


def resource_args(
    graph: Graph, resource: CapturedResource, config: Mapping[str, Any] | None = None
) -> ResourceValidationArgs:
    """What a resource policy receives for ``resource``: its inputs (never its outputs)."""
    props = unknown_checking_proxy(copy.deepcopy(resource.inputs))
    return ResourceValidationArgs(
        resource.type, props, resource.urn, resource.name, _options(resource), _provider(graph, resource), config
    )


def _state(graph: Graph, resource: CapturedResource) -> dict[str, Any]:
    # A stack policy sees state: a custom resource's outputs, a component's registered outputs.
    return dict(resource.outputs) if resource.custom else dict(graph.outputs_of(resource))


def policy_resources(graph: Graph) -> list[PolicyResource]:
    """Every resource of the stack as a stack policy sees it, the root ``Stack`` resource and each
    package's default provider first, as the engine lists them."""
    stack_urn = _urn(graph, "pulumi:pulumi:Stack", f"{graph.project}-{graph.stack}")
    no_options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    root = PolicyResource(
        "pulumi:pulumi:Stack",
        unknown_checking_proxy(dict(graph.exports)),
        stack_urn,
        f"{graph.project}-{graph.stack}",
        no_options,
        None,
        None,
        [],
        {},
    )
    out = [root]
    for package in sorted({r.type.split(":")[0] for r in graph if r.custom}):
        provider_type = f"pulumi:providers:{package}"
        urn = _urn(graph, provider_type, "default")
        out.append(
            PolicyResource(provider_type, unknown_checking_proxy({}), urn, "default", no_options, None, root, [], {})
        )
    by_urn: dict[str, PolicyResource] = {r.urn: r for r in out}
    for r in graph:
        state = unknown_checking_proxy(copy.deepcopy(_state(graph, r)))
        by_urn[r.urn] = PolicyResource(r.type, state, r.urn, r.name, _options(r), _provider(graph, r), None, [], {})
        out.append(by_urn[r.urn])
    for r in graph:
        resource = by_urn[r.urn]
        resource.parent = by_urn.get(r.parent or "", root)
        resource.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
    return out


def stack_args(graph: Graph, config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    return StackValidationArgs(policy_resources(graph), config)


@dataclass(frozen=True)
class Violation:
    """One reported violation: the policy, its enforcement level, the resource and the message."""

    policy: str
    level: str
    urn: str
    message: str


PolicyConfig = Mapping[str, Any]


def _level(policy: Policy, config: PolicyConfig) -> str:
    # As the engine: the policy's configured level, else the config's ``all``, else the policy's
    # own, else the pack's (advisory).
    entry = config.get(policy.name)
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping) and "enforcementLevel" in entry:
        return str(entry["enforcementLevel"])
    if "all" in config:
        all_entry = config["all"]
        return str(all_entry if isinstance(all_entry, str) else all_entry["enforcementLevel"])
    return policy.enforcement_level.value if policy.enforcement_level else EnforcementLevel.ADVISORY.value


def _properties(policy: Policy, config: PolicyConfig) -> dict[str, Any] | None:
    entry = config.get(policy.name)
    if not isinstance(entry, Mapping):
        return None
    return {k: v for k, v in entry.items() if k != "enforcementLevel"} or None


def _reporter(found: list[Violation], policy: str, level: str, resource_urn: str | None) -> Any:
    """A ``report_violation``: a resource policy's violations belong to its resource (the SDK
    ignores the urn argument there), a stack policy names the resource itself."""

    def report_violation(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy, level, resource_urn or urn or "", message))

    return report_violation


def analyze(graph: Graph, policies: Iterable[Policy], config: PolicyConfig | None = None) -> list[Violation]:
    """Every violation the policies report over ``graph``: resource policies on each resource in
    graph order, then stack policies. ``config`` is what ``--policy-pack-config`` holds (a level
    per policy name or ``all``, or ``{"enforcementLevel": ..., <property>: ...}``). A policy that
    reads a value unknown during a preview is reported as the SDK does: one advisory violation
    saying it cannot run."""
    config = config or {}
    policies = list(policies)
    found: list[Violation] = []
    for policy in policies:
        level = _level(policy, config)
        if level == "disabled" or not isinstance(policy, ResourceValidationPolicy):
            continue
        for resource in graph:
            try:
                policy.validate(
                    resource_args(graph, resource, _properties(policy, config)),
                    _reporter(found, policy.name, level, resource.urn),
                )
            except UnknownValueError as error:
                found.append(
                    Violation(policy.name, "advisory", resource.urn, f"can't run during preview: {error.message}")
                )
    for policy in policies:
        level = _level(policy, config)
        if level == "disabled" or not isinstance(policy, StackValidationPolicy):
            continue
        try:
            policy.validate(stack_args(graph, _properties(policy, config)), _reporter(found, policy.name, level, None))
        except UnknownValueError as error:
            found.append(Violation(policy.name, "advisory", "", f"can't run during preview: {error.message}"))
    return found
