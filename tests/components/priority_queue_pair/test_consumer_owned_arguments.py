"""The consumer arguments a PriorityQueuePair sets itself are refused with the reason that fits
each: handler and code come from the top level, and the invocation is always the queue's."""

from __future__ import annotations

import pytest
from resilient_serverless.components import ConfigError, PriorityQueuePair
from resilient_serverless.components.testing import run_program

from tests.conftest import HANDLERS


def _problems(consumer: dict[str, object]) -> list[str]:
    def program() -> None:
        PriorityQueuePair(
            "inbox", {"handler": "app.handlers.ingest.lambda_handler", "code": HANDLERS, "consumer": consumer}
        )

    with pytest.raises(ConfigError) as raised:
        run_program(program, project="shop", stack="dev")
    return raised.value.problems


def test_a_consumer_invocation_is_refused_as_the_queues_own() -> None:
    assert _problems({"invocation": "sync"}) == [
        "consumer['invocation'] is set by PriorityQueuePair: its queue mappings invoke the consumers"
    ]


def test_a_consumer_code_is_refused_with_where_it_goes() -> None:
    assert _problems({"code": "./elsewhere"}) == [
        "consumer['code'] is set by PriorityQueuePair; pass handler and code at the top level"
    ]
