"""Small helpers every part of the local run shares."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["dumps", "function_arn"]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def function_arn(uri: str) -> str:
    # Lambda proxy URIs are the function ARN, or API Gateway's invoke path around it.
    found = re.search(r"(arn:[^:]+:lambda:[^:]+:\d+:function:[^/]+)", uri)
    return found.group(1) if found else uri
