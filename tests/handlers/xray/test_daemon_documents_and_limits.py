"""What the X-Ray daemon provider sends and where it stops: the datagram's
header line, the daemon address forms, the X-Ray limits (ids, names, annotation keys, stack
depth, the datagram size), and how each failed AWS call is classified."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws  # before the first client: moto hooks sessions created after its import

from handlers.resilience import xray
from handlers.resilience.clients import aws_client
from handlers.resilience.xray import XRayDaemonProvider, parse_trace_header, patch_botocore

ROOT, PARENT = "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8"
TRACE = f"Root={ROOT};Parent={PARENT};Sampled=1"


@pytest.fixture
def datagrams(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    yield []


def documents(datagrams: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(d.partition(b"\n")[2]) for d in datagrams]


def test_each_datagram_starts_with_the_daemon_s_header_line(datagrams: list[bytes]) -> None:
    # GIVEN a sampled subsegment WHEN it closes
    # THEN the datagram is the daemon protocol's header line, then the document
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    with provider.in_subsegment("## handler"):
        pass
    header, newline, body = datagrams[0].partition(b"\n")
    assert header + newline == b'{"format": "json", "version": 1}\n'
    assert json.loads(body)["name"] == "## handler"


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        (None, ("127.0.0.1", 2000)),
        ("", ("127.0.0.1", 2000)),
        ("169.254.79.129:2000", ("169.254.79.129", 2000)),
        ("tcp:127.0.0.1:2000 udp:127.0.0.2:2001", ("127.0.0.2", 2001)),
        ("udp:10.0.0.1:3000 tcp:10.0.0.1:3001", ("10.0.0.1", 3000)),
    ],
)
def test_the_daemon_address_is_read_in_each_form_lambda_sets(raw: str | None, address: tuple[str, int]) -> None:
    # GIVEN AWS_XRAY_DAEMON_ADDRESS unset, plain, or as the TCP and UDP pair WHEN read THEN the UDP address is used
    assert xray._daemon_address(raw) == address


def test_a_document_goes_to_the_udp_address_of_the_pair(
    datagrams: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(5)
    try:
        port = daemon.getsockname()[1]
        monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"tcp:127.0.0.1:1 udp:127.0.0.1:{port}")
        provider = XRayDaemonProvider(enabled=True)
        with provider.in_subsegment("## handler"):
            pass
        assert json.loads(daemon.recv(70_000).partition(b"\n")[2])["name"] == "## handler"
    finally:
        daemon.close()


def test_a_trace_header_item_without_a_value_is_ignored() -> None:
    assert parse_trace_header(f"Root={ROOT}; Parent= ;Sampled;=1") == {"Root": ROOT}


def test_ids_are_16_hex_digits_and_names_at_most_200_characters(datagrams: list[bytes]) -> None:
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    with pytest.raises(KeyError), provider.in_subsegment("n" * 300):
        raise KeyError("k")
    (doc,) = documents(datagrams)
    assert len(doc["id"]) == 16 and int(doc["id"], 16) >= 0
    assert len(doc["cause"]["exceptions"][0]["id"]) == 16
    assert doc["name"] == "n" * 200


def test_annotation_keys_become_alphanumeric_and_at_most_500_characters(datagrams: list[bytes]) -> None:
    # GIVEN keys X-Ray would refuse, and values it cannot index
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    with provider.in_subsegment("## handler") as sub:
        sub.put_annotation("order-id.v2", "o-1")
        sub.put_annotation("k" * 600, "one")
        sub.put_annotation("rows", [1, 2])  # type: ignore[arg-type]
    # THEN other characters become "_", long keys are cut, a list is not an annotation
    assert documents(datagrams)[0]["annotations"] == {"order_id_v2": "o-1", "k" * 500: "one"}


def test_a_deep_stack_keeps_its_10_innermost_frames_and_counts_the_rest(datagrams: list[bytes]) -> None:
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)

    def deep(n: int) -> None:
        if n == 0:
            raise RecursionError("bottom")
        deep(n - 1)

    with pytest.raises(RecursionError), provider.in_subsegment("## deep"):
        deep(14)
    (exception,) = documents(datagrams)[0]["cause"]["exceptions"]
    # 17 frames (the provider's, this test's, deep's 15): the 10 innermost kept, 7 counted
    assert (len(exception["stack"]), exception["truncated"]) == (10, 7)
    assert [f["label"] for f in exception["stack"]] == ["deep"] * 10
    assert (exception["message"], exception["remote"]) == ("bottom", False)


@pytest.mark.parametrize(
    ("status", "flags"),
    [
        (400, {"error": True}),
        (429, {"error": True, "throttle": True}),
        (499, {"error": True}),
        (500, {"fault": True}),
        (503, {"fault": True}),
    ],
)
def test_a_failed_aws_call_is_an_error_or_a_fault_by_status(
    datagrams: list[bytes], status: int, flags: dict[str, bool]
) -> None:
    # GIVEN an AWS call answered with an HTTP error status
    patch_botocore(XRayDaemonProvider(enabled=True, send=datagrams.append))
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    with Stubber(client) as stub:
        stub.add_client_error("list_tables", "Some", http_status_code=status)
        with pytest.raises(client.exceptions.ClientError):
            client.list_tables()
    (doc,) = documents(datagrams)
    # THEN 4xx is the caller's error (429 a throttle too), 5xx the service's fault; the status is kept
    assert {k: doc[k] for k in ("error", "fault", "throttle") if k in doc} == flags
    assert doc["http"] == {"response": {"status": status}}
    assert doc["cause"]["exceptions"][0]["remote"] is True


# --- the datagram limit: exactly at it, one byte over, and the note's room -------------------------
LIMIT = 64 * 1024  # the daemon's datagram size, header line included
MAX_DOCUMENT = LIMIT - len(b'{"format": "json", "version": 1}\n')


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, datagrams: list[bytes]) -> Iterator[list[bytes]]:
    """A fixed clock, so a document's size does not depend on how its times print."""
    monkeypatch.setattr(xray, "time", type("Clock", (), {"time": staticmethod(lambda: 1_800_000_000.25)}))
    yield datagrams


def size_of(sub: xray.Subsegment) -> int:
    return len(json.dumps(sub.document(), default=str).encode())


def pad(sub: xray.Subsegment, key: str, size: int) -> None:
    """Set metadata ``key`` so that the whole document is ``size`` bytes."""
    sub.put_metadata(key, "")
    sub.put_metadata(key, "x" * (size - size_of(sub)))
    assert size_of(sub) == size


def test_a_document_of_exactly_the_limit_is_sent_whole(frozen: list[bytes]) -> None:
    provider = XRayDaemonProvider(enabled=True, send=frozen.append)
    with provider.in_subsegment("big") as sub:
        pad(sub, "blob", MAX_DOCUMENT)
    (datagram,) = frozen
    assert len(datagram) == LIMIT
    assert set(documents(frozen)[0]["metadata"]["default"]) == {"blob"}
    assert provider.dropped == {"metadata": 0, "annotations": 0, "documents": 0}


def test_a_document_one_byte_over_the_limit_loses_its_metadata_not_the_trace(frozen: list[bytes]) -> None:
    provider = XRayDaemonProvider(enabled=True, send=frozen.append)
    with provider.in_subsegment("big") as sub:
        pad(sub, "blob", MAX_DOCUMENT + 1)
    assert documents(frozen)[0]["metadata"] == {"xray": {"dropped": {"metadata": 1, "annotations": 0}}}
    assert provider.dropped == {"metadata": 1, "annotations": 0, "documents": 0}


def test_dropping_stops_once_the_document_and_its_note_fit(frozen: list[bytes]) -> None:
    # GIVEN an entry that alone leaves exactly 128 bytes for the note, and a larger one that breaks the limit
    provider = XRayDaemonProvider(enabled=True, send=frozen.append)
    with provider.in_subsegment("big") as sub:
        pad(sub, "kept", MAX_DOCUMENT - 128)
        sub.put_metadata("blob", "x" * 70_000)
    # THEN only the larger goes: the smaller and the note fit
    (doc,) = documents(frozen)
    assert set(doc["metadata"]["default"]) == {"kept"}
    assert doc["metadata"]["xray"] == {"dropped": {"metadata": 1, "annotations": 0}}


def test_the_largest_annotation_goes_first(frozen: list[bytes]) -> None:
    provider = XRayDaemonProvider(enabled=True, send=frozen.append)
    with provider.in_subsegment("big") as sub:
        sub.put_annotation("small", "s")
        sub.put_annotation("large", "x" * 70_000)
    (doc,) = documents(frozen)
    assert doc["annotations"] == {"small": "s"}
    assert doc["metadata"] == {"xray": {"dropped": {"metadata": 0, "annotations": 1}}}


def test_drops_are_counted_per_document_and_summed_per_provider(frozen: list[bytes]) -> None:
    # GIVEN two subsegments, each with 51 annotations and three 40 kB metadata entries
    provider = XRayDaemonProvider(enabled=True, send=frozen.append)
    for name in ("first", "second"):
        with provider.in_subsegment(name) as sub:
            for i in range(51):
                sub.put_annotation(f"k{i}", str(i))
            for key in ("a", "b", "c"):
                sub.put_metadata(key, "x" * 40_000)
    # THEN each document notes 2 metadata and 1 annotation dropped, and the provider counts both documents'
    assert [d["metadata"]["xray"]["dropped"] for d in documents(frozen)] == [{"metadata": 2, "annotations": 1}] * 2
    assert provider.dropped == {"metadata": 4, "annotations": 2, "documents": 0}


def test_a_document_that_cannot_fit_and_each_failed_send_are_counted(frozen: list[bytes]) -> None:
    # GIVEN an aws record too large for any datagram (nothing in it can be dropped), then a send that fails
    def refuse(datagram: bytes) -> None:
        raise OSError("network unreachable")

    provider = XRayDaemonProvider(enabled=True, send=frozen.append)
    with provider.in_subsegment("SQS") as sub:
        sub.aws = {"queue_url": "q" * LIMIT}
    provider._send = refuse
    with provider.in_subsegment("## handler"):
        pass
    # THEN nothing is sent, nothing raises, and both documents are counted as dropped
    assert frozen == []
    assert provider.dropped == {"metadata": 0, "annotations": 0, "documents": 2}


# --- the subsegment itself --------------------------------------------------------------------------
def test_a_subsegment_ends_when_closed_or_now_while_open(frozen: list[bytes]) -> None:
    sub = xray.Subsegment("s", ROOT, PARENT, True)
    assert sub.document()["end_time"] == 1_800_000_000.25  # still open: ends "now"
    sub.close(1_900_000_000)
    assert (sub.end_time, sub.document()["end_time"]) == (1_900_000_000.0, 1_900_000_000.0)
    sub.close()
    assert sub.end_time == 1_800_000_000.25


def test_a_subsegment_that_ends_normally_has_no_flags_and_no_cause(datagrams: list[bytes]) -> None:
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    with provider.in_subsegment("## handler") as sub:
        pass
    assert (sub.error, sub.fault, sub.throttle, sub.cause) == (False, False, False, None)
    assert set(documents(datagrams)[0]) == {"type", "name", "id", "trace_id", "parent_id", "start_time", "end_time"}


def test_an_exception_record_has_a_bounded_message_and_each_frame_s_line(datagrams: list[bytes]) -> None:
    import inspect

    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    frame = inspect.currentframe()
    assert frame is not None
    with pytest.raises(ValueError), provider.in_subsegment("## handler"):
        line = frame.f_lineno + 1
        raise ValueError("m" * 2000)
    (exception,) = documents(datagrams)[0]["cause"]["exceptions"]
    assert exception["message"] == "m" * 1000
    assert exception["truncated"] == 0  # two frames: nothing cut
    assert exception["stack"][0] == {"path": __file__, "line": line, "label": frame.f_code.co_name}


def test_a_subsegment_without_a_name_is_anonymous(datagrams: list[bytes]) -> None:
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    with provider.in_subsegment():
        provider.put_metadata("rows", 3)  # the provider's default namespace
    (doc,) = documents(datagrams)
    assert (doc["name"], doc["metadata"]) == ("anonymous", {"default": {"rows": 3}})


def test_an_async_method_is_traced(datagrams: list[bytes]) -> None:
    import asyncio

    from handlers.resilience.observability import build_tracer

    tracer = build_tracer(service="orders", provider=XRayDaemonProvider(enabled=True, send=datagrams.append))

    @tracer.capture_method
    async def fetch() -> str:
        return "done"

    loop = asyncio.new_event_loop()  # not asyncio.run: it leaves no current loop, which Pulumi's tests need
    try:
        assert loop.run_until_complete(fetch()) == "done"
    finally:
        loop.close()
    (doc,) = documents(datagrams)
    assert doc["name"].startswith("## ") and doc["name"].endswith(".fetch")


def test_a_trace_without_a_parent_is_not_sampled(datagrams: list[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a sampled trace header that names no parent segment: X-Ray could not attach the subsegment
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Sampled=1")
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    with provider.in_subsegment("## handler") as sub:
        pass
    assert (sub.sampled, datagrams) == (False, [])


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on"])
def test_each_powertools_disabling_value_turns_tracing_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert XRayDaemonProvider.tracing_enabled() is False


@pytest.mark.parametrize("local", ["AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"])
def test_tracing_is_off_under_a_local_emulator(monkeypatch: pytest.MonkeyPatch, local: str) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    monkeypatch.delenv("AWS_CHALICE_CLI_MODE", raising=False)
    assert XRayDaemonProvider.tracing_enabled() is True
    monkeypatch.setenv(local, "true")
    assert XRayDaemonProvider.tracing_enabled() is False


# --- patching ---------------------------------------------------------------------------------------
def test_patching_names_every_module_it_refuses_and_accepts_boto3() -> None:
    provider = XRayDaemonProvider(enabled=True, send=lambda d: None)
    provider.patch(["boto3"])
    with pytest.raises(ValueError) as raised:
        provider.patch(["requests", "botocore", "httpx"])
    assert str(raised.value) == "XRayDaemonProvider patches botocore only, not httpx, requests"


@pytest.mark.parametrize("how", ["patch", "patch_all"])
def test_a_provider_s_own_patch_records_calls_on_it(datagrams: list[bytes], how: str) -> None:
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    provider.patch(["botocore"]) if how == "patch" else provider.patch_all()
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    with Stubber(client) as stub:
        stub.add_response("list_tables", {"TableNames": []})
        client.list_tables()
    assert [d["aws"]["operation"] for d in documents(datagrams)] == ["ListTables"]


def test_a_failed_call_keeps_its_request_id(datagrams: list[bytes]) -> None:
    patch_botocore(XRayDaemonProvider(enabled=True, send=datagrams.append))
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1)
    with Stubber(client) as stub:
        stub.add_client_error("list_tables", "Busy", http_status_code=503, response_meta={"RequestId": "r-9"})
        with pytest.raises(client.exceptions.ClientError):
            client.list_tables()
    assert documents(datagrams)[0]["aws"]["request_id"] == "r-9"


def test_a_call_that_gets_no_answer_is_a_local_fault_without_a_status(datagrams: list[bytes]) -> None:
    # GIVEN an AWS call whose connection fails (no HTTP answer at all)
    from botocore.exceptions import EndpointConnectionError

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    patch_botocore(XRayDaemonProvider(enabled=True, send=datagrams.append))
    client = aws_client("dynamodb", region="eu-west-1", max_attempts=1, connect_timeout_s=2.5)
    client.meta.events.register("before-send.dynamodb", unreachable)
    with pytest.raises(EndpointConnectionError):
        client.list_tables()
    (doc,) = documents(datagrams)
    # THEN a fault (the service's side), not remote, with no HTTP status and no request id
    assert (doc["fault"], "error" in doc, "throttle" in doc, "http" in doc) == (True, False, False, False)
    assert doc["aws"]["request_id"] is None
    assert doc["cause"]["exceptions"][0]["remote"] is False


@pytest.mark.parametrize(("sampled", "parent_is_the_call"), [("1", True), ("0", False)])
def test_only_a_sampled_call_rewrites_the_request_s_trace_header(
    datagrams: list[bytes], monkeypatch: pytest.MonkeyPatch, sampled: str, parent_is_the_call: bool
) -> None:
    # GIVEN a function under a sampled or unsampled trace (botocore copies it into each request)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled={sampled}")
    provider = XRayDaemonProvider(enabled=True, send=datagrams.append)
    patch_botocore(provider)
    headers: list[str] = []
    with mock_aws():
        sqs = aws_client("sqs", region="eu-west-1", max_attempts=1, read_timeout_s=4.5)
        sqs.meta.events.register(
            "before-send.sqs", lambda request, **_: headers.append(request.headers["X-Amzn-Trace-Id"])
        )
        with provider.in_subsegment("## handler") as handler:
            sqs.list_queues()
    (header,) = [h.decode() if isinstance(h, bytes) else h for h in headers]
    # THEN sampled: the call's subsegment is the parent; unsampled: the header is left as botocore set it
    if parent_is_the_call:
        (call,) = [d for d in documents(datagrams) if d.get("namespace") == "aws"]
        assert header == f"Root={ROOT};Parent={call['id']};Sampled=1" and call["parent_id"] == handler.id
    else:
        assert (header, datagrams) == (f"Root={ROOT};Parent={PARENT};Sampled=0", [])
