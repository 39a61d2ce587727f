"""The arguments of WebSocketNotifier, the routes it serves and the handlers behind them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import pulumi

from ..base import Transform
from ..resilient_function import ResilientFunction, ResilientFunctionArgs

# Shared with ThrottledApi (the same checks and log fields for every flavour of the front door).
from ..throttled_api import ThrottleArgs

ROUTE_KEYS: tuple[str, ...] = ("$connect", "$disconnect", "subscribe", "$default")
ANSWERING_ROUTES: tuple[str, ...] = ("subscribe", "$default")  # their Lambda's answer goes back on the socket
CONNECT_AUTH: tuple[str, ...] = ("token", "iam", "authorizer")
HANDLERS = {
    "socket": "handlers.push.routes.lambda_handler",
    "notify": "handlers.push.notify.lambda_handler",
}


class WebSocketNotifierArgs(TypedDict, total=False):
    """Arguments of WebSocketNotifier. All optional.

    A notifier no AsyncJobWorkflow binds (``push=``) is a valid program: a WebSocket API whose
    connections your own code writes to (``connections_url``, ``connect_auth='iam'`` or
    ``'authorizer'``); it pushes no job results, its functions get ``JOBS_TABLE='(none)'`` (never an
    empty name), token connects are refused and ``subscribe`` answers ``no_jobs``.

    ``transform`` keys: api, route, route_response, integration, deployment, stage, access_logs,
    permission, table, policy, alarm (functions take theirs through ``function['transform']``).
    """

    code: pulumi.Archive | str
    """The package of the socket, park and notify functions: it must hold the library's handlers as
    a top-level ``handlers`` package. Default: the library's own, packaged for the functions'
    architecture, runtime and Powertools source (``packaging.library_handlers_for``)."""
    function: ResilientFunctionArgs
    """Extra ResilientFunction arguments for the socket and notify functions (timeout below 29 s,
    memory, log level, powertools...; not handler, code or invocation). Default: none."""
    connect_auth: str
    """``token`` (the job's push token in the ``token`` and ``job_id`` query parameters, checked
    by the socket function), ``iam`` (SigV4-signed connects) or ``authorizer`` (a REQUEST Lambda
    authorizer, ``authorizer``; its principal is recorded). Either way ``subscribe`` checks the
    job's token. Default: ``token``."""
    authorizer: ResilientFunction
    """``connect_auth='authorizer'`` only: the REQUEST authorizer function. Default: none."""
    authorizer_identity_sources: list[str]
    """Where the authorizer reads the caller's identity; a connect without them is refused before
    any invocation. Default: ``["route.request.header.Authorization"]``."""
    stage_name: str
    """Default: ``live``."""
    throttle: ThrottleArgs
    """Stage throttle for client frames. Default: rate 50, burst 100."""
    connect_throttle: ThrottleArgs
    """``$connect`` throttle, rate at most 500 (the account's new connections per second).
    Default: rate 100, burst 200."""
    route_throttles: Mapping[str, ThrottleArgs]
    """Per route key (``$disconnect``, ``subscribe``, ``$default``). Default: the stage's."""
    inline_max_bytes: int
    """Largest message pushed inline, 256 to 131072 (the 128 KB message limit). Default: 32768
    (one frame)."""
    result_url_ttl_s: int
    """Lifetime of a pre-signed result URL, 60 to 604800 s. Default: 900."""
    notify_concurrency: int
    """PostToConnection calls in flight per notified job, 1 to 64. Default: 8."""
    log_retention_days: int
    """Access logs. Default: 30."""
    gateway_account: pulumi.Resource | None
    """The region's API Gateway logging role (``ApiGatewayAccount``): WebSocket stages log through
    it, so the stage waits for it. Default: none (managed by another stack)."""
    alarm_topic_arn: pulumi.Input[str] | None
    """SNS topic for alarm and OK actions. Default: none."""
    tags: Mapping[str, str]
    transform: Mapping[str, Transform]
