"""The real webhook send path against HTTPS servers on 127.0.0.1 (certificates from a test CA the
client trusts through SSL_CERT_FILE): redirects are never followed, the host is resolved once and
the checked address is the one connected to, with the URL's host as TLS server name, certificate
name and Host header. Loopback is reachable only through the test-only switch."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .conftest import JobsAws, api_event
from .test_webhook_registration_and_delivery import JOB, record


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def issue(tmp: Path, names: list[str]) -> tuple[Path, Path, Path]:
    """A test CA, and a certificate for ``names`` signed by it: (CA file, certificate, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("webhook test CA"))
        .issuer_name(_name("webhook test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class Receiver:
    """An HTTPS server on 127.0.0.1: records every request (and the TLS server name asked for),
    echoes challenges on /hook, or redirects /hook to /steal when told to."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.requests: list[dict[str, Any]] = []
        self.server_names: list[str | None] = []
        self.redirect: int | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.requests.append(
                    {"method": self.command, "path": self.path, "host": self.headers["Host"], "body": body}
                )
                if self.path.startswith("/hook") and receiver.redirect:
                    self.send_response(receiver.redirect)
                    self.send_header("Location", f"https://localhost:{receiver.port}/steal")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    challenge = json.loads(body or b"{}").get("challenge")
                except ValueError:
                    challenge = None
                answer = json.dumps({"challenge": challenge or "(none)"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = _answer

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: receiver.server_names.append(name)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def paths(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.requests]


def serve(tmp: Path, monkeypatch: pytest.MonkeyPatch, names: list[str]) -> Iterator[Receiver]:
    ca, cert, key = issue(tmp, names)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the client's default context trusts the test CA
    receiver = Receiver(cert, key)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    yield from serve(tmp_path, monkeypatch, ["hooks.example.com", "localhost"])


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.jobs import webhooks

    monkeypatch.setattr(webhooks, "_ALLOW_LOOPBACK_FOR_TESTS", True, raising=False)
    monkeypatch.setattr(webhooks, "RESOLVER", [lambda host, port: ["127.0.0.1"]])


def post(url: str, body: bytes = b'{"type": "job.finished"}') -> tuple[int, bytes]:
    from handlers.jobs import webhooks

    return webhooks._post(url, body, {"Content-Type": "application/json"}, 5.0)


# --- redirects -------------------------------------------------------------------------------------
@pytest.mark.parametrize("redirect", [301, 302, 303, 307, 308])
def test_a_redirect_is_returned_as_the_answer_and_never_followed(
    receiver: Receiver, loopback_allowed: None, redirect: int
) -> None:
    # GIVEN a receiver answering a redirect to another place WHEN a delivery is sent
    receiver.redirect = redirect
    status, _ = post(f"https://localhost:{receiver.port}/hook")
    # THEN the answer is the 3xx and the redirect's target never sees a request
    assert status == redirect
    assert receiver.paths() == [("POST", "/hook")]


def test_a_redirect_fails_the_registration_challenge_without_reaching_the_target(
    receiver: Receiver, loopback_allowed: None
) -> None:
    from handlers.jobs.webhooks import verify_endpoint

    receiver.redirect = 302
    assert verify_endpoint(f"https://localhost:{receiver.port}/hook") is False
    assert receiver.paths() == [("POST", "/hook")]


def test_a_302_delivery_counts_as_failed(jobs_aws: JobsAws, receiver: Receiver, loopback_allowed: None) -> None:
    from handlers.jobs.webhooks import dispatch_batch, register_handler

    # GIVEN a hook registered on a receiver that answered the challenge
    url = f"https://hooks.example.com:{receiver.port}/hook"
    event = api_event("POST", "/jobs/webhooks", body={"url": url, "all_jobs": True}, caller="key-a")
    assert register_handler(event, None)["statusCode"] == 201
    jobs_aws.put_job(JOB, "failed", owner="key-a")
    # WHEN the receiver answers the delivery with a 302
    receiver.redirect = 302
    # THEN the notice stays on the queue for a retry, and the redirect's target saw nothing
    assert dispatch_batch([record()]) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert receiver.paths() == [("POST", "/hook"), ("POST", "/hook")]


# --- one resolution, the checked address connected to ---------------------------------------------
def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_called(
    jobs_aws: JobsAws, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.jobs import webhooks

    # GIVEN a host whose first answer is public and whose second is 127.0.0.1 (the receiver's address)
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    monkeypatch.setattr(webhooks, "RESOLVER", [lambda host, port: next(answers)])
    # WHEN it is registered (the URL check, then the challenge's send)
    event = api_event("POST", "/jobs/webhooks", body={"url": f"https://localhost:{receiver.port}/hook"}, caller="key-a")
    response = webhooks.register_handler(event, None)
    # THEN the challenge goes nowhere: the send resolved again, found loopback, and refused it
    assert (response["statusCode"], json.loads(response["body"])["error"]) == (
        400,
        {
            "code": "invalid_callback_url",
            "message": "callback_url host 'localhost' resolves to a non-public address 127.0.0.1",
        },
    )
    assert receiver.requests == []


def test_every_resolved_address_is_checked_before_any_connection(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.jobs import webhooks

    monkeypatch.setattr(webhooks, "RESOLVER", [lambda host, port: ["93.184.216.34", "127.0.0.1"]])
    with pytest.raises(webhooks.UnsafeDestination) as raised:
        post(f"https://localhost:{receiver.port}/hook")
    assert str(raised.value) == "callback_url host 'localhost' resolves to a non-public address 127.0.0.1"
    assert receiver.requests == []


def test_the_connection_goes_to_the_resolved_address_with_the_urls_host_as_server_name_and_host_header(
    receiver: Receiver, loopback_allowed: None
) -> None:
    # GIVEN a host no real DNS knows, resolved (by the injected resolver) to the receiver's address
    url = f"https://hooks.example.com:{receiver.port}/hook?tenant=7"
    # WHEN a delivery is sent THEN it arrives, over TLS for the URL's host, with its Host header
    status, _ = post(url, b'{"challenge": "c-1"}')
    assert status == 200
    assert receiver.server_names == ["hooks.example.com"]
    assert [(r["path"], r["host"], r["body"]) for r in receiver.requests] == [
        ("/hook?tenant=7", f"hooks.example.com:{receiver.port}", b'{"challenge": "c-1"}')
    ]


def test_a_certificate_for_another_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_allowed: None
) -> None:
    # GIVEN a receiver at the resolved address whose certificate names another host
    for other in serve(tmp_path, monkeypatch, ["other.example"]):
        # WHEN a delivery to hooks.example.com is sent THEN the certificate check refuses it
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            post(f"https://hooks.example.com:{other.port}/hook")
        assert other.requests == []


def test_loopback_is_refused_unless_the_test_only_switch_is_set() -> None:
    from handlers.jobs import webhooks

    assert webhooks._ALLOW_LOOPBACK_FOR_TESTS is False
    assert not webhooks._may_call("127.0.0.1") and not webhooks._may_call(str(ipaddress.ip_address("::1")))
