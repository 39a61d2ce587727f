"""XRayDaemonProvider: subsegment documents, nesting, sampling, botocore calls, Powertools Tracer."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from handlers.resilience.clients import aws_client
from handlers.resilience.observability import build_tracer
from handlers.resilience.xray import TRACE_HEADER, XRayDaemonProvider, parse_trace_header, patch_botocore

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    documents: list[dict[str, Any]] = []

    def capture(datagram: bytes) -> None:
        header, _, body = datagram.partition(b"\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        documents.append(json.loads(body))

    yield documents


def provider_for(sent: list[dict[str, Any]]) -> XRayDaemonProvider:
    def capture(datagram: bytes) -> None:
        sent.append(json.loads(datagram.partition(b"\n")[2]))

    return XRayDaemonProvider(enabled=True, send=capture)


def test_parse_trace_header() -> None:
    assert parse_trace_header(TRACE) == {
        "Root": "1-5759e988-bd862e3fe1be46a994272793",
        "Parent": "53995c3f42cd8ad8",
        "Sampled": "1",
    }
    assert parse_trace_header(None) == {}


def test_nested_subsegments_point_at_their_parents(sent: list[dict[str, Any]]) -> None:
    provider = provider_for(sent)
    with provider.in_subsegment("## handler") as outer:
        outer.put_annotation("ColdStart", True)
        with provider.in_subsegment("## step"):
            provider.put_metadata("rows", 3, "orders")
    inner_doc, outer_doc = sent
    assert outer_doc["parent_id"] == "53995c3f42cd8ad8"
    assert inner_doc["parent_id"] == outer_doc["id"]
    assert {d["trace_id"] for d in sent} == {"1-5759e988-bd862e3fe1be46a994272793"}
    assert outer_doc["annotations"] == {"ColdStart": True}
    assert inner_doc["metadata"] == {"orders": {"rows": 3}}
    assert all(d["type"] == "subsegment" and d["end_time"] >= d["start_time"] for d in sent)


def test_unsampled_or_disabled_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE.replace("Sampled=1", "Sampled=0"))
    with provider_for(sent).in_subsegment("x"):
        pass
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    disabled = XRayDaemonProvider(enabled=False, send=lambda d: sent.append({"sent": True}))
    with disabled.in_subsegment("x"):
        pass
    assert sent == []


def test_an_exception_leaving_a_subsegment_is_recorded_with_its_stack(sent: list[dict[str, Any]]) -> None:
    # GIVEN code that raises inside a subsegment and records nothing itself
    provider = provider_for(sent)

    def lookup() -> int:
        return {"present": 1}["missing"]

    # WHEN the exception leaves the subsegment
    with pytest.raises(KeyError), provider.in_subsegment("## lookup"):
        lookup()
    # THEN the document has a fault and a cause with the stack, innermost frame first
    doc = sent[0]
    assert doc["fault"] is True
    (exception,) = doc["cause"]["exceptions"]
    assert (exception["type"], exception["message"], exception["remote"]) == ("KeyError", "'missing'", False)
    assert exception["stack"][0]["label"] == "lookup"
    assert exception["stack"][0]["path"] == __file__
    assert doc["cause"]["working_directory"]


def test_a_raising_handler_leaves_its_handler_subsegment_with_a_fault(sent: list[dict[str, Any]]) -> None:
    # GIVEN a Powertools handler on the provider whose traced step raises
    tracer = build_tracer(service="orders", provider=provider_for(sent))

    @tracer.capture_method
    def charge(amount: int) -> None:
        raise ValueError(f"card declined for {amount}")

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> None:
        charge(3)

    # WHEN it is invoked
    with pytest.raises(ValueError, match="card declined"):
        handler({}, None)
    # THEN the step records the exception and the handler refers to that record by id
    step = next(d for d in sent if d["name"].endswith(".charge"))
    outer = next(d for d in sent if d["name"] == "## handler")
    (exception,) = step["cause"]["exceptions"]
    assert (step["fault"], exception["type"], exception["stack"][0]["label"]) == (True, "ValueError", "charge")
    assert (outer["fault"], outer["cause"]) == (True, exception["id"])


def test_oversized_metadata_is_dropped_not_the_subsegment(
    sent: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    provider = provider_for(sent)
    caplog.set_level(logging.DEBUG, logger="handlers.resilience.xray")
    with provider.in_subsegment("big") as sub:
        sub.put_metadata("blob", "x" * 100_000)
        sub.put_metadata("rows", 3)
        sub.put_annotation("order_id", "o-1")
    assert sent[0]["metadata"] == {"default": {"rows": 3}, "xray": {"dropped": {"metadata": 1, "annotations": 0}}}
    assert sent[0]["annotations"] == {"order_id": "o-1"}
    assert provider.dropped == {"metadata": 1, "annotations": 0, "documents": 0}
    assert "dropped 1 metadata and 0 annotations" in caplog.text


def test_annotations_beyond_fifty_are_dropped_and_counted(sent: list[dict[str, Any]]) -> None:
    provider = provider_for(sent)
    with provider.in_subsegment("many") as sub:
        for i in range(53):
            sub.put_annotation(f"key{i}", str(i))
        sub.put_annotation("key0", "replaced")  # an existing key is updated, not dropped
    assert len(sent[0]["annotations"]) == 50
    assert sent[0]["annotations"]["key0"] == "replaced"
    assert sent[0]["metadata"]["xray"]["dropped"] == {"metadata": 0, "annotations": 3}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    annotations=st.dictionaries(st.text(min_size=1, max_size=600), st.text(max_size=30_000), max_size=60),
    metadata=st.dictionaries(st.text(max_size=50), st.text(max_size=70_000), max_size=5),
    message=st.text(max_size=5000),
)
def test_no_datagram_exceeds_the_udp_limit(
    sent: list[dict[str, Any]], annotations: dict[str, str], metadata: dict[str, str], message: str
) -> None:
    datagrams: list[bytes] = []
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    with contextlib.suppress(RuntimeError), provider.in_subsegment("n" * 300) as sub:
        for key, value in annotations.items():
            sub.put_annotation(key, value)
        for key, value in metadata.items():
            sub.put_metadata(key, value, "ns")
        raise RuntimeError(message)
    assert len(datagrams) == 1
    assert len(datagrams[0]) <= 64 * 1024
    assert json.loads(datagrams[0].partition(b"\n")[2])["fault"] is True


def test_the_socket_never_blocks_and_a_full_buffer_drops_the_document(
    sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a daemon listening on a local UDP port
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{daemon.getsockname()[1]}")
    provider = XRayDaemonProvider(enabled=True)
    try:
        with provider.in_subsegment("sent"):
            pass
        datagram = daemon.recv(70_000)
        assert json.loads(datagram.partition(b"\n")[2])["name"] == "sent"
        assert provider._socket is not None
        assert provider._socket.getblocking() is False
        # WHEN the send buffer is full THEN the document is dropped and counted, nothing raises
        real = provider._socket

        class FullSocket:
            def sendto(self, data: bytes, address: Any) -> int:
                raise BlockingIOError("buffer full")

        provider._socket = FullSocket()  # type: ignore[assignment]
        with provider.in_subsegment("dropped"):
            pass
        assert provider.dropped["documents"] == 1
        real.close()
    finally:
        daemon.close()


def test_botocore_calls_become_aws_subsegments(sent: list[dict[str, Any]]) -> None:
    provider = provider_for(sent)
    patch_botocore(provider)
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    with Stubber(client) as stub:
        stub.add_response("get_item", {"ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": 200}})
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=429)
        client.get_item(TableName="orders", Key={"order_id": {"S": "1"}})
        with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
            client.get_item(TableName="orders", Key={"order_id": {"S": "1"}})
    ok, throttled = [d for d in sent if d.get("namespace") == "aws"]
    assert ok["name"] == "DynamoDB"
    assert ok["aws"] == {"operation": "GetItem", "region": "eu-west-1", "table_name": "orders", "request_id": "r-1"}
    assert (throttled["throttle"], throttled["error"]) == (True, True)
    assert "fault" not in throttled  # a 4xx is the caller's error, not the service's fault
    assert throttled["cause"]["exceptions"][0]["remote"] is True


def test_the_botocore_patch_follows_the_current_provider(sent: list[dict[str, Any]]) -> None:
    # GIVEN a first provider patched, then a second one
    first: list[dict[str, Any]] = []
    patch_botocore(provider_for(first))
    patch_botocore(provider_for(sent))
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    # WHEN a call is made
    with Stubber(client) as stub:
        stub.add_response("list_tables", {"TableNames": []})
        client.list_tables()
    # THEN the second provider records it
    assert first == []
    assert [d["aws"]["operation"] for d in sent] == ["ListTables"]


def test_outgoing_calls_carry_their_own_subsegment_as_parent(
    sent: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a function whose environment names its trace (botocore copies it into each request)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    patch_botocore(provider_for(sent))
    headers: list[str] = []
    with mock_aws():
        sqs = aws_client("sqs", region="eu-west-1", max_attempts=1)
        sqs.meta.events.register("before-send.sqs", lambda request, **_: headers.append(request.headers[TRACE_HEADER]))
        url = boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName="inbox")["QueueUrl"]
        sent.clear()
        # WHEN it sends a message
        sqs.send_message(QueueUrl=url, MessageBody="{}")
    # THEN the request names the SendMessage subsegment as its parent, not the function segment
    (call,) = [d for d in sent if d.get("namespace") == "aws"]
    expected = f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={call['id']};Sampled=1"
    assert [h.decode() if isinstance(h, bytes) else h for h in headers] == [expected]
    assert call["parent_id"] == "53995c3f42cd8ad8"


def test_powertools_tracer_uses_the_provider(sent: list[dict[str, Any]]) -> None:
    provider = provider_for(sent)
    tracer = build_tracer(service="orders", provider=provider)

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
        return {"ok": "yes"}

    assert handler({}, None) == {"ok": "yes"}
    doc = next(d for d in sent if d["name"] == "## handler")
    assert doc["annotations"]["Service"] == "orders"
    assert "ColdStart" in doc["annotations"]


def test_tracing_is_off_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert XRayDaemonProvider.tracing_enabled() is False
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert XRayDaemonProvider.tracing_enabled() is True
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert XRayDaemonProvider.tracing_enabled() is False


def test_only_botocore_can_be_patched() -> None:
    with pytest.raises(ValueError, match="patches botocore only, not requests"):
        XRayDaemonProvider(enabled=True, send=lambda d: None).patch(["requests"])
