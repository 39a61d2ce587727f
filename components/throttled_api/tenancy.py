"""The ``tenant`` of a queue route: where the caller's tenant comes from, sent as the message's
``MessageGroupId`` on a standard queue.

SQS fair queues (``aws_facts.SQS_FAIR_QUEUES``) need nothing on the queue: once messages carry a
``MessageGroupId``, a tenant that floods the queue is served after the quiet ones, so its backlog
stops adding to everyone else's dwell time. A FIFO target keeps its own ``group_id`` (the unit of
ordering there), so ``tenant`` is refused on one.

Forms:

- ``path.<param>``: a parameter of the route's path (``/tenants/{tenant_id}/orders``);
- ``header.<Name>``: a request header (trusted only behind auth: a caller can write any header);
- ``principal``: the authenticated caller: the IAM user or role ARN (``iam``), the token's ``sub``
  claim (``cognito`` on REST, ``jwt`` on HTTP), the Lambda authorizer's ``principalId``
  (``lambda``), or, on a REST route without auth behind usage plans, the caller's API key id;
- ``claim.<name>``: a claim of the caller's token (``cognito`` or ``jwt`` auth).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..validation import Problems
from .auth import Auth

__all__ = ["TENANT_FORMS", "TenantSource", "check_tenant"]

TENANT_FORMS = "path.<param>, header.<Name>, principal or claim.<name>"
_SOURCE = re.compile(r"^(path|header|claim)\.([A-Za-z0-9_.:-]+)$|^(principal)$")


@dataclass(frozen=True)
class TenantSource:
    """Where a route's tenant comes from, resolved against its auth."""

    kind: str  # path | header | claim | principal
    name: str
    """The parameter, header or claim; for ``principal``, the context variable it resolves to."""
    declared: str

    def __str__(self) -> str:
        return self.declared

    def rest(self) -> str:
        """A VTL expression for the value."""
        return {
            "path": f"$input.params().path.get('{self.name}')",
            "header": f"$input.params().header.get('{self.name}')",
            "claim": f"$context.authorizer.claims['{self.name}']",
            "principal": f"${self.name}",
        }[self.kind]

    def http(self) -> str:
        """An HTTP API parameter-mapping expression for the value."""
        return {
            "path": f"$request.path.{self.name}",
            "header": f"$request.header.{self.name.lower()}",
            "claim": f"$context.authorizer.claims.{self.name}",
            "principal": f"${self.name}",
        }[self.kind]


def _principal(auth: Auth | None, flavor: str, api_keys: bool) -> str | None:
    """The context variable naming the authenticated caller, or None when nobody is authenticated."""
    if auth is None:
        return "context.identity.apiKeyId" if flavor == "rest" and api_keys else None
    return {
        "iam": "context.identity.userArn",
        "cognito": "context.authorizer.claims.sub",
        "jwt": "context.authorizer.claims.sub",
        "lambda": "context.authorizer.principalId",
    }[auth.type]


def check_tenant(  # noqa: PLR0911 (one return per refused form, each after its message)
    p: Problems,
    key: str,
    value: object,
    *,
    path: str,
    mode: str,
    fifo: bool | None,
    auth: Auth | None,
    flavor: str,
    api_keys: bool,
) -> TenantSource | None:
    """The route's tenant source, or None after recording why it cannot be one."""
    if value is None:
        return None
    if mode != "queue":
        p.add(f"{key}={value!r}: tenant applies to queue routes (it becomes the message's MessageGroupId)")
        return None
    if fifo:
        p.add(
            f"{key}={value!r}: a FIFO queue takes its MessageGroupId from group_id (the unit of ordering); "
            "tenant applies to standard queues"
        )
        return None
    match = _SOURCE.match(value) if isinstance(value, str) else None
    if match is None or not isinstance(value, str):
        p.add(f"{key}={value!r} must be {TENANT_FORMS}")
        return None
    if match.group(3):
        variable = _principal(auth, flavor, api_keys)
        if variable is None:
            p.add(
                f"{key}={value!r} names the authenticated caller, and this route authenticates nobody: "
                "add auth (or usage_plans on REST), or use path.<param> or header.<Name>"
            )
            return None
        return TenantSource("principal", variable, value)
    kind, name = match.group(1), match.group(2)
    if kind == "path" and f"{{{name}}}" not in path and f"{{{name}+}}" not in path:
        p.add(f"{key}={value!r} names no parameter of the path {path!r}")
        return None
    if kind == "claim" and (auth is None or auth.type not in ("cognito", "jwt")):
        p.add(f"{key}={value!r} reads a token claim: it needs auth of type cognito (REST) or jwt (HTTP)")
        return None
    return TenantSource(kind, name, value)
