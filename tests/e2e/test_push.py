"""Push of job results over the WebSocket API, as the graph wires it: ``$connect`` with the
token submit answered, ``subscribe``, and the result posted to the connection."""

from __future__ import annotations

from typing import Any

import pytest
from resilient_serverless.components.testing import LocalRun
from resilient_serverless.components.testing.local import WebSocket

from .conftest import CALLER
from .test_reports import ROWS, has_push


def subscribed_report(stack: LocalRun) -> tuple[str, WebSocket, Any]:
    answer = stack.request("POST", "/reports", json={"input": ROWS}, caller=CALLER)
    assert answer.status == 202, answer
    job = answer.json()
    socket = stack.websocket({"job_id": job["job_id"], "token": job["push"]["token"]})
    reply = socket.send({"action": "subscribe", "job_id": job["job_id"], "token": job["push"]["token"]})
    return job["job_id"], socket, reply


def test_a_client_with_the_submit_token_connects_and_subscribes(stack: LocalRun) -> None:
    if not has_push(stack):
        pytest.skip("this stack has no WebSocket API (clients poll)")
    # GIVEN a submitted report; WHEN a client connects with its token and subscribes
    _, socket, reply = subscribed_report(stack)
    # THEN the subscription is acknowledged on the socket
    assert isinstance(reply, dict) and reply.get("type") == "subscribed", reply
    socket.close()
    stack.settle()


def test_a_subscribed_client_receives_the_result_frame(stack: LocalRun) -> None:
    if not has_push(stack):
        pytest.skip("this stack has no WebSocket API (clients poll)")
    # GIVEN a client subscribed to a submitted report
    job_id, socket, _ = subscribed_report(stack)
    # WHEN the report runs
    stack.settle()
    # THEN a frame with the job's result reaches the connection
    results = [
        f for f in socket.frames if isinstance(f, dict) and f.get("type") == "result" and f.get("job_id") == job_id
    ]
    assert results, socket.frames
