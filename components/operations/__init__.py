"""Operations per stack: a dashboard built from the components in it, saved Logs Insights
queries, Contributor Insights rules, a Synthetics canary and composite alarms (``Operations``).
The plan's capacity and cost tables, which create nothing, are ``components.plan``.

A new component type shows up on dashboards with one builder::

    @contributes(MyComponent)
    def _mine(component: MyComponent, ctx: Context) -> Contribution: ...
"""

from __future__ import annotations

from .widgets import SECTIONS, Context, Contribution, builder_for, contributes

__all__ = ["SECTIONS", "Context", "Contribution", "Operations", "OperationsArgs", "builder_for", "contributes"]


def __getattr__(name: str) -> object:
    # The component pulls in pulumi_aws; the plan's tables and the registry do not need it.
    if name in ("Operations", "OperationsArgs"):
        from . import component  # noqa: PLC0415

        return getattr(component, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
