"""OpenTelemetryProvider on captured spans (SDK InMemorySpanExporter): the same names,
annotations, error recording and AWS calls as the X-Ray daemon provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from handlers.resilience.clients import aws_client
from handlers.resilience.observability import build_tracer, provider_from_env
from handlers.resilience.otel import OpenTelemetryProvider, xray_trace_id
from handlers.resilience.xray import TRACE_HEADER, XRayDaemonProvider, patch_botocore


@pytest.fixture
def spans() -> Iterator[tuple[OpenTelemetryProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider = OpenTelemetryProvider(enabled=True, tracer_provider=tracer_provider)
    yield provider, exporter
    tracer_provider.shutdown()


def traced_handler(provider: XRayDaemonProvider, fail: bool) -> Any:
    tracer = build_tracer(service="orders", provider=provider)

    @tracer.capture_method
    def load(order_id: str) -> str:
        tracer.put_annotation("order_id", order_id)
        tracer.put_metadata("rows", {"count": 2})
        if fail:
            raise LookupError(f"no order {order_id}")
        return order_id

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> str:
        return load(event["id"])

    return handler


def test_spans_have_the_subsegment_names_and_nesting(
    spans: tuple[OpenTelemetryProvider, InMemorySpanExporter],
) -> None:
    # GIVEN the same Powertools handler on each provider
    provider, exporter = spans
    documents: list[dict[str, Any]] = []
    daemon = XRayDaemonProvider(enabled=True, send=lambda d: documents.append(json.loads(d.partition(b"\n")[2])))
    # WHEN both run under a sampled trace
    with pytest.MonkeyPatch.context() as env:
        env.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        assert traced_handler(provider, fail=False)({"id": "o-1"}, None) == "o-1"
        assert traced_handler(daemon, fail=False)({"id": "o-1"}, None) == "o-1"
    # THEN the spans carry the daemon's subsegment names, the step inside the handler
    finished = exporter.get_finished_spans()
    assert sorted(s.name for s in finished) == sorted(d["name"] for d in documents)
    step = next(s for s in finished if s.name.endswith(".load"))
    handler = next(s for s in finished if s.name == "## handler")
    assert step.parent is not None
    assert step.parent.span_id == handler.context.span_id


def test_annotations_are_indexed_attributes_and_metadata_namespaced(
    spans: tuple[OpenTelemetryProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    traced_handler(provider, fail=False)({"id": "o-1"}, None)
    step = next(s for s in exporter.get_finished_spans() if s.name.endswith(".load"))
    handler = next(s for s in exporter.get_finished_spans() if s.name == "## handler")
    assert step.attributes is not None and handler.attributes is not None
    assert step.attributes["order_id"] == "o-1"
    assert step.attributes["aws.xray.annotations"] == ("order_id",)
    assert json.loads(str(step.attributes["orders.rows"])) == {"count": 2}
    assert handler.attributes["Service"] == "orders"
    assert "ColdStart" in handler.attributes


def test_an_exception_is_recorded_on_every_span_it_leaves(
    spans: tuple[OpenTelemetryProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    with pytest.raises(LookupError):
        traced_handler(provider, fail=True)({"id": "o-9"}, None)
    for span in exporter.get_finished_spans():
        assert span.status.status_code is StatusCode.ERROR, span.name
        (event,) = [e for e in span.events if e.name == "exception"]
        assert event.attributes is not None
        assert event.attributes["exception.type"] == "LookupError"
        assert "no order o-9" in str(event.attributes["exception.stacktrace"])
        assert span.attributes is not None and span.attributes["aws.xray.fault"] is True


def test_aws_calls_are_client_spans_parenting_their_request(
    spans: tuple[OpenTelemetryProvider, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, exporter = spans
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    patch_botocore(provider)
    headers: list[Any] = []
    with mock_aws():
        sqs = aws_client("sqs", region="eu-west-1", max_attempts=1)
        sqs.meta.events.register("before-send.sqs", lambda request, **_: headers.append(request.headers[TRACE_HEADER]))
        url = boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="inbox")["QueueUrl"]
        exporter.clear()
        with provider.in_subsegment("## handler"):
            sqs.send_message(QueueUrl=url, MessageBody="{}")
    call = next(s for s in exporter.get_finished_spans() if s.name == "SQS")
    assert call.attributes is not None
    assert (call.attributes["rpc.system"], call.attributes["rpc.method"]) == ("aws-api", "SendMessage")
    assert call.attributes["aws.sqs.queue_url"] == url
    assert call.attributes["http.response.status_code"] == 200
    trace_id = xray_trace_id(call.context.trace_id)
    header = headers[0].decode() if isinstance(headers[0], bytes) else headers[0]
    assert header == f"Root={trace_id};Parent={call.context.span_id:016x};Sampled=1"


def test_a_throttled_call_is_an_error_not_a_fault(
    spans: tuple[OpenTelemetryProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    patch_botocore(provider)
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=429)
        with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
            client.get_item(TableName="orders", Key={"order_id": {"S": "1"}})
    (call,) = exporter.get_finished_spans()
    assert call.attributes is not None
    assert call.attributes["aws.xray.throttle"] is True
    assert call.attributes["aws.xray.error"] is True
    assert "aws.xray.fault" not in call.attributes
    assert call.attributes["aws.dynamodb.table_names"] == ("orders",)


def test_without_a_configured_provider_nothing_records() -> None:
    provider = OpenTelemetryProvider(enabled=True)  # the global provider: a no-op unless configured
    with provider.in_subsegment("## handler") as sub:
        sub.put_annotation("k", "v")
    assert sub.sampled is False


def test_the_provider_is_chosen_by_resilient_tracing() -> None:
    assert type(provider_from_env("")) is XRayDaemonProvider  # Default: xray
    assert type(provider_from_env("xray")) is XRayDaemonProvider
    assert type(provider_from_env("otel")) is OpenTelemetryProvider
    with pytest.raises(ValueError, match="RESILIENT_TRACING='jaeger' is not one of 'xray', 'otel'"):
        provider_from_env("jaeger")


def test_xray_trace_id_format() -> None:
    assert xray_trace_id(0x5759E988BD862E3FE1BE46A994272793) == "1-5759e988-bd862e3fe1be46a994272793"


def test_annotations_and_metadata_keep_the_daemon_bounds(
    spans: tuple[OpenTelemetryProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    with provider.in_subsegment("## many") as sub:
        for i in range(55):
            sub.put_annotation(f"k{i}", "v")
        sub.put_metadata("blob", "x" * 100_000)
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert len(span.attributes["aws.xray.annotations"]) == 50  # type: ignore[arg-type]
    assert "blob" not in span.attributes
    assert json.loads(str(span.attributes["xray.dropped"])) == {"metadata": 1, "annotations": 5}
