"""One function's execution environment: the package's handler, exactly the function's
variables plus Lambda's, a context that counts down from the function's timeout on the run's
clock, and reserved concurrency for invokes in flight. No backend needed: the handlers here
make no AWS call."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from resilient_serverless.components.testing.local import Clock, FunctionSpec, TooManyRequests
from resilient_serverless.components.testing.local.functions import Functions, Zygote

HANDLERS = """
import os, time

def environment(event, context):
    return dict(os.environ)

def remaining(event, context):
    return {"remaining_ms": context.get_remaining_time_in_millis(), "now": time.time()}

def slow(event, context):
    time.sleep(event["seconds"])
    return "done"
"""


@pytest.fixture(params=["forked", "fresh"])
def functions(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Functions]:
    """The pool, its environments forked from the zygote (as run_locally starts them) or each a
    fresh interpreter (a package with its own AWS SDK): both must look the same to the handler."""
    package = tmp_path / "package.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("probe.py", HANDLERS)

    def spec(name: str, handler: str, reserved: int | None = None) -> FunctionSpec:
        return FunctionSpec(
            name=name,
            arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
            handler=handler,
            package=package,
            role_arn=f"arn:aws:iam::123456789012:role/{name}",
            timeout_s=30,
            memory_mb=256,
            environment={"TABLE": "orders"},
            reserved_concurrency=reserved,
        )

    specs = {
        "env": spec("env", "probe.environment"),
        "clock": spec("clock", "probe.remaining"),
        "slow": spec("slow", "probe.slow", reserved=1),
    }
    keys = {"AWS_ACCESS_KEY_ID": "ASIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    pool = Functions(specs, tmp_path, "http://127.0.0.1:1", "eu-west-1", "123456789012", lambda _: keys, Clock())
    pool.zygote = Zygote() if request.param == "forked" else None
    yield pool
    pool.close()


def test_the_handler_sees_its_function_variables_and_lambdas_and_no_others(functions: Functions) -> None:
    # GIVEN a function whose graph sets TABLE; WHEN its handler reads its environment
    seen = functions.invoke("env", {}).result
    # THEN it has TABLE and what Lambda sets, and nothing from the test process
    assert seen["TABLE"] == "orders"
    assert seen["AWS_LAMBDA_FUNCTION_NAME"] == "env" and seen["AWS_REGION"] == "eu-west-1"
    assert seen["AWS_SESSION_TOKEN"] == "t"
    assert "POWERTOOLS_SERVICE_NAME" not in seen  # set by tests/conftest.py in this process
    assert "LOCAL_CLOCK_OFFSET_S" not in seen
    expected = set(functions.environment_of(functions.specs["env"])) - {"LOCAL_CLOCK_OFFSET_S"}
    # (the runtime sets the trace id per invocation; Python may coerce a C locale into LC_CTYPE)
    assert set(seen) - {"_X_AMZN_TRACE_ID", "LC_CTYPE"} == expected


def test_the_context_counts_down_from_the_function_timeout_on_the_run_clock(functions: Functions) -> None:
    # GIVEN a 30 s function; WHEN it is invoked, then invoked again after the clock moved an hour
    first = functions.invoke("clock", {}).result
    functions.clock.advance(3600)
    second = functions.invoke("clock", {}).result
    # THEN each invocation has (almost) its full timeout, and the handler's time moved with the clock
    assert 25_000 < first["remaining_ms"] <= 30_000
    assert 25_000 < second["remaining_ms"] <= 30_000
    assert second["now"] - first["now"] >= 3600


def test_an_invoke_past_the_reserved_concurrency_in_flight_is_throttled(functions: Functions) -> None:
    # GIVEN a function with reserved concurrency 1, one invocation in flight
    results: list[object] = []
    busy = threading.Thread(target=lambda: results.append(functions.invoke("slow", {"seconds": 1.5}).result))
    busy.start()
    for _ in range(100):
        if functions._in_flight.get("slow"):
            break
        threading.Event().wait(0.05)
    # WHEN a second invoke arrives meanwhile; THEN it is refused, and the first completes
    with pytest.raises(TooManyRequests):
        functions.invoke("slow", {"seconds": 0})
    busy.join()
    assert results == ["done"]
