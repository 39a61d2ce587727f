"""API Gateway's Velocity templates rendered by a Velocity engine (``airspeed-ext``), with the
``$input``, ``$util`` and ``$context`` objects API Gateway gives them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

__all__ = ["Input", "Util", "render", "render_gateway_response"]


class Util:
    """API Gateway's ``$util``, as its Java implementation answers."""

    def escapeJavaScript(self, value: Any) -> str:
        return json.dumps(str(value))[1:-1].replace("'", "\\'")

    def urlEncode(self, value: Any) -> str:
        return quote_plus(str(value))

    def urlDecode(self, value: Any) -> str:
        return unquote_plus(str(value))

    def base64Encode(self, value: Any) -> str:
        return base64.b64encode(str(value).encode()).decode()

    def base64Decode(self, value: Any) -> str:
        return base64.b64decode(str(value)).decode()

    def parseJson(self, value: Any) -> Any:
        return json.loads(str(value))


class _Params(dict[str, Any]):
    """``$input.params()``: a map, also callable with a name (path, then query, then header)."""

    def __call__(self, name: str | None = None) -> Any:
        if name is None:
            return self
        for where in ("path", "querystring", "header"):
            if name in self[where]:
                return self[where][name]
        return ""


class Input:
    """API Gateway's ``$input`` for one request (or, in a response template, the backend's answer)."""

    def __init__(
        self, body: str, path: Mapping[str, str], query: Mapping[str, str], headers: Mapping[str, str]
    ) -> None:
        self.body = body
        self._params = _Params(path=dict(path), querystring=dict(query), header=_Headers(headers))

    def params(self, name: str | None = None) -> Any:
        return self._params(name)

    def json(self, path: str = "$") -> str:
        return json.dumps(self._select(path))

    def path(self, path: str) -> Any:
        return self._select(path)

    def _select(self, path: str) -> Any:
        try:
            value: Any = json.loads(self.body or "null")
        except ValueError:
            value = None
        for part in [p for p in path.removeprefix("$").split(".") if p]:
            value = value.get(part) if isinstance(value, dict) else None
        return value


class _Headers(dict[str, str]):
    """Header names match without regard to case, as API Gateway matches them."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__(headers)
        self._lower = {k.lower(): v for k, v in headers.items()}

    def get(self, key: str, default: Any = None) -> Any:
        return self._lower.get(str(key).lower(), default)


def render(template: str, *, input_: Input, context: Mapping[str, Any]) -> str:
    import airspeed

    return str(airspeed.Template(template).merge({"input": input_, "util": Util(), "context": dict(context)}))


def render_gateway_response(template: str, message: str, request_id: str = "") -> str:
    context = {"requestId": request_id, "error": {"message": message, "messageString": json.dumps(message)}}
    return render(template, input_=Input("", {}, {}, {}), context=context)
