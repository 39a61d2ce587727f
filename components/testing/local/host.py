"""What the integrations and hooks of a local run (``rest``, ``websocket``, ``stepfunctions``) use of
the run that calls them. ``LocalRun`` (``run``) imports those modules to wire them in; they name
this protocol instead of the class, so no module of the local run imports ``run`` back."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

from ..capture import Graph
from .apis import Response
from .backend import Backend
from .clock import Clock
from .common import AsyncConfig, AsyncInvoke, Mapping_
from .functions import Functions, Invocation


class LocalRunHost(Protocol):
    graph: Graph
    backend: Backend
    functions: Functions
    clock: Clock
    connections: dict[str, Any]
    _machine_types: dict[str, str]
    mappings: list[Mapping_]
    async_config: dict[str, AsyncConfig]
    pending_async: list[AsyncInvoke]
    dead_async: list[dict[str, Any]]
    dropped_events: list[dict[str, Any]]
    _execution_status: dict[str, str]
    deadlines: dict[int, float]

    def _parked_task(self, callback_endpoint: Any) -> contextlib.AbstractContextManager[None]: ...

    def _invoke_sync(self, uri: str, event: Any, source: str) -> Invocation | Response: ...

    def _post_sqs_form(self, queue_path: str, form: str, role_arn: str | None) -> tuple[int, str]: ...

    def invoke_async(self, function: str, event: Any) -> None: ...

    def _send(
        self, queue_url: str, body: str, role_arn: str | None, extra: Mapping[str, str] | None = None
    ) -> dict[str, Any]: ...

    def _local_queue_url(self, url_or_arn: str) -> str: ...
