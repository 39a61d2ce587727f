"""The envelope fire-and-forget routes forward, and the sources of FIFO ids, for both flavours.

An async or queue route does not hand its target the bare body: the path parameters, query,
selected headers, request id and time would be lost (``PUT /orders/{order_id}`` would deliver
no ``order_id``). It forwards one JSON object instead, which
``handlers.resilience.envelope.read_envelope`` reads back from an SQS record or a Lambda event::

    {"envelope": "resilient-serverless/api-request@1", "route": "PUT /orders/{order_id}",
     "requestId": "...", "receivedAt": 1700000000000 (epoch ms),
     "path": {"order_id": "o-1"}, "query": {"priority": "high"},
     "headers": {"content-type": "application/json", "idempotency-key": null, ...},
     "body": <the client's JSON payload, unchanged>}

REST builds it with a VTL template that JSON-escapes every value (and URL-encodes the whole for
SQS's form API); ``query`` holds every query parameter. HTTP APIs have no templates: the message
body is a parameter mapping, values are inserted as API Gateway decoded them (not escaped: a
value holding a double quote makes the message unreadable, and the consumer dead-letters it with
the reason), ``query`` holds the names in ``forward_query``, and a missing header is ``""``.
Header names are lower case in the envelope on both flavours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from ..validation import Problems

ENVELOPE_VERSION = "resilient-serverless/api-request@1"
SOURCE = re.compile(r"^(path|header|body)\.([A-Za-z0-9_.-]+)$|^(request_id)$")
_ESCAPE = '.replaceAll("\\\\\'", "\'")'  # Java's escapeJavaScript writes \' which JSON refuses


@dataclass(frozen=True)
class IdSource:
    """Where a FIFO message group or deduplication id comes from."""

    kind: str  # path | header | body | request_id
    name: str

    def __str__(self) -> str:
        return self.kind if self.kind == "request_id" else f"{self.kind}.{self.name}"

    def rest(self) -> str:
        """A VTL expression for the value."""
        return {
            "path": f"$input.params().path.get('{self.name}')",
            "header": f"$input.params().header.get('{self.name}')",
            "body": f"$input.path('$.{self.name}')",
            "request_id": "$context.requestId",
        }[self.kind]

    def http(self) -> str:
        """An HTTP API parameter-mapping expression for the value."""
        return {
            "path": f"$request.path.{self.name}",
            "header": f"$request.header.{self.name.lower()}",
            "body": f"$request.body.{self.name}",
            "request_id": "$context.requestId",
        }[self.kind]


def check_source(p: Problems, key: str, value: object, path: str, *, request_id: bool) -> IdSource | None:
    """``path.<param>``, ``header.<Name>``, ``body.<field>`` (or ``request_id`` for dedup)."""
    match = SOURCE.match(str(value)) if isinstance(value, str) else None
    allowed = "path.<param>, header.<Name>, body.<field>" + (" or request_id" if request_id else "")
    if match is None or (match.group(3) and not request_id):
        p.add(f"{key}={value!r} must be {allowed}")
        return None
    if match.group(3):
        return IdSource("request_id", "")
    kind, name = match.group(1), match.group(2)
    if kind == "path" and f"{{{name}}}" not in path and f"{{{name}+}}" not in path:
        p.add(f"{key}={value!r} names no parameter of the path {path!r}")
        return None
    return IdSource(kind, name)


def _rest_parts(route_key: str, headers: Sequence[str]) -> list[tuple[str, str]]:
    """The REST envelope as (kind, text) parts: ``lit`` text, ``val`` a VTL value, ``dir`` a directive."""
    parts: list[tuple[str, str]] = [
        ("dir", "#set($rsPath = $input.params().path)#set($rsQuery = $input.params().querystring)"),
        ("dir", "#set($rsHeader = $input.params().header)"),
        ("lit", f'{{"envelope": "{ENVELOPE_VERSION}", "route": "{route_key}", "requestId": "'),
        ("val", "$context.requestId"),
        ("lit", '", "receivedAt": '),
        ("val", "$context.requestTimeEpoch"),
    ]
    for field, var in (("path", "$rsPath"), ("query", "$rsQuery")):
        parts += [
            ("lit", f', "{field}": {{'),
            ("dir", f"#foreach($rsKey in {var}.keySet())"),
            ("dir", f"#set($rsK = $util.escapeJavaScript($rsKey){_ESCAPE})"),
            ("dir", f"#set($rsV = $util.escapeJavaScript({var}.get($rsKey)){_ESCAPE})"),
            ("lit", '"'),
            ("val", "$rsK"),
            ("lit", '": "'),
            ("val", "$rsV"),
            ("lit", '"'),
            ("dir", "#if($foreach.hasNext)"),
            ("lit", ", "),
            ("dir", "#end#end"),
            ("lit", "}"),
        ]
    parts.append(("lit", ', "headers": {'))
    for i, header in enumerate(headers):
        parts += [
            ("lit", (", " if i else "") + f'"{header.lower()}": '),
            ("dir", f'#set($rsV = $rsHeader.get(\'{header}\'))#if("$!rsV" != "")'),
            ("dir", f"#set($rsV = $util.escapeJavaScript($rsV){_ESCAPE})"),
            ("lit", '"'),
            ("val", "$rsV"),
            ("lit", '"'),
            ("dir", "#{else}"),
            ("lit", "null"),
            ("dir", "#end"),
        ]
    parts += [("lit", '}, "body": '), ("val", "$input.json('$')"), ("lit", "}")]
    return parts


def rest_envelope_json(route_key: str, headers: Sequence[str]) -> str:
    """A request template whose output is the envelope (the event of an async Lambda)."""
    return "".join(text for _, text in _rest_parts(route_key, headers))


def rest_envelope_form(route_key: str, headers: Sequence[str]) -> str:
    """The envelope URL-encoded piece by piece, for SQS's form API (``MessageBody=...``)."""
    out = []
    for kind, text in _rest_parts(route_key, headers):
        if kind == "lit":
            out.append(quote(text, safe=""))
        elif kind == "val":
            out.append(f"$util.urlEncode({text})")
        else:
            out.append(text)
    return "".join(out)


def http_envelope(route_key: str, path: str, headers: Sequence[str], query: Sequence[str]) -> str:
    """The envelope as an HTTP API parameter mapping (``MessageBody``)."""
    params = re.findall(r"\{([A-Za-z0-9_]+)\+?\}", path)
    path_part = ", ".join(f'"{p}": "${{request.path.{p}}}"' for p in params)
    query_part = ", ".join(f'"{q}": "${{request.querystring.{q}}}"' for q in query)
    header_part = ", ".join(f'"{h.lower()}": "${{request.header.{h.lower()}}}"' for h in headers)
    return (
        f'{{"envelope": "{ENVELOPE_VERSION}", "route": "{route_key}", "requestId": "${{context.requestId}}", '
        f'"receivedAt": ${{context.requestTimeEpoch}}, "path": {{{path_part}}}, "query": {{{query_part}}}, '
        f'"headers": {{{header_part}}}, "body": ${{request.body}}}}'
    )
