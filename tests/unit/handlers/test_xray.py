"""XRayDaemonProvider: subsegment documents, nesting, sampling, botocore calls, Powertools Tracer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from handlers.resilience.clients import aws_client
from handlers.resilience.observability import build_tracer
from handlers.resilience.xray import XRayDaemonProvider, parse_trace_header, patch_botocore

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


def test_exception_marks_a_fault_with_its_cause(sent: list[dict[str, Any]]) -> None:
    provider = provider_for(sent)
    with pytest.raises(KeyError), provider.in_subsegment("## handler") as sub:
        try:
            {"present": 1}["missing"]
        except KeyError as error:
            sub.add_exception(error, [])
            raise
    assert sent[0]["fault"] is True
    assert sent[0]["cause"]["exceptions"][0]["type"] == "KeyError"


def test_oversized_metadata_is_dropped_not_the_subsegment(sent: list[dict[str, Any]]) -> None:
    provider = provider_for(sent)
    with provider.in_subsegment("big") as sub:
        sub.put_metadata("blob", "x" * 100_000)
    assert sent[0]["metadata"]["default"]["truncated"].startswith("metadata dropped")


def test_botocore_calls_become_aws_subsegments(sent: list[dict[str, Any]]) -> None:
    provider = provider_for(sent)
    patch_botocore(provider)  # patches once per process; later providers reuse the first
    from botocore.client import BaseClient

    traced = BaseClient._make_api_call  # type: ignore[attr-defined]
    patch_botocore(provider)
    assert BaseClient._make_api_call is traced  # type: ignore[attr-defined]
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    with Stubber(client) as stub:
        stub.add_response("get_item", {"ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": 200}})
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=429)
        client.get_item(TableName="orders", Key={"order_id": {"S": "1"}})
        with pytest.raises(client.exceptions.ProvisionedThroughputExceededException):
            client.get_item(TableName="orders", Key={"order_id": {"S": "1"}})
    aws_docs = [d for d in sent if d.get("namespace") == "aws"]
    assert len(aws_docs) >= 2
    ok, throttled = aws_docs[-2:]
    assert ok["name"] == "DynamoDB"
    assert ok["aws"] == {"operation": "GetItem", "region": "eu-west-1", "table_name": "orders", "request_id": "r-1"}
    assert (throttled["throttle"], throttled["error"]) == (True, True)


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
