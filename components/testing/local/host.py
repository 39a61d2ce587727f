"""What the integrations and hooks of a local run (``rest``, ``websocket``, ``stepfunctions``) use of
the run that calls them. ``LocalRun`` (``run``) imports those modules to wire them in; they name
this protocol instead of the class, so no module of the local run imports ``run`` back."""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from ..capture import Graph
from .apis import Response
from .backend import Backend
from .clock import Clock
from .functions import Functions, Invocation


class LocalRunHost(Protocol):
    graph: Graph
    backend: Backend
    functions: Functions
    clock: Clock
    connections: dict[str, Any]
    _machine_types: dict[str, str]

    def _parked_task(self, callback_endpoint: Any) -> contextlib.AbstractContextManager[None]: ...

    def _invoke_sync(self, uri: str, event: Any, source: str) -> Invocation | Response: ...

    def _post_sqs_form(self, queue_path: str, form: str, role_arn: str | None) -> tuple[int, str]: ...

    def invoke_async(self, function: str, event: Any) -> None: ...
