"""Webhooks: callback URL checks (HTTPS, public addresses only), registration with a challenge,
signed deliveries (Standard Webhooks: tests/handlers/jobs/test_webhooks_standard.py),
retries with backoff, the DLQ bound, and the delivery rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from resilient_serverless.components import AsyncJobWorkflow, ResilientFunction, rules
from resilient_serverless.components.testing import Graph, run_program

from handlers.resilience.webhooks import verify
from tests.conftest import HANDLERS

from .conftest import JobsAws, api_event

URL = "https://hooks.example.com/jobs"


class FakeEndpoint:
    """An HTTPS endpoint: answers challenges (or not) and records deliveries."""

    def __init__(self, answer_challenge: bool = True, status: int = 200) -> None:
        self.answer_challenge, self.status = answer_challenge, status
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        self.calls.append((url, body, headers))
        message = json.loads(body)
        if message.get("type") == "webhook.verification":
            echoed = message["challenge"] if self.answer_challenge else "wrong"
            return 200, json.dumps({"challenge": echoed}).encode()
        return self.status, b""


@pytest.fixture
def endpoint(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> FakeEndpoint:
    from handlers.jobs import webhooks

    fake = FakeEndpoint()
    monkeypatch.setattr(webhooks, "SENDER", [fake])
    return fake


def register(caller: str = "key-a", **body: Any) -> tuple[int, dict[str, Any]]:
    from handlers.jobs.webhooks import register_handler

    response = register_handler(api_event("POST", "/jobs/webhooks", body={"url": URL, **body}, caller=caller), None)
    return response["statusCode"], json.loads(response["body"])


# --- callback URL checks ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "addresses", "message"),
    [
        ("http://hooks.example.com/x", ["93.184.216.34"], "callback_url 'http://hooks.example.com/x' must use https"),
        ("https://10.0.0.5/x", ["10.0.0.5"], "callback_url host '10.0.0.5' resolves to a non-public address 10.0.0.5"),
        (
            "https://localhost/x",
            ["127.0.0.1"],
            "callback_url host 'localhost' resolves to a non-public address 127.0.0.1",
        ),
        (
            "https://metadata.internal/x",
            ["169.254.169.254"],
            "callback_url host 'metadata.internal' resolves to a non-public address 169.254.169.254",
        ),
        ("https://v6.example/x", ["::1"], "callback_url host 'v6.example' resolves to a non-public address ::1"),
        (
            "https://mapped.example/x",
            ["::ffff:192.168.1.1"],
            "callback_url host 'mapped.example' resolves to a non-public address ::ffff:192.168.1.1",
        ),
        (
            "https://mixed.example/x",
            ["93.184.216.34", "172.16.0.1"],
            "callback_url host 'mixed.example' resolves to a non-public address 172.16.0.1",
        ),
        ("https://user:pw@hooks.example.com/x", ["93.184.216.34"], "needs a host and no credentials"),
        # urlsplit itself raises on malformed bracketed hosts (found by the route fuzz test)
        ("https://[]", [], "callback_url 'https://[]' is not a valid URL"),
        ("https://[::1/x", [], "callback_url 'https://[::1/x' is not a valid URL: Invalid IPv6 URL"),
    ],
)
def test_callback_urls_must_be_https_and_resolve_only_to_public_addresses(
    monkeypatch: pytest.MonkeyPatch, url: str, addresses: list[str], message: str
) -> None:
    from handlers.jobs import webhooks
    from handlers.jobs.common import ApiError

    monkeypatch.setattr(webhooks, "RESOLVER", [lambda host, port: addresses])
    with pytest.raises(ApiError) as raised:
        webhooks.check_callback_url(url)
    assert raised.value.status == 400 and message in raised.value.message


# --- registration ----------------------------------------------------------------------------------
def test_registration_verifies_the_endpoint_and_shows_the_secret_once(
    jobs_aws: JobsAws, endpoint: FakeEndpoint
) -> None:
    status, body = register(all_jobs=True)
    assert status == 201 and body["verified"] is True and body["secret"].startswith("whsec_")
    assert len(endpoint.calls) == 1 and json.loads(endpoint.calls[0][1])["type"] == "webhook.verification"
    again = register(all_jobs=True)[1]
    assert again["secret"] != body["secret"]  # re-registering rotates: the old secret is never shown again


def test_an_endpoint_that_does_not_echo_the_challenge_is_refused(jobs_aws: JobsAws, endpoint: FakeEndpoint) -> None:
    endpoint.answer_challenge = False
    status, body = register()
    assert status == 422 and body["error"]["code"] == "verification_failed"
    assert jobs_aws.ddb.scan(TableName="jobs")["Items"] == []


def test_a_job_may_name_only_a_verified_callback(jobs_aws: JobsAws, endpoint: FakeEndpoint) -> None:
    from handlers.jobs.submit import lambda_handler

    def submit(caller: str) -> dict[str, Any]:
        event = api_event("POST", "/jobs", body={"input": {}, "callback_url": URL}, caller=caller)
        return lambda_handler(event, None)

    refused = submit("key-a")
    assert refused["statusCode"] == 400
    assert json.loads(refused["body"])["error"]["code"] == "unverified_callback_url"
    register(caller="key-a")
    assert submit("key-a")["statusCode"] == 202
    assert submit("key-b")["statusCode"] == 400  # verified for key-a, not for key-b


# --- delivery --------------------------------------------------------------------------------------
JOB = "AAAAAAAAAAAAAAAAAAAAAA"


def record(job_id: str = JOB, receives: int = 1) -> dict[str, Any]:
    return {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": json.dumps({"job_id": job_id, "status": "failed"}),
        "attributes": {"ApproximateReceiveCount": str(receives)},
        "eventSourceARN": "",
    }


def test_a_delivery_is_signed_over_id_timestamp_and_body_and_the_receiver_verifies_it(
    jobs_aws: JobsAws, endpoint: FakeEndpoint
) -> None:
    from handlers.jobs.webhooks import dispatch_batch

    secret = register(all_jobs=True)[1]["secret"]
    jobs_aws.put_job(JOB, "failed", owner="key-a", error="Report.Failed", cause="bad rows")
    assert dispatch_batch([record()]) == {"batchItemFailures": []}
    url, body, headers = endpoint.calls[-1]
    assert url == URL and headers["webhook-id"] == "m-1"
    verify(secret, headers, body)
    delivered = json.loads(body)
    assert delivered["id"] == "m-1"
    assert delivered["job"]["status"] == "failed" and delivered["job"]["error"]["code"] == "Report.Failed"


def test_a_succeeded_job_is_delivered_with_a_presigned_result_url(jobs_aws: JobsAws, endpoint: FakeEndpoint) -> None:
    import time

    from handlers.jobs.webhooks import dispatch_batch

    register(all_jobs=True)
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    jobs_aws.put_job(JOB, "succeeded", owner="key-a", result_key=f"results/{JOB}", finished_at=finished)
    dispatch_batch([record()])
    result = json.loads(endpoint.calls[-1][1])["job"]["result"]
    assert "X-Amz-Signature=" in result["url"] and result["expires_in"] == 900


def test_a_refused_delivery_stays_on_the_queue_with_a_growing_jittered_delay(
    jobs_aws: JobsAws, endpoint: FakeEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.jobs import webhooks

    register(all_jobs=True)
    jobs_aws.put_job(JOB, "failed", owner="key-a")
    queue = jobs_aws.sqs.create_queue(QueueName="hooks", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    jobs_aws.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"job_id": JOB, "status": "failed"}))
    message = jobs_aws.sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"][0]
    endpoint.status = 503
    changed: list[dict[str, Any]] = []
    real_client = webhooks.client

    class RecordingSqs:
        def change_message_visibility(self, **kwargs: Any) -> None:
            changed.append(kwargs)
            real_client("sqs").change_message_visibility(**kwargs)

    monkeypatch.setattr(
        webhooks, "client", lambda service: RecordingSqs() if service == "sqs" else real_client(service)
    )
    sqs_record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {"ApproximateReceiveCount": "3"},
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:hooks",
    }
    assert webhooks.dispatch_batch([sqs_record], rand=lambda: 1.0) == {
        "batchItemFailures": [{"itemIdentifier": message["MessageId"]}]
    }
    # the third receive waits the full 10 s x 2**2 (jitter drawn at its maximum here), not the 60 s default
    assert changed == [{"QueueUrl": queue, "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 40}]


# --- the component and its rule --------------------------------------------------------------------
def hooks_graph(**args: Any) -> Graph:
    def program() -> None:
        worker = ResilientFunction(
            "w", {"handler": "handlers.jobs.worker.lambda_handler", "code": HANDLERS, "invocation": "async"}
        )
        AsyncJobWorkflow("jobs", {"worker": worker, "code": HANDLERS, **args})

    return run_program(program)


def test_webhook_deliveries_are_bounded_to_5_attempts_then_the_dlq_with_an_alarm() -> None:
    graph = hooks_graph()
    queue = graph.one("aws:sqs/queue:Queue", "jobs-webhooks")
    redrive = json.loads(queue.inputs["redrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": graph.one("aws:sqs/queue:Queue", "jobs-webhooks-dlq").outputs["arn"],
        "maxReceiveCount": 5,
    }
    mapping = graph.one("aws:lambda/eventSourceMapping:EventSourceMapping", "jobs-webhooks-mapping").inputs
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert [f for f in rules.check(graph, waived={}) if f.rule == "jobs-webhook-delivery-bounded"] == []


def test_the_delivery_rule_fires_without_a_dlq_alarm() -> None:
    graph = hooks_graph(transform={"alarm": lambda args, opts: args.update(dimensions={"QueueName": "elsewhere"})})
    messages = [f.message for f in rules.check(graph, waived={}) if f.rule == "jobs-webhook-delivery-bounded"]
    assert messages == ["no alarm watches the webhook DLQ jobs-webhooks-dlq: failed deliveries would wait there unseen"]


def test_the_delivery_rule_fires_on_an_unbounded_retry() -> None:
    def unbounded(args: dict[str, Any], opts: Any) -> None:
        if "redrive_policy" in args:
            args["redrive_policy"] = args["redrive_policy"].apply(
                lambda p: p.replace('"maxReceiveCount": 5', '"maxReceiveCount": 50')
            )

    graph = hooks_graph(transform={"queue": unbounded})
    messages = [f.message for f in rules.check(graph, waived={}) if f.rule == "jobs-webhook-delivery-bounded"]
    assert messages == ["webhook deliveries are tried 50 times, above 10: bound the retries"]
