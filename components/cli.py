"""``resilient-serverless``: the offline plan of a stack, and the list of rules.

    resilient-serverless plan --stack dev [--json] [--project-dir DIR]
    resilient-serverless plan --compare staging prod [--json]
    resilient-serverless rules
    resilient-serverless run --stack dev [--caller ARN] [--project-dir DIR]

Exit codes of ``plan``: 0 clean, 1 when a rule of severity error fires, 2 for bad configuration
or an unknown stack (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _operations(args: argparse.Namespace, stack: str, graph: Any) -> dict[str, Any]:
    """The capacity and cost tables of one stack (``components/operations``)."""
    from .operations.capacity import Assumptions  # noqa: PLC0415
    from .operations.cost import CostAssumptions  # noqa: PLC0415
    from .operations.report import operations_report  # noqa: PLC0415
    from .testing.capture import load_project  # noqa: PLC0415

    region = str(load_project(args.project_dir).stack_config(stack)[0].get("aws:region", "us-east-1"))
    assumptions = Assumptions(burst_rps=args.burst_rps, backlog_messages=args.backlog, message_ms=args.message_ms)
    return operations_report(graph, region, assumptions, CostAssumptions(table_gb=args.table_gb))


def _compare(args: argparse.Namespace) -> int:
    from .operations.report import comparison, render_comparison  # noqa: PLC0415
    from .testing.capture import UnknownStackError, run_stack  # noqa: PLC0415
    from .validation import ConfigError  # noqa: PLC0415

    reports = []
    for stack in args.compare:
        try:
            reports.append(_operations(args, stack, run_stack(stack, args.project_dir)))
        except (ConfigError, UnknownStackError, FileNotFoundError) as error:
            print(f"resilient-serverless: {error}", file=sys.stderr)
            return 2
    doc = comparison(args.compare[0], reports[0], args.compare[1], reports[1])
    if args.json:
        json.dump(doc, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        from rich.console import Console  # noqa: PLC0415

        render_comparison(doc, Console(width=args.width) if args.width else Console())
    return 0


def _plan(args: argparse.Namespace) -> int:
    from . import rules  # noqa: PLC0415 (keep --help fast)
    from .plan import build_plan, exit_code, render_plan  # noqa: PLC0415
    from .testing.capture import UnknownStackError, run_stack  # noqa: PLC0415
    from .validation import ConfigError  # noqa: PLC0415

    if args.compare:
        return _compare(args)
    try:
        graph = run_stack(args.stack, args.project_dir)
    except (ConfigError, UnknownStackError, FileNotFoundError) as error:
        print(f"resilient-serverless: {error}", file=sys.stderr)
        return 2
    plan = build_plan(graph, rules.check(graph))
    plan["operations"] = _operations(args, args.stack, graph)
    if args.json:
        json.dump(plan, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
    else:
        from rich.console import Console  # noqa: PLC0415

        from .operations.report import render_operations  # noqa: PLC0415

        console = Console(width=args.width) if args.width else Console()
        render_plan(plan, console)
        render_operations(plan["operations"], console)
    return exit_code(plan)


def _run(args: argparse.Namespace) -> int:
    from .testing.capture import UnknownStackError  # noqa: PLC0415
    from .validation import ConfigError  # noqa: PLC0415

    try:
        from .testing.local.serve import serve  # noqa: PLC0415
    except ImportError as error:
        print(
            f"resilient-serverless: run needs the local extra ({error}): pip install 'resilient-serverless[local]'",
            file=sys.stderr,
        )
        return 2
    try:
        return serve(args.stack, args.project_dir, caller=args.caller)
    except (ConfigError, UnknownStackError, FileNotFoundError) as error:
        print(f"resilient-serverless: {error}", file=sys.stderr)
        return 2


def _rules(_: argparse.Namespace) -> int:
    from .rules import RULES  # noqa: PLC0415

    for r in sorted(RULES.values(), key=lambda r: r.id):
        print(f"{r.id:34} {r.severity:8} {r.description}")
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above 0")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="resilient-serverless", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="run a stack offline under mocks and print its plan")
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", help="stack name: environments/Pulumi.<stack>.yaml")
    which.add_argument(
        "--compare", nargs=2, metavar=("A", "B"), help="the cost of resilience of two stacks side by side"
    )
    plan.add_argument("--json", action="store_true", help="print the plan as a JSON document")
    plan.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    plan.add_argument("--width", type=int, default=None, help="terminal width for the tree")
    # The capacity table's stated load (components/operations/capacity.py, Assumptions).
    plan.add_argument("--burst-rps", type=_positive, default=1000.0, help="burst to absorb, requests/s (default 1000)")
    plan.add_argument("--backlog", type=_positive_int, default=100_000, help="backlog to drain (default 100000)")
    plan.add_argument("--message-ms", type=_positive, default=100.0, help="work per queued message (default 100 ms)")
    plan.add_argument("--table-gb", type=_positive, default=1.0, help="table size for PITR cost (default 1 GB)")
    plan.set_defaults(run=_plan)
    sub.add_parser("rules", help="list the resilience rules").set_defaults(run=_rules)
    run = sub.add_parser("run", help="serve a stack's APIs on 127.0.0.1 on the local engine (moto), until Ctrl-C")
    run.add_argument("--stack", required=True, help="stack name: environments/Pulumi.<stack>.yaml")
    run.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    run.add_argument(
        "--caller", default=None, help="IAM principal ARN that signs every request (IAM-authorized routes)"
    )
    run.set_defaults(run=_run)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
