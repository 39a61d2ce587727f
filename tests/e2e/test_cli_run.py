"""``resilient-serverless run``: a stack served on 127.0.0.1; bad input answers on one line with exit 2."""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.error
import urllib.request

import pytest
from resilient_serverless.components.cli import main
from resilient_serverless.components.testing import run_stack
from resilient_serverless.components.testing.local.serve import serve

from .conftest import CALLER, ROOT


@pytest.mark.usefixtures("own_run")
def test_run_with_an_unknown_stack_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a stack name the project has no file for; WHEN run is asked to serve it
    code = main(["run", "--stack", "nope", "--project-dir", str(ROOT)])
    # THEN it exits 2 and says why on one line, naming the known stacks
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "unknown stack 'nope'" in err[0] and "dev, local, prod, staging" in err[0], err


@pytest.mark.usefixtures("own_run")
def test_run_serves_the_stack_api_on_localhost_and_delivers_its_queued_work() -> None:
    # GIVEN dev served on 127.0.0.1, every request signed as one caller
    log, stop = io.StringIO(), threading.Event()
    graph = run_stack("dev", ROOT)  # on the main thread, as the CLI runs it
    server = threading.Thread(
        target=serve, args=(graph,), kwargs={"caller": CALLER, "log": log, "stop": stop}, daemon=True
    )
    server.start()
    try:
        base = _served_url(log)
        # WHEN an order is posted over HTTP, then read back once the inbox is drained
        order = json.dumps({"order_id": "served-1", "items": [{"sku": "A", "qty": 1}]}).encode()
        posted = urllib.request.urlopen(urllib.request.Request(f"{base}/orders", data=order, method="POST"))
        read = _read_when_stored(f"{base}/orders/served-1")
        # THEN both answer as the API does, and the log has one line per request and per invocation
        assert posted.status == 200
        assert read["order_id"] == "served-1"
        lines = log.getvalue().splitlines()
        assert any(line.startswith("request ") and "POST /orders -> 200" in line for line in lines), lines
        assert any(line.startswith("invoke ") and "inbox-high-consumer" in line for line in lines), lines
    finally:
        stop.set()
        server.join(timeout=30)


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
