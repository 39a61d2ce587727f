"""Resources built by hand, as a policy pack hands them over: exactly the inputs and outputs a
rule's boundary needs, no program run, so a rule's edge tests take a fraction of a second (which
matters because ``make mutation`` runs them once per mutant)."""

from __future__ import annotations

from typing import Any

from resilient_serverless.components import rules
from resilient_serverless.components.testing import CapturedResource, Graph

TAGS = {"environment": "t", "component": "c", "managed-by": "m"}


def res(type_: str, name: str, inputs: dict[str, Any] | None = None) -> CapturedResource:
    """A resource as the monitor records it, with no outputs (components: ``custom`` False)."""
    urn = f"urn:pulumi:test::p::{type_}::{name}"
    return CapturedResource(urn, type_, name, inputs or {}, {}, None, (), not type_.startswith("resilient"))


def out(type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> CapturedResource:
    urn = f"urn:pulumi:test::p::{type_}::{name}"
    return CapturedResource(urn, type_, name, inputs, outputs, None, (), True)


def messages(rule_id: str, *resources: CapturedResource, outputs: dict[str, Any] | None = None) -> list[str]:
    graph = Graph(list(resources), {}, outputs or {}, "test", "p")
    return [f.message for f in rules.check(graph, waived={}) if f.rule == rule_id]


def function(name: str = "f", **inputs: Any) -> CapturedResource:
    return out(rules.FUNCTION, name, inputs, {"name": name, "arn": f"arn:aws:lambda:eu-west-1:1:function:{name}"})


def queue(name: str, **inputs: Any) -> CapturedResource:
    return out(rules.QUEUE, name, inputs, {"name": name, "arn": f"arn:aws:sqs:eu-west-1:1:{name}"})
