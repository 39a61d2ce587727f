"""Webhooks: callback URLs that are checked, verified, signed and delivered with bounded retries.

A callback URL must be HTTPS and its host must resolve only to public addresses: a URL that
resolves to a private, loopback, link-local (the instance metadata service), multicast or
reserved address is refused, so a caller cannot make the platform call into its own network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from .common import ApiError

__all__ = ["check_callback_url", "is_public_address"]

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


def check_callback_url(url: Any) -> str:
    """``url`` if it may be called back; an ``ApiError`` (400) naming the problem otherwise."""
    if not isinstance(url, str) or not 1 <= len(url) <= URL_MAX:
        raise ApiError(400, "invalid_callback_url", f"callback_url must be a string of 1 to {URL_MAX} characters")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise ApiError(400, "invalid_callback_url", f"callback_url {url!r} must use https")
    if not parts.hostname or parts.username or parts.password:
        raise ApiError(400, "invalid_callback_url", f"callback_url {url!r} needs a host and no credentials")
    try:
        port = parts.port or 443
        addresses = RESOLVER[0](parts.hostname, port)
    except (OSError, ValueError) as exc:
        raise ApiError(400, "invalid_callback_url", f"callback_url host {parts.hostname!r} does not resolve") from exc
    blocked = [a for a in addresses if not is_public_address(a)]
    if not addresses or blocked:
        raise ApiError(
            400,
            "invalid_callback_url",
            f"callback_url host {parts.hostname!r} resolves to a non-public address {', '.join(blocked) or '(none)'}",
        )
    return url
