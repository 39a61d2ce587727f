"""Webhooks: callback URLs that are checked, verified, signed and delivered with bounded retries.

A callback URL must be HTTPS and its host must resolve only to public addresses: a URL that
resolves to a private, loopback, link-local (the instance metadata service), multicast or
reserved address is refused, so a caller cannot make the platform call into its own network.
Each send resolves the host once, checks every address, and connects to one of them (a second
lookup could answer 127.0.0.1: DNS rebinding); it never follows a redirect (a 3xx fails).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import SplitResult, urlsplit

if TYPE_CHECKING:
    import ssl

from .common import ANONYMOUS, ApiError, answer, client, config, error, now_iso, parse_json, parse_request, plain

__all__ = [
    "callback_addresses",
    "check_callback_url",
    "deliver",
    "dispatch_batch",
    "dispatch_handler",
    "is_public_address",
    "register",
    "register_handler",
]

URL_MAX: Final = 2048
Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})


RESOLVER: list[Resolver] = [_resolve]  # tests swap in a fake: no DNS leaves the machine


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


# Loopback is never a callback address. Only the tests of the real connection path, which run
# HTTPS servers on 127.0.0.1, set this; production code never does.
_ALLOW_LOOPBACK_FOR_TESTS = False


def _may_call(address: str) -> bool:
    if is_public_address(address):
        return True
    return _ALLOW_LOOPBACK_FOR_TESTS and ipaddress.ip_address(address.split("%", maxsplit=1)[0]).is_loopback


def callback_addresses(url: Any) -> tuple[SplitResult, list[str]]:
    """The URL's parts and the addresses its host resolves to now, every one of them public; an
    ``ApiError`` (400) naming the problem otherwise."""
    if not isinstance(url, str) or not 1 <= len(url) <= URL_MAX:
        raise ApiError(400, "invalid_callback_url", f"callback_url must be a string of 1 to {URL_MAX} characters")
    try:
        parts = urlsplit(url)  # raises ValueError for a malformed bracketed host ("https://[]")
    except ValueError as exc:
        raise ApiError(400, "invalid_callback_url", f"callback_url {url!r} is not a valid URL: {exc}") from exc
    if parts.scheme != "https":
        raise ApiError(400, "invalid_callback_url", f"callback_url {url!r} must use https")
    if not parts.hostname or parts.username or parts.password:
        raise ApiError(400, "invalid_callback_url", f"callback_url {url!r} needs a host and no credentials")
    try:
        port = parts.port or 443
        addresses = RESOLVER[0](parts.hostname, port)
    except (OSError, ValueError) as exc:
        raise ApiError(400, "invalid_callback_url", f"callback_url host {parts.hostname!r} does not resolve") from exc
    blocked = [a for a in addresses if not _may_call(a)]
    if not addresses or blocked:
        raise ApiError(
            400,
            "invalid_callback_url",
            f"callback_url host {parts.hostname!r} resolves to a non-public address {', '.join(blocked) or '(none)'}",
        )
    return parts, addresses


def check_callback_url(url: Any) -> str:
    """``url`` if it may be called back; an ``ApiError`` (400) naming the problem otherwise."""
    callback_addresses(url)
    return str(url)


# --- registration and verification ---------------------------------------------------------------
CHALLENGE_TIMEOUT_S: Final = 5.0
# A registration is a URL of at most URL_MAX characters and a flag: 8 KiB leaves room for JSON
# escapes, and keeps the cost of reading a body (API Gateway lets up to 10 MB through) small.
REGISTRATION_MAX_BYTES: Final = 8192
DELIVERY_TIMEOUT_S: Final = 5.0
# A delivery inlines the job's view when small; above this, the body carries a pre-signed URL.
INLINE_LIMIT_BYTES: Final = 65_536
BACKOFF_BASE_S: Final = 10.0
BACKOFF_CAP_S: Final = 900.0


class UnsafeDestination(OSError):
    """The URL's host resolves, now, to an address that may not be called."""


@functools.cache
def _pinned_connection() -> type[Any]:
    import http.client  # noqa: PLC0415 (only when a webhook is called)

    class PinnedHTTPSConnection(http.client.HTTPSConnection):
        """HTTPS to one given address: the TLS server name, the certificate's check and the Host
        header stay the URL's host, but no second DNS lookup can pick another address."""

        def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
            super().__init__(host, port, timeout=timeout, context=context)
            self.address, self.tls = address, context

        def connect(self) -> None:
            raw = socket.create_connection((self.address, self.port), self.timeout)
            self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)

    return PinnedHTTPSConnection


def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
    """POST once to an address the URL's host resolved to just now and that was checked. A 3xx is
    returned as it is, never followed: a redirect would lead anywhere, 127.0.0.1 and the instance
    metadata address included."""
    try:
        parts, addresses = callback_addresses(url)
    except ApiError as exc:
        raise UnsafeDestination(exc.message) from exc
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    import ssl  # noqa: PLC0415 (only when a webhook is called)

    context = ssl.create_default_context()
    for i, address in enumerate(addresses):
        connection = _pinned_connection()(parts.hostname, parts.port or 443, address, timeout_s, context)
        try:
            try:
                connection.connect()
            except OSError:
                if i + 1 < len(addresses):
                    continue  # the next address the host has; nothing was sent to this one
                raise
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            return int(response.status), response.read(4096)
        finally:
            connection.close()
    raise UnsafeDestination(f"callback_url host {parts.hostname!r} resolves to no address")


SENDER: list[Callable[[str, bytes, dict[str, str], float], tuple[int, bytes]]] = [_post]  # tests swap a fake in


def hook_key(owner: str, url: str) -> str:
    """The registry item's key in the job table (job ids are 22 URL-safe characters: no clash)."""
    digest = hashlib.sha256(f"{owner}\n{url}".encode()).hexdigest()[:40]
    return f"webhook#{digest}"


def default_hook_key(owner: str) -> str:
    return f"webhooks#{hashlib.sha256(owner.encode()).hexdigest()[:40]}"


def verify_endpoint(url: str) -> bool:
    """POST a challenge; the endpoint proves it wants our calls by echoing it back."""
    challenge = secrets.token_urlsafe(24)
    body = json.dumps({"type": "webhook.verification", "challenge": challenge}).encode()
    try:
        status, answer_body = SENDER[0](url, body, {"Content-Type": "application/json"}, CHALLENGE_TIMEOUT_S)
        echoed = json.loads(answer_body or b"{}").get("challenge")
    except UnsafeDestination as exc:
        # The host now resolves elsewhere than when the URL was checked: say so, not "no echo".
        raise ApiError(400, "invalid_callback_url", str(exc)) from exc
    except (OSError, ValueError, AttributeError):
        return False
    return 200 <= status < 300 and isinstance(echoed, str) and hmac.compare_digest(echoed, challenge)


def register(owner: str, body: Any) -> dict[str, Any]:
    """Register ``body['url']`` for this caller; the secret is in the answer and never again."""
    if not isinstance(body, dict) or set(body) - {"url", "all_jobs"} or "url" not in body:
        raise ApiError(400, "invalid_body", 'the body must be {"url": <https URL>, "all_jobs": <bool>}')
    url = check_callback_url(body["url"])
    all_jobs = body.get("all_jobs", False)
    if not isinstance(all_jobs, bool):
        raise ApiError(400, "invalid_body", f"all_jobs must be true or false, got {all_jobs!r}")
    if all_jobs and owner == ANONYMOUS:
        # Every unauthenticated caller is the one owner "anonymous": a hook on all its jobs would
        # receive every other anonymous client's results, pre-signed result URLs included.
        raise ApiError(
            422,
            "all_jobs_needs_identity",
            "all_jobs needs an authenticated caller: anonymous callers share one identity, so a hook on "
            "all of its jobs would receive every other anonymous client's; name this URL as callback_url "
            "on each submit instead",
        )
    if not verify_endpoint(url):
        raise ApiError(
            422, "verification_failed", f'{url!r} did not answer the challenge: it must echo {{"challenge": ...}}'
        )
    from ..resilience.webhooks import new_secret  # noqa: PLC0415

    secret = new_secret()
    cfg = config()
    ddb = client("dynamodb")
    key = hook_key(owner, url)
    item = {
        "job_id": {"S": key},
        "kind": {"S": "webhook"},
        "owner": {"S": owner},
        "url": {"S": url},
        "secret": {"S": secret},
        "verified_at": {"S": now_iso()},
    }
    ddb.put_item(TableName=cfg.table, Item=item)
    if all_jobs:
        ddb.put_item(
            TableName=cfg.table,
            Item={"job_id": {"S": default_hook_key(owner)}, "kind": {"S": "webhook-default"}, "hook": {"S": key}},
        )
    return {"url": url, "all_jobs": all_jobs, "verified": True, "secret": secret}


def verified_hook(owner: str, url: str) -> dict[str, Any] | None:
    item = (
        client("dynamodb").get_item(TableName=config().table, Key={"job_id": {"S": hook_key(owner, url)}}).get("Item")
    )
    return plain(item) if item and item.get("owner", {}).get("S") == owner and "verified_at" in item else None


def register_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        request = parse_request(event)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(
                400, "unsupported_content_type", f"Content-Type {content_type or '(none)'!r} must be application/json"
            )
        size = len(request.body or b"")
        if size > REGISTRATION_MAX_BYTES:
            raise ApiError(
                400, "body_too_large", f"the body has {size} bytes; at most {REGISTRATION_MAX_BYTES} are accepted"
            )
        return answer(201, register(request.caller, parse_json(request.body)))
    except ApiError as exc:
        return error(exc)
    except (ClientError, BotoCoreError):
        return error(ApiError(503, "unavailable", "the registry is unavailable; retry later", {"Retry-After": "1"}))


# --- delivery --------------------------------------------------------------------------------------
class DeliveryFailed(Exception):
    pass


def _payload(job: dict[str, Any], delivery_id: str) -> bytes:
    """The delivery's body; it carries the delivery id (signed, with the body, in the headers)."""
    from .result import result_url  # noqa: PLC0415
    from .status import view  # noqa: PLC0415

    body = view(job)
    if body["status"] == "succeeded":
        try:
            body["result"] = result_url(job)
        except ApiError:
            body["result"] = None
    encoded = json.dumps({"type": "job.finished", "id": delivery_id, "job": body}, sort_keys=True).encode()
    if len(encoded) > INLINE_LIMIT_BYTES:
        # Too large to inline (a long error cause): the receiver fetches the status instead.
        slim = {k: body[k] for k in ("job_id", "status", "links") if k in body}
        encoded = json.dumps(
            {"type": "job.finished", "id": delivery_id, "job": slim, "truncated": True}, sort_keys=True
        ).encode()
    return encoded


def targets(job: dict[str, Any]) -> list[dict[str, Any]]:
    owner = str(job.get("owner") or ANONYMOUS)
    hooks = []
    if job.get("callback_url"):
        hook = verified_hook(owner, str(job["callback_url"]))
        if hook:
            hooks.append(hook)
    if owner == ANONYMOUS:
        return hooks  # anonymous callers have per-job hooks only (a default hook may predate that rule)
    default = client("dynamodb").get_item(TableName=config().table, Key={"job_id": {"S": default_hook_key(owner)}})
    pointer = default.get("Item", {}).get("hook", {}).get("S")
    if pointer:
        item = client("dynamodb").get_item(TableName=config().table, Key={"job_id": {"S": pointer}}).get("Item")
        if item and plain(item)["url"] not in {h["url"] for h in hooks}:
            hooks.append(plain(item))
    return hooks


def deliver(job_id: str, delivery_id: str, now: float | None = None) -> int:
    """Send the job's final status to each verified hook; raise ``DeliveryFailed`` if one refused.
    ``delivery_id`` is the same on every retry of this notice: receivers deduplicate on it."""
    from ..resilience.webhooks import signed_headers  # noqa: PLC0415

    item = client("dynamodb").get_item(TableName=config().table, Key={"job_id": {"S": job_id}}).get("Item")
    if item is None:
        return 0  # expired by TTL: nothing left to announce
    job = plain(item)
    body = _payload(job, delivery_id)
    failures = []
    hooks = targets(job)
    for hook in hooks:
        headers = {"Content-Type": "application/json", **signed_headers(hook["secret"], delivery_id, body, now)}
        try:
            status, _ = SENDER[0](hook["url"], body, headers, DELIVERY_TIMEOUT_S)
        except OSError as exc:
            failures.append(f"{hook['url']} was not reached: {exc}")
            continue
        if not 200 <= status < 300:
            failures.append(f"{hook['url']} answered {status}")
    if failures:
        raise DeliveryFailed("; ".join(failures))
    return len(hooks)


def dispatch_batch(records: list[dict[str, Any]], rand: Callable[[], float] | None = None) -> dict[str, Any]:
    """One SQS batch of ``{job_id, status}`` notices. A failed delivery stays on the queue and comes
    back after a full-jitter backoff (10 s doubling to 15 min); after 5 receives SQS moves it to the
    DLQ, whose alarm calls an operator."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from ..resilience.backoff import full_jitter_delay  # noqa: PLC0415

    failures = []
    for record in records:
        try:
            notice = json.loads(record["body"])
            deliver(str(notice["job_id"]), record["messageId"])
        except (DeliveryFailed, ApiError, ClientError, BotoCoreError, ValueError, KeyError, TypeError):
            failures.append({"itemIdentifier": record["messageId"]})
            attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            delay = full_jitter_delay(max(attempt - 1, 0), BACKOFF_BASE_S, BACKOFF_CAP_S, *([rand] if rand else []))
            queue_url = _queue_url(record.get("eventSourceARN", ""))
            if queue_url:
                with contextlib.suppress(ClientError, BotoCoreError):
                    client("sqs").change_message_visibility(
                        QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=max(1, int(delay))
                    )
    return {"batchItemFailures": failures}


def _queue_url(arn: str) -> str | None:
    parts = arn.split(":")
    if len(parts) != 6:
        return None
    return f"https://sqs.{parts[3]}.amazonaws.com/{parts[4]}/{parts[5]}"


def dispatch_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dispatch_batch(event.get("Records") or [])
