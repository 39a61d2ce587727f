"""The catalogue's machinery: a rule, a finding, the registry ``RULES`` that ``@rule`` fills,
waivers and ``check``, which runs every rule over a graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..offline.capture import record_waiver

if TYPE_CHECKING:
    from ..offline import CapturedResource, Graph


__all__ = ["RULES", "Finding", "Rule", "RuleFn", "Severity", "check", "rule", "waive", "waivers"]

Severity = Literal["error", "warning"]
RuleFn = Callable[["CapturedResource", "Graph"], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    types: tuple[str, ...]  # empty: every resource
    description: str
    fn: RuleFn
    # Whether the rule looks past its one resource (a policy pack runs such a rule as a stack
    # policy). None: inferred from whether ``fn`` reads its ``graph`` argument
    # (``components.policy.uses_graph``). Default: None.
    needs_graph: bool | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    urn: str
    type: str
    name: str
    message: str
    waived: str | None = None  # the reason, when the stack waived the rule

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str,
    severity: Severity,
    types: tuple[str, ...],
    description: str,
    *,
    needs_graph: bool | None = None,
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule. ``types`` are Pulumi type tokens; an empty tuple means every resource.

    ``needs_graph``: see ``Rule.needs_graph``; set it only where inference from the code is wrong.
    Default: None (inferred)."""

    def register(fn: RuleFn) -> RuleFn:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id!r} is registered twice")
        RULES[rule_id] = Rule(rule_id, severity, types, description, fn, needs_graph)
        return fn

    return register


def waive(rule_id: str, reason: str) -> None:
    """Waive ``rule_id`` for the stack being run; the reason is shown in the plan. The offline run
    keeps it in the program's graph (``Graph.waivers``), which ``check`` reads."""
    if rule_id not in RULES:
        raise KeyError(f"unknown rule {rule_id!r}; known rules: {', '.join(sorted(RULES))}")
    if not reason.strip():
        raise ValueError(f"waiving {rule_id!r} needs a reason")
    record_waiver(rule_id, reason.strip())


def waivers(graph: Graph) -> dict[str, str]:
    """Rule id -> reason: the rules the program behind ``graph`` waived."""
    return dict(graph.waivers)


def check(graph: Graph, waived: dict[str, str] | None = None) -> list[Finding]:
    """Every finding of every rule over ``graph``: by resource URN, then rule registration order,
    then the rule's own order. Graph order is the order in which registrations completed, which
    varies from run to run; the plan and its tests need the same list every time.

    ``waived``: rule id -> reason. Default: the waivers of the program behind ``graph``."""
    waived = graph.waivers if waived is None else waived
    findings: list[Finding] = []
    for resource in sorted(graph, key=lambda r: r.urn):
        for r in RULES.values():
            if r.types and resource.type not in r.types:
                continue
            for message in r.fn(resource, graph):
                findings.append(
                    Finding(r.id, r.severity, resource.urn, resource.type, resource.name, message, waived.get(r.id))
                )
    return findings
