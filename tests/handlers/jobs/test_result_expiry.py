"""Results expire: the results bucket's lifecycle rule covers exactly the keys the worker writes
and removes them after ``result_retention_days``, and the result handler answers 410 from then
on (never a pre-signed URL to an object that may be gone)."""

from __future__ import annotations

import json
import time
from typing import Any

import pulumi
import pytest
from resilient_serverless.components import AsyncJobWorkflow, ResilientFunction
from resilient_serverless.components.testing import Graph, run_program

from tests.conftest import HANDLERS

from .conftest import JobsAws, api_event

JOB = "AAAAAAAAAAAAAAAAAAAAAA"
RETENTION_DAYS = 3  # not the default (7), so the days are seen to come from the argument
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


@pytest.fixture(scope="module")
def graph() -> Graph:
    def program() -> None:
        worker = ResilientFunction(
            "renderer", {"handler": "handlers.jobs.worker.lambda_handler", "code": HANDLERS, "invocation": "async"}
        )
        jobs = AsyncJobWorkflow(
            "reports", {"worker": worker, "code": HANDLERS, "result_retention_days": RETENTION_DAYS}
        )
        pulumi.export("bucket", jobs.bucket.bucket)

    return run_program(program, project="shop", stack="dev")


def written_result_key(graph: Graph, jobs_aws: JobsAws) -> str:
    """The key the sample worker stores a result under, given the payload the state machine in the
    graph sends it (``result_key`` is an intrinsic over the job id there)."""
    from handlers.jobs import worker

    definition = json.loads(graph.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])
    payload = definition["States"]["RunWorker"]["Parameters"]["Payload"]
    template = payload["result_key.$"]
    assert template.startswith("States.Format('") and template.endswith("', $.job_id)"), template
    jobs_aws.put_job(JOB, "running")
    event = {
        "job_id": JOB,
        "input": {"rows": [{"a": 1}]},
        "input_pointer": None,
        "deadline": time.time() + 60,
        "results_bucket": "results",
        "result_key": template.removeprefix("States.Format('").removesuffix("', $.job_id)").replace("{}", JOB),
        "jobs_table": "jobs",
    }
    return str(worker.run(event, lambda: 30.0)["key"])


def expiring_rules(graph: Graph, key: str) -> list[dict[str, Any]]:
    """The enabled lifecycle rules that expire ``key``."""
    rules = graph.one(LIFECYCLE).inputs["rules"]
    return [
        r
        for r in rules
        if r.get("status") == "Enabled"
        and r.get("expiration")
        and key.startswith((r.get("filter") or {}).get("prefix", r.get("prefix", "")) or "")
    ]


def test_results_expire_under_exactly_the_prefix_the_worker_writes(graph: Graph, jobs_aws: JobsAws) -> None:
    # GIVEN the key the worker writes a job's result under (results/<job_id>)
    key = written_result_key(graph, jobs_aws)
    assert key.endswith(JOB), key
    prefix = key.removesuffix(JOB)
    # WHEN the results bucket's lifecycle rules are read
    rules = expiring_rules(graph, key)
    # THEN one enabled rule expires it: its prefix is the worker's (no broader, so inputs keep
    # their own retention; no narrower, so every result expires), after result_retention_days
    assert [(r["filter"]["prefix"], r["expiration"]["days"]) for r in rules] == [(prefix, RETENTION_DAYS)], rules
    assert prefix and prefix != key, prefix


def test_the_result_handler_answers_410_once_the_lifecycle_may_have_removed_it(
    graph: Graph, jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.jobs import common, result

    # GIVEN the result handler with the environment the component gives it
    env = graph.one("aws:lambda/function:Function", "reports-result-function").inputs["environment"]["variables"]
    retention_s = int(env["RESULT_RETENTION_S"])
    assert retention_s == RETENTION_DAYS * 86_400
    monkeypatch.setenv("RESULT_RETENTION_S", env["RESULT_RETENTION_S"])
    common.config.cache_clear()

    def fetch(finished_s_ago: int) -> tuple[int, dict[str, Any]]:
        finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - finished_s_ago))
        jobs_aws.put_job(JOB, "succeeded", result_key=f"results/{JOB}", finished_at=finished)
        response = result.lambda_handler(api_event("GET", f"/jobs/{JOB}/result", job_id=JOB), None)
        return response["statusCode"], json.loads(response["body"])

    # WHEN a result is fetched a minute before and a minute after its retention ends
    # THEN before: a pre-signed URL; after: 410 result_expired, saying when it expired
    status, body = fetch(retention_s - 60)
    assert (status, sorted(body)) == (200, ["expires_in", "job_id", "url"])
    status, body = fetch(retention_s + 60)
    assert (status, body["error"]) == (
        410,
        {"code": "result_expired", "message": f"the result of job {JOB!r} expired {retention_s} s after it finished"},
    )
