"""The offline plan and its analyses of a captured graph.

- ``document``: what a stack would create, the settings that matter for resilience, its exports
  and the findings of the rules, as a JSON document and as a tree (``build_plan``, ``render_plan``);
- ``capacity``: per path, what the front door admits against the concurrency it needs;
- ``cost``: the fixed monthly cost of resilience, from the dated price table ``prices.toml``;
- ``report``: the capacity and cost tables of one stack, and two stacks compared.

They read a graph and create nothing; the ``Operations`` component (``components.operations``),
which creates dashboards and alarms, imports what it needs from here.
"""

from .document import PLAN_SCHEMA, SETTINGS, build_plan, exit_code, group_findings, render_plan

__all__ = ["PLAN_SCHEMA", "SETTINGS", "build_plan", "exit_code", "group_findings", "render_plan"]
