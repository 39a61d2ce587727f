"""What the tests that render the APIs' mapping templates with airspeed share."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus


class VtlUtil:
    """API Gateway's $util, as Java implements it."""

    def escapeJavaScript(self, value: Any) -> str:
        return json.dumps(str(value))[1:-1].replace("'", "\\'")

    def urlEncode(self, value: Any) -> str:
        return quote_plus(str(value))
