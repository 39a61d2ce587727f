"""``resilient-serverless``: the offline plan of a stack, and the list of rules.

    resilient-serverless plan --stack dev [--json] [--project-dir DIR]
    resilient-serverless rules

Exit codes of ``plan``: 0 clean, 1 when a rule of severity error fires, 2 for bad configuration
or an unknown stack (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _plan(args: argparse.Namespace) -> int:
    from . import rules  # noqa: PLC0415 (keep --help fast)
    from .plan import build_plan, exit_code, render_plan  # noqa: PLC0415
    from .testing.capture import UnknownStackError, run_stack  # noqa: PLC0415
    from .validation import ConfigError  # noqa: PLC0415

    try:
        graph = run_stack(args.stack, args.project_dir)
    except (ConfigError, UnknownStackError, FileNotFoundError) as error:
        print(f"resilient-serverless: {error}", file=sys.stderr)
        return 2
    plan = build_plan(graph, rules.check(graph))
    if args.json:
        json.dump(plan, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
    else:
        from rich.console import Console  # noqa: PLC0415

        render_plan(plan, Console(width=args.width) if args.width else Console())
    return exit_code(plan)


def _rules(_: argparse.Namespace) -> int:
    from .rules import RULES  # noqa: PLC0415

    for r in sorted(RULES.values(), key=lambda r: r.id):
        print(f"{r.id:34} {r.severity:8} {r.description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="resilient-serverless", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="run a stack offline under mocks and print its plan")
    plan.add_argument("--stack", required=True, help="stack name: environments/Pulumi.<stack>.yaml")
    plan.add_argument("--json", action="store_true", help="print the plan as a JSON document")
    plan.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    plan.add_argument("--width", type=int, default=None, help="terminal width for the tree")
    plan.set_defaults(run=_plan)
    sub.add_parser("rules", help="list the resilience rules").set_defaults(run=_rules)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
