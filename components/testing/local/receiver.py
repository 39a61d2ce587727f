"""A webhook receiver for a local run: an HTTPS server on 127.0.0.1 behind a public-looking name.

The job webhook sender refuses plain HTTP and any host that resolves to a private or loopback
address (its defence against server-side request forgery), and that defence stays on in a local
run. So a receiver gets a host name of its own (``receiver-<n>.webhooks.example.com``) whose DNS
answer is a public address, and the runner's local network routes that address to the server:
the name, the address, the route and the receiver's CA reach the handler processes through the
runner's protocol (``bootstrap.py`` installs them), never through the function's environment.
A callback URL on 127.0.0.1 still resolves to 127.0.0.1, and is still refused.
"""

from __future__ import annotations

import datetime
import json
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Delivery", "WebhookReceiver"]

# Public (``ipaddress.ip_address(...).is_global``) and never reached: the local network answers
# it with the receiver's 127.0.0.1 port, so nothing leaves the machine.
PUBLIC_NET = "11.0.0."


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver took: the path, the headers (lower-case names) and the raw body."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTPS endpoint that answers the registration challenge (it echoes ``challenge``) and
    keeps every other POST in ``deliveries``, answering ``status`` (200 unless a test sets it),
    or 503 to the next ``fail_next`` of them (a receiver down for a while)."""

    host: str
    address: str
    ca_pem: str
    status: int = 200
    fail_next: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    challenges: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}/hooks"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def route(self) -> dict[str, Any]:
        """What the handlers' local network needs: the name's answer, where it leads, whom to trust."""
        return {
            "host": self.host,
            "address": self.address,
            "port": 443,
            "to": ["127.0.0.1", self.port],
            "ca": self.ca_pem,
        }

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def start_receiver(index: int) -> WebhookReceiver:
    host = f"receiver-{index}.webhooks.example.com"
    ca_pem, cert_pem, key_pem = _certificates(host)
    receiver = WebhookReceiver(host=host, address=f"{PUBLIC_NET}{index % 250 + 1}", ca_pem=ca_pem)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="receiver-") as work:
        chain = Path(work) / "chain.pem"
        key = Path(work) / "key.pem"
        chain.write_text(cert_pem + ca_pem)
        key.write_text(key_pem)
        context.load_cert_chain(str(chain), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    receiver._server = server
    threading.Thread(target=server.serve_forever, name=f"webhook-receiver-{index}", daemon=True).start()
    return receiver


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            delivery = Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            try:
                parsed = delivery.json()
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and parsed.get("type") == "webhook.verification":
                receiver.challenges.append(delivery)
                self._answer(200, json.dumps({"challenge": parsed.get("challenge")}).encode())
                return
            receiver.deliveries.append(delivery)
            if receiver.fail_next > 0:
                receiver.fail_next -= 1
                self._answer(503, b"{}")
                return
            self._answer(receiver.status, b"{}")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def _certificates(host: str) -> tuple[str, str, str]:
    """A CA of the receiver's own and a server certificate for ``host`` it signed (PEM: CA
    certificate, server certificate, server key); Python's default TLS checks (strict X.509)
    accept the pair once the CA is trusted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    # Valid for years: the run's clock may be advanced far past today.
    until = now + datetime.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"local run CA for {host}")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return ca.public_bytes(pem).decode(), cert.public_bytes(pem).decode(), key_pem
