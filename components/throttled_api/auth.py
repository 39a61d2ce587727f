"""Who may call a route: the ``auth`` route option, validated, and the authorizers it needs.

- ``{"type": "iam"}`` (both flavours): callers sign with SigV4 and need ``execute-api:Invoke`` on
  the route (``ThrottledApi.invoke_arn(method, path)``). Nothing to run or cache.
- ``{"type": "jwt", "issuer": ..., "audience": [...]}`` (HTTP): API Gateway checks the token's
  signature, issuer, audience, expiry and ``scopes``; no Lambda runs.
- ``{"type": "cognito", "user_pool_arns": [...]}`` (REST): a Cognito user pools authorizer;
  ``scopes`` checks OAuth scopes of access tokens.
- ``{"type": "lambda", "function": fn}`` (REST): a TOKEN authorizer running ``fn`` on the
  ``identity_source`` header; its answer is cached ``cache_ttl_s`` per token (Default: 300 s, at
  most 3600), so the function runs once per client per TTL, not per request.

Default: no ``auth`` (a public route; the ``api-write-route-guarded`` rule warns on a write
route that has neither auth nor a per-client limit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from .. import defaults
from ..resilient_function import ResilientFunction
from ..validation import Problems

AUTH_TYPES = {"rest": ("iam", "cognito", "lambda"), "http": ("iam", "jwt")}


class AuthArgs(TypedDict, total=False):
    type: str
    """``iam`` (both), ``jwt`` (HTTP), ``cognito`` or ``lambda`` (REST)."""
    issuer: str
    """jwt: the token issuer URL (``https://...``)."""
    audience: Sequence[str]
    """jwt: accepted audiences (client ids)."""
    user_pool_arns: Sequence[str]
    """cognito: the user pools whose tokens are accepted."""
    function: ResilientFunction
    """lambda: the authorizer function."""
    identity_source: str
    """jwt and lambda: where the token is. Default: the Authorization header."""
    scopes: Sequence[str]
    """jwt and cognito: scopes the token must carry (any of them). Default: none."""
    cache_ttl_s: int
    """cognito and lambda: seconds API Gateway caches an authorizer's answer per token.
    Default: 300."""


@dataclass(frozen=True)
class Auth:
    type: str
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    user_pool_arns: tuple[Any, ...] = ()
    function: ResilientFunction | None = None
    identity_source: str | None = None
    scopes: tuple[str, ...] = ()
    cache_ttl_s: int = defaults.API_AUTHORIZER_CACHE_TTL_S

    @property
    def key(self) -> str:
        """Routes with the same authorizer configuration share one authorizer."""
        fn = self.function._name if self.function is not None else ""
        pools = ",".join(str(p) for p in self.user_pool_arns)
        return f"{self.type}|{self.issuer}|{self.audience}|{pools}|{fn}|{self.identity_source}|{self.cache_ttl_s}"

    def describe(self) -> str:
        return {
            "iam": "IAM (SigV4)",
            "jwt": f"JWT from {self.issuer}",
            "cognito": f"Cognito user pools (cached {self.cache_ttl_s} s)",
            "lambda": f"Lambda authorizer {self.function._name if self.function else ''} (cached {self.cache_ttl_s} s)",
        }[self.type]


def check_auth(p: Problems, key: str, value: Any, flavor: str) -> Auth | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        p.add(f"{key}={value!r} must be a dict with a type ({' or '.join(AUTH_TYPES[flavor])} on {flavor.upper()})")
        return None
    p.check_known_keys(value, AuthArgs.__annotations__, what=f"{key} key")
    kind = value.get("type")
    if kind not in AUTH_TYPES[flavor]:
        other = "http" if flavor == "rest" else "rest"
        where = f" ({kind} is {other.upper()} only)" if kind in AUTH_TYPES[other] else ""
        p.add(f"{key}.type={kind!r} must be one of {', '.join(AUTH_TYPES[flavor])} on {flavor.upper()}{where}")
        return None
    return {"iam": _iam, "jwt": _jwt, "cognito": _cognito, "lambda": _lambda}[kind](p, key, value)


def _iam(p: Problems, key: str, value: Mapping[str, Any]) -> Auth:
    return Auth("iam")


def _jwt(p: Problems, key: str, value: Mapping[str, Any]) -> Auth:
    issuer, audience = value.get("issuer"), tuple(value.get("audience") or ())
    if not (isinstance(issuer, str) and issuer.startswith("https://")):
        p.add(f"{key}.issuer={issuer!r} must be the token issuer's https:// URL")
    if not audience:
        p.add(f"{key}.audience needs at least one accepted audience (client id)")
    source = value.get("identity_source", "$request.header.Authorization")
    return Auth(
        "jwt", issuer=issuer, audience=audience, identity_source=source, scopes=tuple(value.get("scopes") or ())
    )


def _cache_ttl(p: Problems, key: str, value: Mapping[str, Any]) -> int:
    ttl = value.get("cache_ttl_s", defaults.API_AUTHORIZER_CACHE_TTL_S)
    p.check_int_range(f"{key}.cache_ttl_s", ttl, 0, 3600, unit="seconds", why="API Gateway authorizer cache")
    return int(ttl) if isinstance(ttl, int) else defaults.API_AUTHORIZER_CACHE_TTL_S


def _cognito(p: Problems, key: str, value: Mapping[str, Any]) -> Auth:
    pools = tuple(value.get("user_pool_arns") or ())
    if not pools:
        p.add(f"{key}.user_pool_arns needs at least one Cognito user pool ARN")
    scopes = tuple(value.get("scopes") or ())
    return Auth("cognito", user_pool_arns=pools, scopes=scopes, cache_ttl_s=_cache_ttl(p, key, value))


def _lambda(p: Problems, key: str, value: Mapping[str, Any]) -> Auth | None:
    fn = value.get("function")
    ttl = _cache_ttl(p, key, value)
    if not isinstance(fn, ResilientFunction):
        p.add(f"{key}.function must be a ResilientFunction, got {type(fn).__name__}")
        return None
    source = value.get("identity_source", "method.request.header.Authorization")
    return Auth("lambda", function=fn, identity_source=source, cache_ttl_s=ttl)
