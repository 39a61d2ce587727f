"""The OpenTelemetry path end to end on a reference handler: the orders read handler, imported as
Lambda imports it with ``RESILIENT_TRACING=otel`` (what ``tracing_provider='otel'`` sets) and an
OTel SDK tracer provider installed first (what the ADOT layer's wrapper does), emits its spans
through the SDK: the handler's, and its DynamoDB call's as a child of it. Run in a fresh
interpreter: the handler library chooses its provider once, at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

from moto import mock_aws


class Context:
    function_name = "orders"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    aws_request_id = "request-1"

    def get_remaining_time_in_millis(self):
        return 10_000


with mock_aws():
    import boto3

    boto3.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    from app.handlers.orders import lambda_handler

    answer = lambda_handler({"pathParameters": {"order_id": "o-1"}}, Context())
spans = [
    {
        "name": s.name,
        "id": s.context.span_id,
        "parent": s.parent.span_id if s.parent else None,
        "attributes": dict(s.attributes),
    }
    for s in exporter.get_finished_spans()
]
print(json.dumps({"status": answer["statusCode"], "spans": spans}, default=str))
"""


def run_orders_handler(tracing: str) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "LAMBDA_TASK_ROOT": str(ROOT),  # in Lambda: tracing on unless POWERTOOLS_TRACE_DISABLED
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ORDERS_TABLE": "orders",
        "POWERTOOLS_SERVICE_NAME": "orders",
        "POWERTOOLS_METRICS_NAMESPACE": "shop",
        "RESILIENT_TRACING": tracing,
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_orders_handler_under_the_otel_provider_emits_its_spans_through_the_otel_sdk() -> None:
    # GIVEN the orders handler imported with RESILIENT_TRACING=otel and an SDK tracer provider
    # WHEN it reads an order (none there: a 404 after one DynamoDB call)
    run = run_orders_handler("otel")
    # THEN the SDK exported the handler's span and the DynamoDB call's span, its child
    assert run["status"] == 404
    by_name = {s["name"]: s for s in run["spans"]}
    handler = by_name["## lambda_handler"]
    call = next(s for s in run["spans"] if s["attributes"].get("rpc.method") == "GetItem")
    assert call["parent"] == handler["id"]
    assert (call["attributes"]["rpc.system"], call["attributes"]["rpc.service"]) == ("aws-api", "DynamoDB")


def test_the_same_handler_on_the_xray_provider_sends_nothing_through_the_otel_sdk() -> None:
    # GIVEN the same handler on the default provider (the X-Ray daemon); WHEN it reads an order
    run = run_orders_handler("xray")
    # THEN it answers the same, and no span reaches the OpenTelemetry SDK
    assert (run["status"], run["spans"]) == (404, [])
