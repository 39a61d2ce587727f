"""The offline plan: what a stack would create, the settings that matter for resilience, its
exports and the findings of the rules. ``build_plan`` makes a stable JSON document;
``render_plan`` prints it as a tree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..rules import Finding
from .notes import note_label, plan_notes

if TYPE_CHECKING:
    from rich.console import Console

    from ..offline import CapturedResource, Graph

__all__ = ["PLAN_SCHEMA", "SETTINGS", "build_plan", "exit_code", "group_findings", "render_plan"]

PLAN_SCHEMA = "resilient-serverless/plan@1"
Extractor = Callable[[dict[str, Any]], dict[str, Any]]


def _get(d: Any, *path: str) -> Any:
    """``d[path[0]][path[1]]...``, or None where a step is missing (list steps are indexes)."""
    for key in path:
        if isinstance(d, list) and key.isdigit() and int(key) < len(d):
            d = d[int(key)]
        elif isinstance(d, dict):
            d = d.get(key)
        else:
            return None
    return d


def _function(i: dict[str, Any]) -> dict[str, Any]:
    reserved = i.get("reservedConcurrentExecutions", -1)
    return {
        "timeout_s": i.get("timeout"),
        "memory_mb": i.get("memorySize"),
        "reserved_concurrency": "unreserved" if reserved == -1 else reserved,
        "runtime": i.get("runtime"),
        "architecture": (i.get("architectures") or [None])[0],
        "tracing": _get(i, "tracingConfig", "mode"),
        "log_format": _get(i, "loggingConfig", "logFormat"),
        "snap_start": _get(i, "snapStart", "applyOn"),
        "tenant_isolation": _get(i, "tenancyConfig", "tenantIsolationMode"),
    }


def _queue(i: dict[str, Any]) -> dict[str, Any]:
    redrive = i.get("redrivePolicy")
    redrive = json.loads(redrive) if isinstance(redrive, str) else redrive or {}
    return {
        "fifo": bool(i.get("fifoQueue")),
        "visibility_timeout_s": i.get("visibilityTimeoutSeconds"),
        "retention_s": i.get("messageRetentionSeconds"),
        "max_receive_count": redrive.get("maxReceiveCount"),
        "encrypted": bool(i.get("sqsManagedSseEnabled") or i.get("kmsMasterKeyId")),
    }


def _alarm(i: dict[str, Any]) -> dict[str, Any]:
    stat = i.get("statistic") or i.get("extendedStatistic")
    queries = i.get("metricQueries") or []
    # A metric math alarm has no namespace or metric name: it alarms on the expression it returns.
    returned = next((q for q in queries if q.get("returnData")), None)
    count = sum(1 for q in queries if q.get("metric"))
    metric = (
        f"math {returned.get('expression') or returned.get('id')} of {count} metric{'' if count == 1 else 's'}"
        if returned
        else f"{i.get('namespace')}/{i.get('metricName')}"
    )
    return {
        "metric": metric,
        "stat": stat,
        "threshold": i.get("threshold"),
        "actions": len(i.get("alarmActions") or []),
    }


def _policy(i: dict[str, Any]) -> dict[str, Any]:
    doc = i.get("policy")
    doc = json.loads(doc) if isinstance(doc, str) else doc or {}
    statements = doc.get("Statement", [])
    actions = sorted(
        {a for s in statements for a in (s.get("Action") if isinstance(s.get("Action"), list) else [s.get("Action")])}
    )
    return {"actions": ", ".join(actions)}


SETTINGS: dict[str, Extractor] = {
    "aws:lambda/function:Function": _function,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": lambda i: {
        "max_retries": i.get("maximumRetryAttempts"),
        "max_event_age_s": i.get("maximumEventAgeInSeconds"),
        "on_failure": str(_get(i, "destinationConfig", "onFailure", "destination") or "").split(":")[-1] or None,
    },
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": lambda i: {
        "provisioned": i.get("provisionedConcurrentExecutions"),
        "qualifier": i.get("qualifier"),
    },
    "aws:lambda/alias:Alias": lambda i: {"alias": i.get("name")},
    "aws:lambda/permission:Permission": lambda i: {"principal": i.get("principal"), "source_arn": i.get("sourceArn")},
    "aws:lambda/eventSourceMapping:EventSourceMapping": lambda i: {
        "batch_size": i.get("batchSize"),
        "batching_window_s": i.get("maximumBatchingWindowInSeconds"),
        "max_concurrency": _get(i, "scalingConfig", "maximumConcurrency"),
        "partial_batch": "ReportBatchItemFailures" in (i.get("functionResponseTypes") or []),
    },
    "aws:sqs/queue:Queue": _queue,
    "aws:cloudwatch/logGroup:LogGroup": lambda i: {"retention_days": i.get("retentionInDays")},
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:iam/rolePolicy:RolePolicy": _policy,
    "aws:apigateway/stage:Stage": lambda i: {
        "stage": i.get("stageName"),
        "xray": i.get("xrayTracingEnabled"),
        "access_logs": bool(_get(i, "accessLogSettings", "destinationArn")),
    },
    "aws:apigateway/methodSettings:MethodSettings": lambda i: {
        "method_path": i.get("methodPath"),
        "rate": _get(i, "settings", "throttlingRateLimit"),
        "burst": _get(i, "settings", "throttlingBurstLimit"),
        "logging": _get(i, "settings", "loggingLevel"),
    },
    "aws:apigateway/integration:Integration": lambda i: {
        "type": i.get("type"),
        "timeout_ms": i.get("timeoutMilliseconds"),
    },
    "aws:apigatewayv2/stage:Stage": lambda i: {
        "stage": i.get("name"),
        "rate": _get(i, "defaultRouteSettings", "throttlingRateLimit"),
        "burst": _get(i, "defaultRouteSettings", "throttlingBurstLimit"),
        "routes_throttled": len(i.get("routeSettings") or []),
        "access_logs": bool(_get(i, "accessLogSettings", "destinationArn")),
    },
    "aws:apigatewayv2/integration:Integration": lambda i: {
        "type": i.get("integrationSubtype") or i.get("integrationType"),
        "timeout_ms": i.get("timeoutMilliseconds"),
    },
    "aws:wafv2/webAcl:WebAcl": lambda i: {
        "rate_limit_per_ip": _get(i, "rules", "0", "statement", "rateBasedStatement", "limit")
    },
    "aws:apigateway/usagePlan:UsagePlan": lambda i: {
        "rate": _get(i, "throttleSettings", "rateLimit"),
        "burst": _get(i, "throttleSettings", "burstLimit"),
        "quota": _get(i, "quotaSettings", "limit"),
        "period": _get(i, "quotaSettings", "period"),
    },
    "aws:dynamodb/table:Table": lambda i: {
        "billing": i.get("billingMode"),
        "pitr": _get(i, "pointInTimeRecovery", "enabled"),
        "ttl_attribute": _get(i, "ttl", "attributeName"),
    },
}


def _physical(r: CapturedResource) -> str | None:
    for key in ("name", "bucket", "dashboardName"):
        value = r.outputs.get(key)
        if isinstance(value, str) and value != r.name:
            return value
    return None


def _component_settings(outputs: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "flavor",
        "url",
        "stage_throttle",
        "timeout",
        "defer_after_s",
        "ttl_s",
        "visibility_timeout_s",
        "blast_radius",
        "connect_quota",
        "push",
        "delivery",
        "workflow_type",
        "start_path",
        "dedup_table",
    )
    return {k: outputs[k] for k in keys if outputs.get(k) is not None}


def _settings_of(r: CapturedResource, graph: Graph) -> dict[str, Any]:
    if not r.custom:
        return _component_settings(graph.outputs_of(r))
    extractor = SETTINGS.get(r.type)
    return extractor(r.inputs) if extractor else {}


def _node(r: CapturedResource, graph: Graph) -> dict[str, Any]:
    settings = {k: v for k, v in _settings_of(r, graph).items() if v is not None}
    node: dict[str, Any] = {"type": r.type, "name": r.name, "physical_name": _physical(r), "settings": settings}
    routes = graph.outputs_of(r).get("routes") if not r.custom else None
    if routes:
        node["routes"] = routes
    states = graph.outputs_of(r).get("workflow_states") if not r.custom else None
    if states:
        node["states"] = states
    objectives = graph.outputs_of(r).get("objectives") if not r.custom else None
    if objectives:
        node["objectives"] = objectives
    notes = plan_notes(node)
    if notes:
        node["notes"] = notes
    children = graph.children_of(r)
    if children:
        node["children"] = [_node(c, graph) for c in children]
    return node


def build_plan(graph: Graph, findings: list[Finding]) -> dict[str, Any]:
    """The plan as a JSON-serialisable document (schema ``resilient-serverless/plan@1``)."""
    live = [f for f in findings if not f.waived]
    return {
        "schema": PLAN_SCHEMA,
        "project": graph.project,
        "stack": graph.stack,
        "summary": {
            "resources": sum(1 for r in graph if r.custom),
            "components": sum(1 for r in graph if not r.custom),
            "errors": sum(1 for f in live if f.severity == "error"),
            "warnings": sum(1 for f in live if f.severity == "warning"),
            "waived": len(findings) - len(live),
        },
        "tree": [_node(r, graph) for r in graph.roots()],
        "exports": graph.exports,
        "findings": [f.to_dict() for f in findings],
    }


def exit_code(plan: dict[str, Any]) -> int:
    """0 when clean (warnings allowed), 1 when a rule of severity error fires."""
    return 1 if plan["summary"]["errors"] else 0


def _label(node: dict[str, Any]) -> str:
    from rich.markup import escape  # noqa: PLC0415

    kind = node["type"].split(":")[-1]
    is_component = node["type"].startswith("resilient-serverless:")
    title = (
        f"[bold cyan]{kind}[/] [bold]{escape(node['name'])}[/]"
        if is_component
        else f"{kind} [bold]{escape(node['name'])}[/]"
    )
    if node.get("physical_name"):
        title += f" [dim]{escape(node['physical_name'])}[/]"
    if node["settings"]:
        title += "  " + " ".join(f"[green]{k}[/]={escape(str(v))}" for k, v in node["settings"].items())
    return title


def _route_label(route: dict[str, Any]) -> str:
    from rich.markup import escape  # noqa: PLC0415

    text = f"[bold magenta]route[/] {escape(route['route'])} -> {escape(route['target'])}"
    text += f"  throttle={route['rate']}/{route['burst']}"
    if "function_timeout_s" in route:
        text += f" timeout chain={route['function_timeout_s']} s < {route['integration_timeout_ms']} ms"
        needed, limit = route["concurrency_needed"], route["concurrency_limit"]
        colour = "red" if limit is not None and needed > limit else "green"
        text += (
            f" capacity=[{colour}]{needed} needed[/] ({route['rate']} rps x {route['expected_latency_ms']} ms)"
            f" / {limit if limit is not None else 'unreserved'} reserved"
        )
    else:
        text += f" timeout={route['integration_timeout_ms']} ms"
    if "auth" in route:
        text += f" auth={escape(route['auth'])}"
    if "envelope" in route:
        text += f" envelope=({escape(route['envelope'])})"
    if "group_id_source" in route:
        text += f" group_id={escape(route['group_id_source'])} dedup_id={escape(route['dedup_id_source'])}"
    return text


def _state_label(state: dict[str, Any]) -> str:
    from rich.markup import escape  # noqa: PLC0415

    text = f"[bold blue]state[/] {escape(state['state'])} ({escape(str(state['resource']))})"
    # Pulumi drops None values from component outputs: an absent key is an unset field.
    text += f"  timeout={state.get('timeout_s')} s"
    if state.get("heartbeat_s"):
        text += f" heartbeat={state['heartbeat_s']} s"
    text += f" retries={state.get('retries', 0)}"
    if state.get("max_delay_s"):
        text += f" (max delay {state['max_delay_s']} s)"
    text += f" catch->{','.join(state.get('catch') or []) or 'none'}"
    return text


def render_plan(plan: dict[str, Any], console: Console) -> None:
    from rich.table import Table  # noqa: PLC0415
    from rich.tree import Tree  # noqa: PLC0415

    s = plan["summary"]
    tree = Tree(
        f"[bold]{plan['project']}[/] stack [bold]{plan['stack']}[/]: "
        f"{s['components']} components, {s['resources']} resources"
    )

    def add(parent: Tree, node: dict[str, Any]) -> None:
        branch = parent.add(_label(node))
        for route in node.get("routes", []):
            branch.add(_route_label(route))
        for state in node.get("states", []):
            branch.add(_state_label(state))
        for note in node.get("notes", []):
            branch.add(note_label(note))
        for child in node.get("children", []):
            add(branch, child)

    for node in plan["tree"]:
        add(tree, node)
    console.print(tree)

    exports = Table(title="exports", show_header=True, header_style="bold")
    exports.add_column("name")
    exports.add_column("value", overflow="fold")
    for key, value in plan["exports"].items():
        exports.add_row(key, json.dumps(value) if not isinstance(value, str) else value)
    console.print(exports)

    findings = plan["findings"]
    if not findings:
        console.print("[bold green]findings: none[/]")
    for group in group_findings(findings):
        console.print(_group_lines(group))
    console.print(f"errors {s['errors']}, warnings {s['warnings']}, waived {s['waived']}")


def group_findings(findings: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The findings of one rule with one severity and one waiver reason together, in the order
    each group first appears (a waiver in a stack file applies to every resource of its rule)."""
    groups: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault((f["rule"], f["severity"], f["waived"]), []).append(f)
    return list(groups.values())


def _group_lines(group: list[dict[str, Any]]) -> str:
    """One finding on one line; several: the rule once (with their message when they share it),
    then one resource a line."""
    from rich.markup import escape  # noqa: PLC0415

    first = group[0]
    colour = "red" if first["severity"] == "error" else "yellow"
    tag = f"[dim]waived: {escape(first['waived'])}[/]" if first["waived"] else f"[{colour}]{first['severity']}[/]"

    def resource(f: dict[str, Any]) -> str:
        return f"{f['type'].split(':')[-1]} {escape(f['name'])}"

    if len(group) == 1:
        return f"{tag} [bold]{first['rule']}[/] {resource(first)}: {escape(first['message'])}"
    messages = {f["message"] for f in group}
    shared = f": {escape(first['message'])}" if len(messages) == 1 else ""
    lines = [f"{tag} [bold]{first['rule']}[/] on {len(group)} resources{shared}"]
    lines += [f"  {resource(f)}" + ("" if shared else f": {escape(f['message'])}") for f in group]
    return "\n".join(lines)


SETTINGS["aws:sfn/stateMachine:StateMachine"] = lambda i: {
    "type": i.get("type"),
    "timeout_s": (json.loads(i["definition"]) if isinstance(i.get("definition"), str) else {}).get("TimeoutSeconds"),
}
