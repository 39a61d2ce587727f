"""Anonymous callers (no auth on the job routes) share one owner, so they get per-job hooks only:
a hook on all jobs would receive every other anonymous client's finished jobs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import JobsAws, api_event
from .test_webhook_registration_and_delivery import URL, FakeEndpoint, record

JOB = "AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def endpoint(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> FakeEndpoint:
    from handlers.jobs import webhooks

    fake = FakeEndpoint()
    monkeypatch.setattr(webhooks, "SENDER", [fake])
    return fake


def register_anonymously(**body: Any) -> tuple[int, dict[str, Any]]:
    from handlers.jobs.webhooks import register_handler

    response = register_handler(api_event("POST", "/jobs/webhooks", body={"url": URL, **body}), None)
    return response["statusCode"], json.loads(response["body"])


def test_an_anonymous_hook_on_all_jobs_is_refused_with_the_reason(jobs_aws: JobsAws, endpoint: FakeEndpoint) -> None:
    # GIVEN no auth WHEN an anonymous caller registers a hook on all jobs
    status, body = register_anonymously(all_jobs=True)
    # THEN 422 with the reason, the endpoint is never called and nothing is stored
    assert (status, body["error"]) == (
        422,
        {
            "code": "all_jobs_needs_identity",
            "message": "all_jobs needs an authenticated caller: anonymous callers share one identity, so a hook on "
            "all of its jobs would receive every other anonymous client's; name this URL as callback_url "
            "on each submit instead",
        },
    )
    assert endpoint.calls == [] and jobs_aws.ddb.scan(TableName="jobs")["Items"] == []


def test_an_anonymous_caller_may_register_a_per_job_hook(jobs_aws: JobsAws, endpoint: FakeEndpoint) -> None:
    status, body = register_anonymously()
    assert status == 201 and body["all_jobs"] is False


def test_an_anonymous_all_jobs_hook_stored_earlier_receives_no_other_anonymous_job(
    jobs_aws: JobsAws, endpoint: FakeEndpoint
) -> None:
    from handlers.jobs.webhooks import default_hook_key, dispatch_batch, hook_key

    # GIVEN an anonymous all-jobs hook registered before the rule (stored as registration stored it)
    key = hook_key("anonymous", URL)
    secret = "whsec_" + "A" * 43
    jobs_aws.ddb.put_item(
        TableName="jobs",
        Item={
            "job_id": {"S": key},
            "kind": {"S": "webhook"},
            "owner": {"S": "anonymous"},
            "url": {"S": URL},
            "secret": {"S": secret},
            "verified_at": {"S": "2026-01-01T00:00:00.000000Z"},
        },
    )
    jobs_aws.ddb.put_item(
        TableName="jobs",
        Item={"job_id": {"S": default_hook_key("anonymous")}, "kind": {"S": "webhook-default"}, "hook": {"S": key}},
    )
    # WHEN another anonymous client's job (no owner, no callback_url) finishes
    jobs_aws.put_job(JOB, "failed")
    # THEN nothing is delivered to the hook
    assert dispatch_batch([record()]) == {"batchItemFailures": []}
    assert endpoint.calls == []
