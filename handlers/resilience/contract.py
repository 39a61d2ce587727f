"""The runtime contract between the components and the handlers: for each handler module, every
environment variable it reads, with its type and whether it is required or has a default.

A component that deploys a handler takes the variable names from here, a handler reads its
configuration through ``read``, and a graph test checks every function of every stack against
it, so a name written by a component and read by a handler is one literal, in one file. A
required variable that is missing or empty is an error naming it, never a guessed fallback (a
table or bucket "named like ours" is someone else's).

Import-light on purpose (cold start): the standard library only, no boto3, no components.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CONTRACTS",
    "JOB_CONFIG",
    "PUSH_MESSAGE",
    "MissingVariable",
    "Var",
    "contract_for",
    "module_of",
    "read",
    "read_module",
    "required_names",
]

KINDS: Final = ("str", "int", "float", "bool", "json")


@dataclass(frozen=True)
class Var:
    """One environment variable: ``required`` ones have no default; an optional one without a
    default reads as None."""

    name: str
    kind: str = "str"
    required: bool = True
    default: str | None = None
    doc: str = ""

    def parse(self, raw: str) -> Any:
        if self.kind == "int":
            return int(raw)
        if self.kind == "float":
            return float(raw)
        if self.kind == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if self.kind == "json":
            return json.loads(raw)
        return raw


def _optional(name: str, kind: str = "str", default: str | None = None, doc: str = "") -> Var:
    return Var(name, kind, required=False, default=default, doc=doc)


class MissingVariable(LookupError):
    """A required variable is missing or empty: the deployment, not the request, is wrong."""

    def __init__(self, module: str, names: list[str]) -> None:
        self.module, self.names = module, names
        super().__init__(
            f"{module} needs the environment variable{'s' if len(names) > 1 else ''} {', '.join(names)} "
            "(set by the component that deploys it); it has no default"
        )


# The job API (submit, status, result, cancel, starter, webhooks, recorder) shares one
# configuration, set by AsyncJobWorkflow on each of its functions. The defaults equal the
# component's (components/defaults.py; a test pins each pair).
JOB_CONFIG: Final[tuple[Var, ...]] = (
    Var("JOBS_TABLE", doc="the job table"),
    Var("IDEMPOTENCY_TABLE", doc="the Idempotency-Key table (Powertools layout)"),
    Var("RESULTS_BUCKET", doc="the results bucket (results/<job_id>, inputs/<job_id>)"),
    Var("STATE_MACHINE_ARN", doc="the workflow's state machine"),
    _optional("JOBS_PATH", default="/jobs", doc="the routes' collection path"),
    _optional("RESULT_URL_TTL_S", "int", "900", "lifetime of a pre-signed result URL"),
    _optional("RESULT_RETENTION_S", "int", str(7 * 86_400), "how long results stay in S3"),
    _optional("JOB_TTL_S", "int", str(30 * 86_400), "how long a job record stays"),
    _optional("IDEMPOTENCY_TTL_S", "int", "3600", "how long an Idempotency-Key is remembered"),
    _optional("MAX_BODY_BYTES", "int", "1048576", "largest accepted submit body"),
    _optional("INLINE_INPUT_BYTES", "int", "200000", "inputs above this travel through S3"),
    _optional("EXECUTION_TIMEOUT_S", "int", "3600", "bound on one execution"),
    _optional("START_QUEUE_URL", doc="the start buffer; unset: submit starts executions itself"),
    _optional("INPUT_SCHEMA", "json", '{"type": "object"}', "JSON schema of a job's input"),
    _optional("PUSH_URL", doc="the push channel's wss:// URL; unset: clients poll"),
    _optional("PUSH_TOKEN_TTL_S", "int", "3900", "lifetime of a push subscribe token"),
)
# What a pushed message may carry (push/message.py), read by the socket function (a subscriber
# after the end is answered at once) and by notify alike.
PUSH_MESSAGE: Final = (
    _optional("PUSH_INLINE_MAX_BYTES", "int", str(32 * 1024), "results above this go by pre-signed URL"),
    _optional("PUSH_RESULT_URL_TTL_S", "int", "900", "lifetime of a pushed result URL"),
    _optional("PUSH_NOTIFY_CONCURRENCY", "int", "8", "posts in flight per invocation"),
)
_PUSH_TABLES: Final = (
    Var("CONNECTIONS_TABLE", doc="the WebSocket connection table"),
    Var("JOBS_TABLE", doc="the job table the channel is bound to ('(none)' when no workflow binds it)"),
)
_PUSH_DEPS: Final = (
    *_PUSH_TABLES,
    _optional("PUSH_CONNECT_AUTH", default="token", doc="how $connect authenticates"),
    *PUSH_MESSAGE,
)
_PRIORITY_CONSUMER: Final = (
    _optional("RESILIENT_QUEUE_ROLE", default="high", doc="high, low or surge"),
    _optional("RESILIENT_LOW_QUEUE_URL", doc="where the high consumer defers old messages"),
    _optional("RESILIENT_DLQ_URL", doc="where poison messages go at once"),
    _optional("RESILIENT_DEFER_AFTER_S", "float", doc="age after which a high message is deferred"),
    _optional("RESILIENT_TTL_S", "float", doc="age after which a message is dropped (counted)"),
    _optional("RESILIENT_FIFO", "bool", "false", "the queues are FIFO"),
    _optional("RESILIENT_DEDUP_TABLE", doc="dedup store for deferral and DLQ writes"),
)

CONTRACTS: Final[dict[str, tuple[Var, ...]]] = {
    "handlers.jobs.submit": JOB_CONFIG,
    "handlers.jobs.status": JOB_CONFIG,
    "handlers.jobs.result": JOB_CONFIG,
    "handlers.jobs.cancel": JOB_CONFIG,
    "handlers.jobs.starter": (*JOB_CONFIG, _optional("START_DLQ_URL", doc="where malformed starts go at once")),
    "handlers.jobs.webhooks": JOB_CONFIG,
    "handlers.jobs.recorder": (*JOB_CONFIG, _optional("WEBHOOK_QUEUE_URL", doc="where recorded ends are announced")),
    # The worker is the user's function, created before the workflow: everything it needs
    # (where to write, what to read) arrives in its payload, not in its environment.
    "handlers.jobs.worker": (),
    "handlers.push.routes": _PUSH_DEPS,
    "handlers.push.connect": _PUSH_DEPS,
    "handlers.push.subscribe": _PUSH_DEPS,
    "handlers.push.default": _PUSH_DEPS,
    "handlers.push.disconnect": _PUSH_DEPS,
    "handlers.push.notify": (
        *_PUSH_TABLES,
        Var("PUSH_ENDPOINT", doc="the management API endpoint (https://, stage included)"),
        *PUSH_MESSAGE,
    ),
    "handlers.resilience.priority": _PRIORITY_CONSUMER,
}


def module_of(handler: str) -> str:
    """``handlers.jobs.submit.lambda_handler`` -> ``handlers.jobs.submit`` (the installed package
    prefix ``resilient_serverless.`` removed)."""
    module = handler.rpartition(".")[0]
    return module.removeprefix("resilient_serverless.")


def contract_for(handler_or_module: str) -> tuple[Var, ...] | None:
    """The variables of a module, or of the module of a ``module.function`` handler; None when
    no contract is declared."""
    name = handler_or_module.removeprefix("resilient_serverless.")
    if name in CONTRACTS:
        return CONTRACTS[name]
    return CONTRACTS.get(module_of(handler_or_module))


def required_names(module: str) -> tuple[str, ...]:
    return tuple(v.name for v in CONTRACTS[module] if v.required)


def read_module(module: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``read`` of a module's whole contract, from ``os.environ`` unless ``env`` is given."""
    import os  # noqa: PLC0415 (already imported by the interpreter: costs nothing)

    return read(CONTRACTS[module], os.environ if env is None else env, module=module)


def read(variables: tuple[Var, ...], env: Mapping[str, str], *, module: str) -> dict[str, Any]:
    """Each variable's typed value (by name); one ``MissingVariable`` naming every required one
    that is missing or empty."""
    missing = [v.name for v in variables if v.required and not env.get(v.name)]
    if missing:
        raise MissingVariable(module, missing)
    values: dict[str, Any] = {}
    for var in variables:
        raw = env.get(var.name) or var.default
        values[var.name] = None if raw is None else var.parse(raw)
    return values
