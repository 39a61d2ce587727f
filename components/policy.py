"""The resilience rules as a Pulumi policy pack (CrossGuard), for any Pulumi program.

Every rule in ``rules.RULES`` becomes one policy of the same name that calls the same rule
function: the offline plan and the pack share one source of truth, and a rule added to
``components/rules/`` joins the pack with no edit here.

- A rule that reads only its one resource becomes a *resource* policy: the engine calls it with
  each resource's inputs before the resource is created or updated, so a mandatory finding fails
  ``pulumi preview`` and stops ``pulumi up`` before that resource changes.
- A rule that reads the graph (a function's log group, a queue's consumer, a DLQ's retention)
  becomes a *stack* policy: the engine calls it once with every resource of the stack and their
  state (outputs: what AWS applies, provider defaults included), after ``preview`` has planned
  and after ``up`` has deployed. Whether a rule reads the graph is ``Rule.needs_graph``, or, left
  unset, inferred from the rule's code (``uses_graph``).

Enforcement level per rule: by default ``mandatory`` for severity ``error`` and ``advisory``
for ``warning``; ``PackSettings`` (the pack's ``settings.yaml``) sets a level per rule or for
``all``, and waives rules with a reason (``"rule-id: reason"``, as in the stack settings). A
waived rule still reports, marked ``[waived: reason]``, at ``advisory``: visible, never blocking.
Pulumi's own policy configuration (``--policy-pack-config``, or a policy group in Pulumi Cloud)
can still override any policy's level, and waive it through the ``waiver`` property each policy
declares (with ``enforcementLevel: advisory`` beside it: a policy cannot lower its own level).

``PolicyPack(...)`` starts a gRPC server and blocks, so it is only constructed in the pack's
entry point (``policy/__main__.py``); everything here is importable and tested without it.
"""

from __future__ import annotations

import dis
import inspect
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from .offline import CapturedResource, Graph
from .rules import RULES, Finding, Rule
from .validation import Problems

__all__ = [
    "DEFAULT_LEVELS",
    "LEVELS",
    "PACK_NAME",
    "SETTINGS_ENV",
    "WAIVER_PROPERTY",
    "PackSettings",
    "captured_from_resource_args",
    "graph_from_stack_args",
    "load_pack_settings",
    "parse_pack_settings",
    "policies",
    "policy_for",
    "uses_graph",
    "violation_message",
]

PACK_NAME = "resilient-serverless"
LEVELS = ("advisory", "mandatory", "disabled")
# Default: an error blocks the deployment, a warning is shown and lets it pass.
DEFAULT_LEVELS: Mapping[str, str] = {"error": "mandatory", "warning": "advisory"}
# Pulumi's own severity scale, shown in Pulumi Cloud; ours has two steps.
_SEVERITIES = {"error": Severity.HIGH, "warning": Severity.MEDIUM}
# Names another settings file than the pack's own settings.yaml (a team's overrides).
SETTINGS_ENV = "RESILIENT_SERVERLESS_POLICY_SETTINGS"
STACK_TYPE = "pulumi:pulumi:Stack"
# The property of a policy's Pulumi config that waives it: ``{"rule-id": {"waiver": "why"}}``.
WAIVER_PROPERTY = "waiver"
_UNKNOWNS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


# --- which rules need the graph -------------------------------------------------------------------
def uses_graph(r: Rule) -> bool:
    """Whether ``r`` becomes a stack policy: ``r.needs_graph`` when set, else whether its function
    reads its second argument at all (directly, through a helper, or inside a comprehension).

    Inference errs towards the graph: a rule that mentions ``graph`` at all runs as a stack
    policy, which sees every resource it might look at. The price, for a rule that only passes
    ``graph`` along unused: it judges the deployed state (provider defaults filled in) after the
    plan instead of the program's inputs before creation; ``@rule(..., needs_graph=False)`` says so."""
    if r.needs_graph is not None:
        return r.needs_graph
    fn = inspect.unwrap(r.fn)
    code = getattr(fn, "__code__", None)
    if code is None or code.co_argcount < 2:
        return True  # not a plain function: assume the worst
    name = code.co_varnames[1]
    if name in code.co_cellvars:  # read inside a nested function, lambda or comprehension
        return True
    for instruction in dis.get_instructions(code):
        if not instruction.opname.startswith(("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "STORE_FAST")):
            continue
        value = instruction.argval
        if value == name or (isinstance(value, tuple) and name in value):
            return True
    return False


# --- settings: enforcement levels and waivers -----------------------------------------------------
@dataclass(frozen=True)
class PackSettings:
    """The pack's enforcement levels and waivers.

    ``levels``: rule id (or ``all``) -> ``advisory`` | ``mandatory`` | ``disabled``.
    Default: none (each rule at ``DEFAULT_LEVELS`` of its severity).
    ``waivers``: rule id -> reason. Default: none."""

    levels: Mapping[str, str] = field(default_factory=dict)
    waivers: Mapping[str, str] = field(default_factory=dict)

    def level_of(self, r: Rule) -> str:
        """A rule's own level, then its waiver (advisory), then ``all``, then its severity's default."""
        if r.id in self.levels:
            return self.levels[r.id]
        if r.id in self.waivers:
            return "advisory"
        return self.levels.get("all", DEFAULT_LEVELS[r.severity])


def parse_pack_settings(raw: Mapping[str, Any] | None, subject: str = "policy settings") -> PackSettings:
    """Validate ``{"enforcement": {rule: level}, "waivers": ["rule-id: reason"]}`` into settings.

    Raises one ``ConfigError`` naming every bad key and value and what is allowed."""
    raw = raw or {}
    p = Problems(subject)
    p.check_known_keys(raw, ("enforcement", "waivers"), what="key")
    known = ", ".join(sorted(RULES))
    levels: dict[str, str] = {}
    enforcement = raw.get("enforcement") or {}
    if not isinstance(enforcement, Mapping):
        p.add(f"enforcement={enforcement!r} must map rule ids (or 'all') to a level")
        enforcement = {}
    for rule_id, level in enforcement.items():
        if rule_id != "all" and rule_id not in RULES:
            p.add(f"enforcement key {rule_id!r} names no rule (known rules: all, {known})")
        elif p.check_choice(f"enforcement.{rule_id}", level, LEVELS):
            levels[str(rule_id)] = str(level)
    waivers: dict[str, str] = {}
    entries = raw.get("waivers") or []
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        p.add(f"waivers={entries!r} must be a list of 'rule-id: reason' entries")
        entries = []
    for entry in entries:
        rule_id, _, reason = str(entry).partition(":")
        rule_id, reason = rule_id.strip(), reason.strip()
        if rule_id not in RULES:
            p.add(f"waivers entry {entry!r} names no rule (known rules: {known})")
        elif not reason:
            p.add(f"waivers entry {entry!r} needs a reason: 'rule-id: why this is waived'")
        elif levels.get(rule_id) == "mandatory":
            p.add(
                f"waivers entry {entry!r} contradicts enforcement.{rule_id}='mandatory': "
                "a waived rule never blocks (set it to advisory or disabled, or drop the waiver)"
            )
        else:
            waivers[rule_id] = reason
    p.raise_if_any()
    return PackSettings(levels, waivers)


def load_pack_settings(default_path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> PackSettings:
    """The settings file named by ``$RESILIENT_SERVERLESS_POLICY_SETTINGS``, else ``default_path``;
    none at all when the chosen default file is absent."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(SETTINGS_ENV)
    path = Path(chosen or default_path)
    if not path.is_file():
        if chosen:
            raise FileNotFoundError(f"{SETTINGS_ENV}={chosen!r}: no such file")
        return PackSettings()
    return parse_pack_settings(yaml.safe_load(path.read_text()), subject=f"policy settings {path}")


# --- from what pulumi-policy passes to what the rules read ----------------------------------------
class _KnownDict(dict[str, Any]):
    """A plain dict for the rules (``isinstance``, ``json.dumps``) that still raises
    ``UnknownValueError``, as pulumi-policy's proxy does, when a rule reads a value that is
    unknown during a preview (an ARN not yet assigned)."""

    path: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Any:
        return _checked(super().__getitem__(key), (*self.path, str(key)))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 (self.get is this method)

    def values(self) -> Any:
        return [self[k] for k in self]

    def items(self) -> Any:
        return [(k, self[k]) for k in self]


class _KnownList(list[Any]):
    path: tuple[str, ...] = ()

    def __getitem__(self, index: Any) -> Any:
        value = super().__getitem__(index)
        if isinstance(index, slice):
            return [_checked(v, (*self.path, str(index))) for v in value]
        return _checked(value, (*self.path, str(index)))

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]


def _checked(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, str) and value in _UNKNOWNS:
        raise UnknownValueError(value, list(path))
    return value


def _plain(value: Any, path: tuple[str, ...] = (), *, program_only: bool = False) -> Any:
    """pulumi-policy's read-only proxies as ``_KnownDict``/``_KnownList``, unknowns kept as its
    sentinels (read lazily), so the rules see the same shapes the offline plan gives them.

    ``program_only``: drop what the provider filled in. A resource policy gets the inputs after
    the provider's ``Check``, where pulumi-terraform-bridge has added the schema's defaults (a
    Lambda's 3 s timeout) and listed their keys under ``__defaults``; the rules judge what the
    program set, as the offline plan's inputs are."""
    if isinstance(value, Mapping):
        out = _KnownDict()
        out.path = path
        filled = set(_defaults_of(value)) if program_only else set()
        for key in value:
            if key in filled:
                continue
            try:
                item = value[key]
            except UnknownValueError as unknown:
                item = unknown.unknown_type_sentinel
            dict.__setitem__(out, key, _plain(item, (*path, str(key)), program_only=program_only))
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = _KnownList()
        items.path = path
        for i in range(len(value)):
            try:
                item = value[i]
            except UnknownValueError as unknown:
                item = unknown.unknown_type_sentinel
            list.append(items, _plain(item, (*path, str(i)), program_only=program_only))
        return items
    return value


DEFAULTS_KEY = "__defaults"


def _defaults_of(props: Mapping[str, Any]) -> list[str]:
    """The keys a provider's ``Check`` filled from its schema, and the marker itself."""
    if DEFAULTS_KEY not in props:
        return []
    try:
        listed = props[DEFAULTS_KEY]
    except UnknownValueError:
        listed = []
    names = [str(k) for k in listed] if isinstance(listed, Sequence) and not isinstance(listed, str) else []
    return [DEFAULTS_KEY, *names]


def _is_custom(resource_type: str, provider: object | None) -> bool:
    # The engine gives every custom resource its provider; components and the stack have none.
    return provider is not None or resource_type.startswith("pulumi:providers:")


def captured_from_resource_args(args: ResourceValidationArgs) -> CapturedResource:
    """A resource validation's resource (the inputs its program set) as the offline plan captures one."""
    props = _plain(args.props, program_only=True)
    return CapturedResource(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        inputs=props,
        outputs=props,
        parent=args.opts.parent if args.opts is not None else None,
        dependencies=(),
        custom=_is_custom(args.resource_type, args.provider),
    )


def _project_and_stack(urn: str) -> tuple[str, str]:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    head = urn.split("::")
    return (head[1], head[0].split(":")[-1]) if len(head) > 2 else ("", "")


def graph_from_stack_args(args: StackValidationArgs) -> Graph:
    """A stack validation's resources (their state) as the offline plan's graph: parents and
    dependencies by URN, components' outputs where ``Graph.outputs_of`` finds them."""
    captured: list[CapturedResource] = []
    component_outputs: dict[str, dict[str, Any]] = {}
    for r in args.resources:
        if r.resource_type == STACK_TYPE:
            continue  # the program's root: the offline plan's graph has no such node
        props = _plain(r.props)
        custom = _is_custom(r.resource_type, r.provider)
        captured.append(
            CapturedResource(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                inputs=props,
                outputs=props,
                parent=r.parent.urn if r.parent is not None else None,
                dependencies=tuple(d.urn for d in r.dependencies),
                custom=custom,
            )
        )
        if not custom:
            component_outputs[r.urn] = props
    project, stack = _project_and_stack(captured[0].urn) if captured else ("", "")
    return Graph(captured, component_outputs=component_outputs, stack=stack, project=project)


# --- the policies ---------------------------------------------------------------------------------
def violation_message(finding: Finding) -> str:
    """What the pack reports: the resource's kind and name, then the rule's own message (value,
    limit and fix), as the offline plan prints it after the rule id."""
    text = f"{finding.type.split(':')[-1]} {finding.name}: {finding.message}"
    return f"[waived: {finding.waived}] {text}" if finding.waived else text


def _findings(r: Rule, resources: Iterable[CapturedResource], graph: Graph, waived: str | None) -> Iterator[Finding]:
    # The same type filter and Finding as rules.check, for one rule.
    for resource in resources:
        if r.types and resource.type not in r.types:
            continue
        for message in r.fn(resource, graph):
            yield Finding(r.id, r.severity, resource.urn, resource.type, resource.name, message, waived)


def _waiver(args: ResourceValidationArgs | StackValidationArgs, waived: str | None) -> str | None:
    # Pulumi's policy config (``{"rule-id": {"enforcementLevel": "advisory", "waiver": "why"}}``)
    # waives as the pack's settings do; its reason wins, being the one closest to the stack.
    reason = (args.get_config() or {}).get(WAIVER_PROPERTY)
    return str(reason).strip() if isinstance(reason, str) and reason.strip() else waived


def _resource_validation(r: Rule, waived: str | None) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if r.types and args.resource_type not in r.types:
            return
        resource = captured_from_resource_args(args)
        for finding in _findings(r, [resource], Graph([resource]), _waiver(args, waived)):
            report_violation(violation_message(finding), None)

    return validate


def _stack_validation(r: Rule, waived: str | None) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        graph = graph_from_stack_args(args)
        reason = _waiver(args, waived)
        unknown: UnknownValueError | None = None
        for resource in graph:
            try:
                found = list(_findings(r, [resource], graph, reason))
            except UnknownValueError as error:
                # A preview: judge every resource that is known, then let the SDK say which
                # value kept this rule from judging the rest (it reports that as advisory).
                unknown = unknown or error
                continue
            for finding in found:
                report_violation(violation_message(finding), finding.urn)
        if unknown is not None:
            raise unknown

    return validate


def policy_for(r: Rule, settings: PackSettings | None = None) -> Policy:
    """The policy for one rule: same name, description and function, its enforcement level, and
    a ``waiver`` property in its Pulumi policy config."""
    settings = settings or PackSettings()
    level = EnforcementLevel(settings.level_of(r))
    waived = settings.waivers.get(r.id)
    common: dict[str, Any] = {
        "name": r.id,
        "description": r.description,
        "enforcement_level": level,
        "severity": _SEVERITIES[r.severity],
        "tags": ["resilience", "aws"],
        "config_schema": PolicyConfigSchema(
            properties={
                WAIVER_PROPERTY: {
                    "type": "string",
                    "minLength": 1,
                    "description": "Why this rule is waived; set enforcementLevel to advisory beside it",
                }
            }
        ),
    }
    if uses_graph(r):
        return StackValidationPolicy(validate=_stack_validation(r, waived), **common)
    return ResourceValidationPolicy(validate=_resource_validation(r, waived), **common)


def policies(settings: PackSettings | None = None) -> list[Policy]:
    """One policy per registered rule, in rule id order."""
    return [policy_for(RULES[rule_id], settings) for rule_id in sorted(RULES)]
