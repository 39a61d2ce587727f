"""resilient-serverless: the offline plan of a stack, the resilience rules and the stack settings.

    resilient-serverless plan --stack dev [--json] [--project-dir DIR] [--width N]
    resilient-serverless plan --compare staging prod [--json]
    resilient-serverless rules [--json]
    resilient-serverless keys [--project-dir DIR]
    resilient-serverless simulate --stack prod --load spike:10x:60s [--baseline naive] [--json] [--plot FILE]
    resilient-serverless dlq list|show|redrive (--stack NAME | --state FILE) ...
    resilient-serverless jobs redrive (--stack NAME | --state FILE) [--since 1h] [--dry-run]
    resilient-serverless run --stack dev [--caller ARN] [--project-dir DIR]

Exit codes of plan: 0 clean, 1 when a rule of severity error fires, 2 for bad configuration
or an unknown stack (one line on stderr). dlq and jobs: 0 done, 1 when AWS refused or a
move did not complete, 2 for bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PIPED_PROBE_WIDTH", "main"]

# Piped output is first drawn this wide, then at the width of its widest line: no table or tree
# line wraps, and no line is padded past its content.
PIPED_PROBE_WIDTH = 10_000
# The policy pack's default level of each severity (components/policy.py DEFAULT_LEVELS, which
# imports pulumi-policy, an extra); a test keeps the two equal.
PACK_LEVELS = {"error": "mandatory", "warning": "advisory"}
STACKS_HELP = (
    "stack name: its settings are Pulumi.<stack>.yaml in the project's stackConfigDir "
    "(Pulumi.yaml; environments/ in this repository), which is what the plan reads"
)
STACKS_EPILOG = "Stacks are the Pulumi.<stack>.yaml files of the project's stackConfigDir (see Pulumi.yaml)."
EPILOG = f"{STACKS_EPILOG} Run '%(prog)s <command> --help' for the options of a command."


def _draw(width: int | None, draw: Callable[[Console], None]) -> None:
    """Print through rich at ``width``; on a terminal at its width; piped, as wide as the widest
    line (a file or a pipe has no width, and rich's default of 80 folds tables mid-word)."""
    from rich.cells import cell_len  # noqa: PLC0415
    from rich.console import Console  # noqa: PLC0415

    if width is None and not sys.stdout.isatty():
        drawn = io.StringIO()
        draw(Console(file=drawn, width=PIPED_PROBE_WIDTH, color_system=None))
        width = max((cell_len(line.rstrip()) for line in drawn.getvalue().splitlines()), default=1) or 1
    draw(Console(width=width) if width else Console())


def _operations(args: argparse.Namespace, stack: str, graph: Any) -> dict[str, Any]:
    """The capacity and cost tables of one stack (``components/plan``)."""
    from .offline import load_project  # noqa: PLC0415
    from .plan.capacity import Assumptions  # noqa: PLC0415
    from .plan.cost import CostAssumptions  # noqa: PLC0415
    from .plan.report import operations_report  # noqa: PLC0415

    region = str(load_project(args.project_dir).stack_config(stack)[0].get("aws:region", "us-east-1"))
    assumptions = Assumptions(burst_rps=args.burst_rps, backlog_messages=args.backlog, message_ms=args.message_ms)
    return operations_report(graph, region, assumptions, CostAssumptions(table_gb=args.table_gb))


def _compare(args: argparse.Namespace) -> int:
    from .offline import UnknownStackError, run_stack  # noqa: PLC0415
    from .plan.report import comparison, render_comparison  # noqa: PLC0415
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
        _draw(args.width, lambda console: render_comparison(doc, console))
    return 0


def _plan(args: argparse.Namespace) -> int:
    from . import rules  # noqa: PLC0415 (keep --help fast)
    from .offline import run_stack  # noqa: PLC0415
    from .plan import build_plan, exit_code, render_plan  # noqa: PLC0415

    if args.compare:
        return _compare(args)
    try:
        graph = run_stack(args.stack, args.project_dir)
    except Exception as error:  # a refused setting, or the user's program raised: never a traceback
        return _refused(error, args.project_dir)
    plan = build_plan(graph, rules.check(graph, graph.waivers))
    plan["operations"] = _operations(args, args.stack, graph)
    if args.json:
        json.dump(plan, sys.stdout, indent=2, sort_keys=True, default=str)
        sys.stdout.write("\n")
    else:
        from .plan.report import render_operations  # noqa: PLC0415

        def draw(console: Console) -> None:
            render_plan(plan, console)
            render_operations(plan["operations"], console)

        _draw(args.width, draw)
    return exit_code(plan)


def _run(args: argparse.Namespace) -> int:

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
    except Exception as error:  # a refused setting, or the user's program raised: never a traceback
        return _refused(error, args.project_dir)


def _refused(error: Exception, project_dir: str) -> int:
    """Exit 2 with one line: what the tool refused (a setting, a stack, a file), as it names it, or
    where the user's program raised."""
    from .offline import UnknownStackError  # noqa: PLC0415
    from .validation import ConfigError  # noqa: PLC0415

    known = isinstance(error, ConfigError | UnknownStackError | FileNotFoundError)
    print(f"resilient-serverless: {error if known else program_error(error, project_dir)}", file=sys.stderr)
    return 2


def program_error(error: BaseException, project_dir: str) -> str:
    """One line for an exception the program raised: its type and message, and the deepest line
    of the project's own files it passed through (where the user looks first)."""
    import traceback  # noqa: PLC0415

    project = str(Path(project_dir).resolve())
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(project)]
    where = f" at {Path(frames[-1].filename).relative_to(project)}:{frames[-1].lineno}" if frames else ""
    message = " ".join(str(error).split()) or "(no message)"
    return f"the program raised {type(error).__name__}{where}: {message}"


def rule_catalogue() -> list[dict[str, str]]:
    """Every rule, by id: its severity, its default level in the policy pack, its description."""
    from .rules import RULES  # noqa: PLC0415

    return [
        {"id": r.id, "severity": r.severity, "level": PACK_LEVELS[r.severity], "description": r.description}
        for r in sorted(RULES.values(), key=lambda r: r.id)
    ]


def _rules(args: argparse.Namespace) -> int:
    catalogue = rule_catalogue()
    if args.json:
        json.dump(catalogue, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    width = max(len(r["id"]) for r in catalogue)
    for r in catalogue:
        print(f"{r['id']:{width}}  {r['severity']:7}  {r['level']:9}  {r['description']}")
    return 0


def _keys(args: argparse.Namespace) -> int:
    """The settings a stack of the project may set: the config block of its Pulumi.yaml."""
    from .offline import load_project, read_config_file  # noqa: PLC0415
    from .validation import ConfigError  # noqa: PLC0415

    try:
        project = load_project(args.project_dir)
        config = read_config_file(project.directory / "Pulumi.yaml").get("config") or {}
    except (ConfigError, FileNotFoundError) as error:
        print(f"resilient-serverless: {error}", file=sys.stderr)
        return 2
    rows = []
    for key, declared in sorted(config.items(), key=lambda item: str(item[0]).lower()):
        spec = declared if isinstance(declared, dict) else {"default": declared}
        default = json.dumps(spec["default"]) if "default" in spec else "(required)"
        rows.append((str(key), str(spec.get("type", "")), default, str(spec.get("description", ""))))
    if not rows:
        print(f"resilient-serverless: {project.directory / 'Pulumi.yaml'} declares no config keys", file=sys.stderr)
        return 2
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(f"settings of project {project.name} ({project.name}:<key> in a stack file):")
    for row in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
    return 0


def _simulate(args: argparse.Namespace) -> int:
    """The stack under a load shape (``components/simulate``); exit 2 for bad input."""
    from .offline import load_project, run_stack  # noqa: PLC0415
    from .simulate import Assumptions, parse_arrivals, parse_load, simulate  # noqa: PLC0415
    from .simulate.report import render  # noqa: PLC0415

    try:
        load = parse_arrivals(args.arrivals, args.duration) if args.arrivals else parse_load(args.load, args.duration)
        graph = run_stack(args.stack, args.project_dir)
        region = str(load_project(args.project_dir).stack_config(args.stack)[0].get("aws:region", "us-east-1"))
    except Exception as error:  # a refused setting, or the user's program raised: never a traceback
        return _refused(error, args.project_dir)
    assumptions = Assumptions(client_deadline_s=args.deadline, message_ms=args.message_ms)
    try:
        doc = simulate(graph, load, assumptions=assumptions, region=region, baseline=args.baseline)
        if args.plot:
            from .simulate.plot import plot  # noqa: PLC0415

            plot(doc, args.plot)
    except ModuleNotFoundError as error:  # simpy and matplotlib come with the extra
        print(
            f"resilient-serverless: simulate needs {error.name}: pip install 'resilient-serverless[simulate]'",
            file=sys.stderr,
        )
        return 2
    if args.json:
        json.dump(doc, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(render(doc, doc.get("naive")))
    return 0


def _add_simulate(sub: Any) -> None:
    sim = sub.add_parser("simulate", help="run a stack's model under a load shape: goodput, 429s, waste, backlog")
    sim.add_argument("--stack", required=True, help="stack name: environments/Pulumi.<stack>.yaml")
    sim.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    shape = sim.add_mutually_exclusive_group()
    shape.add_argument(
        "--load", default="spike:10x:60s", help="rate:2x | spike:10x:60s | ramp:1x:10x:300s | step:1x:5x:60s"
    )
    shape.add_argument("--arrivals", help="a recorded arrival file: 'seconds[,route key]' per line")
    sim.add_argument("--duration", type=_positive, default=None, help="seconds of load (default: the shape's)")
    sim.add_argument("--baseline", choices=["naive"], default=None, help="also run the stack without its defenses")
    sim.add_argument("--deadline", type=_positive, default=5.0, help="client deadline, seconds (default 5)")
    sim.add_argument("--message-ms", type=_positive, default=100.0, help="work per queued message (default 100 ms)")
    sim.add_argument("--json", action="store_true", help="print the numbers as a JSON document")
    sim.add_argument("--plot", help="write a PNG of goodput and backlog age to this file")
    sim.set_defaults(run=_simulate)


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


def _version() -> str:
    from . import __version__  # noqa: PLC0415

    return str(__version__)


# --- operating a deployed stack: dlq and jobs ----------------------------------------------------
def _aws_client(service: str, args: argparse.Namespace, inventory: Any) -> Any:
    """A client with the environment's credentials, in ``--region`` or the region of the stack's
    own ARNs (a DLQ's URL answers only in its region)."""
    import boto3  # noqa: PLC0415 (keep --help fast)

    arns = [d.arn for d in inventory.dlqs] + [m.arn for m in inventory.state_machines]
    region = args.region or next((a.split(":")[3] for a in arns if a.count(":") >= 5), None)
    session = boto3.session.Session(region_name=region)
    return session.client(service)  # type: ignore[call-overload]


def _jobs(args: argparse.Namespace) -> int:
    from .operate import OperateError, load_inventory  # noqa: PLC0415
    from .operate.jobs import parse_since, redrive_jobs  # noqa: PLC0415

    try:
        since = parse_since(args.since)
        inventory = load_inventory(args.stack, args.state)
        sfn = _aws_client("stepfunctions", args, inventory)
        return redrive_jobs(inventory, sfn, print, since_s=since, dry_run=args.dry_run)
    except OperateError as error:
        print(f"resilient-serverless: {error}", file=sys.stderr)
        return 2


def _dlq(args: argparse.Namespace) -> int:
    from .operate import OperateError, load_inventory  # noqa: PLC0415
    from .operate import dlq as ops  # noqa: PLC0415

    try:
        rate = ops.parse_rate(args.rate) if args.action == "redrive" else 0
        inventory = load_inventory(args.stack, args.state)
        sqs = _aws_client("sqs", args, inventory)
        if args.action == "list":
            return ops.list_dlqs(inventory, sqs, _aws_client("cloudwatch", args, inventory), print)
        if args.action == "show":
            return ops.show(inventory, sqs, args.queue, args.limit, print)
        if args.status or args.cancel:
            return (ops.status if args.status else ops.cancel)(inventory, sqs, args.queue, print)
        return ops.redrive(inventory, sqs, args.queue, print, to=args.to, rate=rate, dry_run=args.dry_run)
    except OperateError as error:
        print(f"resilient-serverless: {error}", file=sys.stderr)
        return 2


def _add_operate_parsers(sub: Any) -> None:
    from . import defaults  # noqa: PLC0415

    def where(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stack", help="stack name (read with 'pulumi stack export' when --state is not given)")
        p.add_argument("--state", help="the stack's state: a 'pulumi stack export' JSON file")
        p.add_argument("--region", help="AWS region (default: the region of the stack's ARNs)")

    dlq = sub.add_parser("dlq", help="a deployed stack's dead-letter queues: list, show, redrive")
    actions = dlq.add_subparsers(dest="action", required=True)
    where(actions.add_parser("list", help="every DLQ with depth, oldest age and component"))
    show = actions.add_parser("show", help="peek at messages and their reasons (nothing consumed)")
    show.add_argument("queue", help="DLQ name, URL or ARN")
    show.add_argument("--limit", type=_positive_int, default=defaults.DLQ_SHOW_LIMIT, help="messages to show")
    where(show)
    redrive = actions.add_parser("redrive", help="move messages back to their source queue at a bounded rate")
    redrive.add_argument("queue", help="DLQ name, URL or ARN")
    redrive.add_argument("--to", help="one source queue (default: each message back to where it came from)")
    redrive.add_argument("--rate", help=f"messages per second, 1 to 500 (default {defaults.DLQ_REDRIVE_RATE_PER_S})")
    redrive.add_argument("--dry-run", action="store_true", help="say what would move; move nothing")
    watch = redrive.add_mutually_exclusive_group()
    watch.add_argument("--status", action="store_true", help="list this DLQ's move tasks")
    watch.add_argument("--cancel", action="store_true", help="cancel the running move task")
    where(redrive)
    dlq.set_defaults(run=_dlq)
    jobs = sub.add_parser("jobs", help="a deployed stack's failed workflow executions")
    jobs_actions = jobs.add_subparsers(dest="action", required=True)
    jobs_redrive = jobs_actions.add_parser("redrive", help="redrive failed Standard executions (RedriveExecution)")
    jobs_redrive.add_argument("--since", help="stopped within this long: 90m, 1h, 2d, at most 14d (default 1h)")
    jobs_redrive.add_argument("--dry-run", action="store_true", help="list what would be redriven")
    where(jobs_redrive)
    jobs.set_defaults(run=_jobs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="resilient-serverless", description=__doc__.splitlines()[0], epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser(
        "plan",
        help="run a stack offline under mocks and print its plan",
        description="Run a stack's program offline under mocks and print its plan: the resources, the "
        "settings that matter for resilience, the exports and the findings of the rules (grouped by rule).",
        epilog=STACKS_EPILOG,
    )
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", help=STACKS_HELP)
    which.add_argument(
        "--compare", nargs=2, metavar=("A", "B"), help="the cost of resilience of two stacks side by side"
    )
    plan.add_argument("--json", action="store_true", help="print the plan as a JSON document")
    plan.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    plan.add_argument(
        "--width",
        type=_positive_int,
        default=None,
        help="columns of the text output (default: the terminal's width; piped or redirected, the width "
        "of the widest line, so tables never wrap)",
    )
    # The capacity table's stated load (components/plan/capacity.py, Assumptions).
    plan.add_argument("--burst-rps", type=_positive, default=1000.0, help="burst to absorb, requests/s (default 1000)")
    plan.add_argument("--backlog", type=_positive_int, default=100_000, help="backlog to drain (default 100000)")
    plan.add_argument("--message-ms", type=_positive, default=100.0, help="work per queued message (default 100 ms)")
    plan.add_argument("--table-gb", type=_positive, default=1.0, help="table size for PITR cost (default 1 GB)")
    plan.set_defaults(run=_plan)
    rules = sub.add_parser("rules", help="list the resilience rules")
    rules.add_argument(
        "--json", action="store_true", help="print them as JSON: id, severity, policy-pack level, description"
    )
    rules.set_defaults(run=_rules)
    keys = sub.add_parser("keys", help="list the settings a stack file may set (the config block of Pulumi.yaml)")
    keys.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    keys.set_defaults(run=_keys)
    _add_simulate(sub)
    _add_operate_parsers(sub)
    run = sub.add_parser(
        "run", help="serve a stack's HTTP and WebSocket APIs on 127.0.0.1 on the local engine (moto), until Ctrl-C"
    )
    run.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml in the project's stackConfigDir")
    run.add_argument("--project-dir", default=".", help="directory holding Pulumi.yaml (default: .)")
    run.add_argument(
        "--caller", default=None, help="IAM principal ARN that signs every request (IAM-authorized routes)"
    )
    run.set_defaults(run=_run)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
