"""What the OpenTelemetry provider puts on a span: the
instrumentation scope, the exception event and status (bounded to 1000 characters, also for AWS
calls), metadata attributes by type and namespace, the AWS call's service, region and request id,
the subsegment identity, nesting with other instrumentation, and nothing done when tracing is off."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from handlers.resilience.clients import aws_client
from handlers.resilience.otel import INSTRUMENTATION_NAME, OpenTelemetryProvider, SpanSubsegment
from handlers.resilience.xray import patch_botocore

Spans = tuple[OpenTelemetryProvider, InMemorySpanExporter, TracerProvider]


@pytest.fixture
def spans() -> Iterator[Spans]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield OpenTelemetryProvider(enabled=True, tracer_provider=tracer_provider), exporter, tracer_provider
    tracer_provider.shutdown()


def test_spans_carry_the_library_s_instrumentation_scope(spans: Spans) -> None:
    # GIVEN a subsegment WHEN it closes THEN its span names this library as its scope (a backend filters on it)
    provider, exporter, _ = spans
    with provider.in_subsegment("## handler"):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == INSTRUMENTATION_NAME == "resilient_serverless.handlers"


def test_a_local_exception_is_an_event_not_remote_and_the_status_is_bounded(spans: Spans) -> None:
    # GIVEN an exception with a 2000-character message leaving a subsegment
    provider, exporter, _ = spans
    with pytest.raises(LookupError), provider.in_subsegment("## handler"):
        raise LookupError("x" * 2000)
    (span,) = exporter.get_finished_spans()
    # THEN one exception event says it is not remote, and the status is ERROR with the first 1000 characters
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes is not None and event.attributes["exception.remote"] is False
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == ("LookupError: " + "x" * 2000)[:1000]


def test_a_failed_aws_call_keeps_the_bounded_status(spans: Spans) -> None:
    # GIVEN an AWS call refused with a 1500-character message, traced as an aws subsegment
    provider, exporter, _ = spans
    patch_botocore(provider)
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ValidationException", "v" * 1500, http_status_code=400)
        with pytest.raises(client.exceptions.ClientError):
            client.get_item(TableName="orders", Key={"order_id": {"S": "1"}})
    (call,) = exporter.get_finished_spans()
    # THEN its status is the remote error's, bounded like any other (OpenTelemetry's own does not overwrite it)
    (event,) = [e for e in call.events if e.name == "exception"]
    assert event.attributes is not None and event.attributes["exception.remote"] is True
    assert call.status.description is not None and len(call.status.description) == 1000
    assert call.status.description.startswith("ClientError: An error occurred (ValidationException) when calling")


def test_metadata_attributes_keep_plain_values_and_name_the_namespace(spans: Spans) -> None:
    # GIVEN metadata of each plain type in the default namespace, and a dict in a named one
    provider, exporter, _ = spans
    with provider.in_subsegment("## handler") as sub:
        for key, value in {"text": "v", "count": 2, "ratio": 0.5, "ok": True}.items():
            sub.put_metadata(key, value)
        sub.put_metadata("rows", {"count": 2}, namespace="orders")
    (span,) = exporter.get_finished_spans()
    # THEN plain values stay as they are under their own key; anything else is JSON under <namespace>.<key>
    plain = {"text": "v", "count": 2, "ratio": 0.5, "ok": True}
    assert dict(span.attributes or {}) == {**plain, "orders.rows": '{"count": 2}'}


def test_an_aws_call_span_names_service_region_and_request_id(spans: Spans) -> None:
    provider, exporter, _ = spans
    patch_botocore(provider)
    with mock_aws():
        url = boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="inbox")["QueueUrl"]
        exporter.clear()
        sent = aws_client("sqs", region="eu-west-1", max_attempts=1).send_message(QueueUrl=url, MessageBody="{}")
    (call,) = exporter.get_finished_spans()
    assert call.attributes is not None
    assert (call.attributes["rpc.service"], call.attributes["aws.region"]) == ("SQS", "eu-west-1")
    assert call.attributes["aws.request_id"] == sent["ResponseMetadata"]["RequestId"]


def test_a_subsegment_has_its_span_s_identity_and_its_parent_s_id(spans: Spans) -> None:
    # GIVEN a subsegment inside another WHEN both are open
    provider, exporter, _ = spans
    with provider.in_subsegment("## handler") as outer, provider.in_subsegment("## step") as inner:
        pass
    assert isinstance(outer, SpanSubsegment) and isinstance(inner, SpanSubsegment)
    # THEN ids are the spans' ids, the outer has no parent, the inner names the outer
    assert outer.parent_id == ""
    assert (inner.trace_id, inner.parent_id) == (outer.trace_id, outer.id)
    step, handler = exporter.get_finished_spans()
    assert outer.id == f"{handler.context.span_id:016x}" and inner.id == f"{step.context.span_id:016x}"


def test_other_instrumentation_nests_under_the_open_subsegment_and_ours_under_its_parent(spans: Spans) -> None:
    # GIVEN another library's span (plain OpenTelemetry) opened inside a subsegment, and a subsegment inside it
    provider, exporter, tracer_provider = spans
    other = tracer_provider.get_tracer("other-library")
    with provider.in_subsegment("## handler") as outer:
        assert isinstance(outer, SpanSubsegment)
        assert trace.get_current_span() is outer.span
        with other.start_as_current_span("http"), provider.in_subsegment("## step") as inner:
            pass
    finished = {s.name: s for s in exporter.get_finished_spans()}
    handler_id = finished["## handler"].context.span_id
    # THEN the other span is the subsegment's child; our subsegment's span has the parent its parent_id names
    assert finished["http"].parent is not None and finished["http"].parent.span_id == handler_id
    assert finished["## step"].parent is not None and finished["## step"].parent.span_id == handler_id
    assert inner.parent_id == outer.id


def test_a_long_name_is_cut_to_200_characters_on_the_span_too(spans: Spans) -> None:
    provider, exporter, _ = spans
    with provider.in_subsegment("n" * 300) as sub:
        pass
    (span,) = exporter.get_finished_spans()
    assert span.name == sub.name == "n" * 200


def test_with_tracing_off_nothing_is_exported_bounded_or_counted() -> None:
    # GIVEN a configured OpenTelemetry provider but tracing off (outside Lambda or disabled)
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider = OpenTelemetryProvider(enabled=False, tracer_provider=tracer_provider)
    # WHEN a subsegment carries metadata far over the daemon's limit
    with provider.in_subsegment("## handler") as sub:
        sub.put_metadata("blob", "x" * 100_000)
    # THEN it is not sampled, no span is exported, and nothing is dropped or counted (nothing was sent)
    assert sub.sampled is False
    assert exporter.get_finished_spans() == ()
    assert list(sub.metadata) == ["default"]
    assert provider.dropped == {"metadata": 0, "annotations": 0, "documents": 0}
    tracer_provider.shutdown()
