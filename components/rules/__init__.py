"""Resilience rules: one function per rule, run by the offline plan over a captured graph.

A rule is ``fn(resource, graph) -> iterable of messages`` registered with ``@rule``. It sees one
resource of the types it names and may look at the rest of the graph (a function's log group, a
queue's consumers). The same functions back the Pulumi policy pack (``components.policy``): a
stack validation policy turns its resources into ``CapturedResource`` values and calls ``check``.

A program can waive a rule with a stated reason (``waive``); the offline run keeps the waivers in
the program's graph (``Graph.waivers``) and ``check(graph, waived)`` marks those findings: they
stay visible in the plan, apart from the others, and do not fail it.

Layout: ``registry`` (``Rule``, ``Finding``, ``@rule``, ``check``, waivers), ``common`` (type
tokens, AWS defaults, policy-document helpers), then one module per family, listed in
``FAMILIES``. The catalogue is ``RULES``: every family's rules, in the order of ``FAMILIES`` then
of each module, which is the order ``check`` reports a resource's findings in.

Adding a family: write ``components/rules/<family>.py`` importing ``rule`` from ``.registry`` and
what it shares from ``.common`` (type tokens and helpers used by more than one family; a family
imports another family only when that one comes earlier in ``FAMILIES``, so importing it never
registers rules out of order), and add its name to ``FAMILIES``. A module written outside the
package (``components/rules_<x>.py``, importing from ``.rules``) folds in the same way: move it to
``components/rules/<x>.py``, change ``from .rules import`` to ``from .registry import`` /
``from .common import`` (and ``from .<mod>`` to ``from ..<mod>``), and add ``"<x>"`` to
``FAMILIES``.
"""

from __future__ import annotations

import importlib

from .common import (
    ACCOUNT,
    ALARM,
    ASYNC_JOB_WORKFLOW,
    CANARY,
    COMPOSITE_ALARM,
    EVENT_TARGET,
    FUNCTION,
    FUNCTION_URL,
    HTTP_INTEGRATION,
    HTTP_ROUTE,
    HTTP_STAGE,
    INSIGHT_RULE,
    INVOKE_CONFIG,
    LAMBDA_DEFAULT_TIMEOUT_S,
    LOG_GROUP,
    MAPPING,
    METHOD_SETTINGS,
    NO_RESOURCE_LEVEL,
    PERMISSION,
    POLICY_TYPES,
    PROVISIONED,
    QUEUE,
    REQUIRED_TAGS,
    REST_INTEGRATION,
    REST_METHOD,
    REST_STAGE,
    ROLE,
    SQS_DEFAULT_RETENTION_S,
    SQS_DEFAULT_VISIBILITY_S,
    STATE_MACHINE,
    TABLE,
    THROTTLED_API,
    WAF_ASSOCIATION,
    WS_API,
    WS_ROUTE,
)
from .registry import RULES, Finding, Rule, RuleFn, Severity, check, rule, waive, waivers

# The rule families, in catalogue order: each module registers its rules when imported.
FAMILIES = (
    "functions",
    "iam",
    "queues",
    "operations",
    "apigateway",
    "websocket",
    "state_machines",
    "events",
)
for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")

# Functions other modules and tests call directly.
from .functions import mapping_concurrency_bound  # noqa: E402
from .iam import iam_no_wildcards  # noqa: E402
from .queues import is_dead_letter_target  # noqa: E402

__all__ = [
    "ACCOUNT",
    "ALARM",
    "ASYNC_JOB_WORKFLOW",
    "CANARY",
    "COMPOSITE_ALARM",
    "EVENT_TARGET",
    "FAMILIES",
    "FUNCTION",
    "FUNCTION_URL",
    "HTTP_INTEGRATION",
    "HTTP_ROUTE",
    "HTTP_STAGE",
    "INSIGHT_RULE",
    "INVOKE_CONFIG",
    "LAMBDA_DEFAULT_TIMEOUT_S",
    "LOG_GROUP",
    "MAPPING",
    "METHOD_SETTINGS",
    "NO_RESOURCE_LEVEL",
    "PERMISSION",
    "POLICY_TYPES",
    "PROVISIONED",
    "QUEUE",
    "REQUIRED_TAGS",
    "REST_INTEGRATION",
    "REST_METHOD",
    "REST_STAGE",
    "ROLE",
    "RULES",
    "SQS_DEFAULT_RETENTION_S",
    "SQS_DEFAULT_VISIBILITY_S",
    "STATE_MACHINE",
    "TABLE",
    "THROTTLED_API",
    "WAF_ASSOCIATION",
    "WS_API",
    "WS_ROUTE",
    "Finding",
    "Rule",
    "RuleFn",
    "Severity",
    "check",
    "iam_no_wildcards",
    "is_dead_letter_target",
    "mapping_concurrency_bound",
    "rule",
    "waive",
    "waivers",
]
