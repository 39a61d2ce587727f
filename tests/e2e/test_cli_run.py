"""``resilient-serverless run``: a stack served on 127.0.0.1; bad input answers on one line with exit 2."""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from resilient_serverless.components.cli import main
from resilient_serverless.components.testing.local.serve import serve

from .conftest import CALLER, ROOT, RUNS, graph_of


@pytest.mark.usefixtures("own_run")
def test_run_with_an_unknown_stack_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a stack name the project has no file for; WHEN run is asked to serve it
    code = main(["run", "--stack", "nope", "--project-dir", str(ROOT)])
    # THEN it exits 2 and says why on one line, naming the known stacks
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "unknown stack 'nope'" in err[0] and "dev, local, prod, staging" in err[0], err


@dataclass
class Served:
    log: io.StringIO
    base: str  # the HTTP API's local URL
    push: str  # the WebSocket API's local URL


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """dev served on 127.0.0.1 by ``serve`` (as ``resilient-serverless run`` serves it), every
    request signed as one caller; shared by the tests of this module (starting it costs seconds)."""
    RUNS.close()  # no other local run may be open in this process meanwhile
    log, stop = io.StringIO(), threading.Event()
    graph = graph_of("dev")  # captured on the main thread, as the CLI captures it
    server = threading.Thread(
        target=serve, args=(graph,), kwargs={"caller": CALLER, "log": log, "stop": stop}, daemon=True
    )
    server.start()
    try:
        base = _served_url(log)
        push = re.search(r"^websocket .*: (ws://127\.0\.0\.1:\d+)$", log.getvalue(), re.M)
        assert push, log.getvalue()
        yield Served(log, base, push.group(1))
    finally:
        stop.set()
        server.join(timeout=30)


def test_run_serves_the_stack_api_on_localhost_and_delivers_its_queued_work(served: Served) -> None:
    # GIVEN dev served on 127.0.0.1
    # WHEN an order is posted over HTTP, then read back once the inbox is drained
    order = json.dumps({"order_id": "served-1", "items": [{"sku": "A", "qty": 1}]}).encode()
    posted = urllib.request.urlopen(urllib.request.Request(f"{served.base}/orders", data=order, method="POST"))
    read = _read_when_stored(f"{served.base}/orders/served-1")
    # THEN both answer as the API does, and the log has one line per request and per invocation
    assert posted.status == 200
    assert read["order_id"] == "served-1"
    lines = served.log.getvalue().splitlines()
    assert any(line.startswith("request ") and "POST /orders -> 200" in line for line in lines), lines
    assert any(line.startswith("invoke ") and "inbox-high-consumer" in line for line in lines), lines


def test_run_serves_the_websocket_api_and_pushes_a_report_result_to_a_subscribed_client(served: Served) -> None:
    from websockets.sync.client import connect

    # GIVEN a report submitted over HTTP to the served dev stack
    body = json.dumps({"input": {"columns": ["sku"], "rows": [{"sku": "A"}]}}).encode()
    request = urllib.request.Request(
        f"{served.base}/reports", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as answer:
        job = json.loads(answer.read())
    # WHEN a WebSocket client connects to the served push API with the job's token and subscribes
    query = urllib.parse.urlencode({"job_id": job["job_id"], "token": job["push"]["token"]})
    with connect(f"{served.push}/?{query}", open_timeout=30) as client:
        client.send(json.dumps({"action": "subscribe", "job_id": job["job_id"], "token": job["push"]["token"]}))
        frames = [json.loads(client.recv(timeout=30))]
        while frames[-1].get("type") != "result" and len(frames) < 5:
            frames.append(json.loads(client.recv(timeout=30)))
    # THEN it receives the job's result (after the acknowledgement, unless the job was already done)
    assert frames[-1] == {"type": "result", "job_id": job["job_id"], "status": "succeeded", "result": "sku\r\nA\r\n"}
    assert [f["type"] for f in frames[:-1]] in ([], ["subscribed"]), frames
    # AND the links of the answer lead to this run, not to AWS (the job's push URL and, where absolute,
    # its status and result URLs); so does the stack's push URL export
    assert job["push"]["url"].startswith(f"{served.push}/"), job
    for link in (job["status_url"], job["result_url"]):
        assert link.startswith("/") or link.startswith(f"{served.base}/"), job
    lines = served.log.getvalue().splitlines()
    assert any(line.startswith(f"export   push_url = {served.push}/") for line in lines), lines
    assert any(line.startswith("connect ") and line.endswith("-> 101") for line in lines), lines
    assert any(line.startswith("message ") and '"subscribe"' in line for line in lines), lines
    assert any(line.startswith("frame ") and '"result"' in line for line in lines), lines


def _served_url(log: io.StringIO) -> str:
    for _ in range(1200):
        found = re.search(r"^api .*: (http://127\.0\.0\.1:\d+)$", log.getvalue(), re.M)
        if found and "caller " in log.getvalue():
            return found.group(1)
        threading.Event().wait(0.05)
    raise AssertionError(f"no API served: {log.getvalue()}")


def _read_when_stored(url: str) -> dict[str, object]:
    for _ in range(200):
        try:
            with urllib.request.urlopen(url) as answer:
                found: dict[str, object] = json.loads(answer.read())
                return found
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        threading.Event().wait(0.1)
    raise AssertionError(f"{url} never found")
