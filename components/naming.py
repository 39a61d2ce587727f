"""Physical names: ``<project>-<stack>-<name>``, cleaned to each service's charset and cut to its
length limit with a stable hash suffix, so two long names never collide and a name never changes
between runs.

Explicit names (rather than Pulumi's random suffixes) let a function know its log group
(``/aws/lambda/<name>``) before it exists and let an operator find a stack's resources by prefix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["NAME_RULES", "NameKind", "NameRule", "physical_name"]

NameKind = Literal[
    "lambda",
    "sqs",
    "sns",
    "iam_role",
    "iam_policy",
    "log_group",
    "state_machine",
    "dynamodb",
    "alarm",
    "api",
    "s3_bucket",
    "canary",
    "dashboard",
]
HASH_LENGTH: Final = 8


@dataclass(frozen=True)
class NameRule:
    max_length: int
    invalid: re.Pattern[str]
    lowercase: bool = False
    fifo_suffix: bool = False  # ".fifo" counts against the limit


NAME_RULES: Final[dict[str, NameRule]] = {
    "lambda": NameRule(64, re.compile(r"[^A-Za-z0-9_-]")),
    "sqs": NameRule(80, re.compile(r"[^A-Za-z0-9_-]"), fifo_suffix=True),
    "sns": NameRule(256, re.compile(r"[^A-Za-z0-9_-]"), fifo_suffix=True),
    "iam_role": NameRule(64, re.compile(r"[^\w+=,.@-]")),
    "iam_policy": NameRule(128, re.compile(r"[^\w+=,.@-]")),
    "log_group": NameRule(512, re.compile(r"[^A-Za-z0-9._/#-]")),
    "state_machine": NameRule(80, re.compile(r"[^A-Za-z0-9_-]")),
    "dynamodb": NameRule(255, re.compile(r"[^A-Za-z0-9_.-]")),
    "alarm": NameRule(255, re.compile(r"[^A-Za-z0-9_. /:-]")),
    "api": NameRule(128, re.compile(r"[^A-Za-z0-9_. -]")),
    "s3_bucket": NameRule(63, re.compile(r"[^a-z0-9-]"), lowercase=True),
    "canary": NameRule(21, re.compile(r"[^a-z0-9_-]"), lowercase=True),
    "dashboard": NameRule(255, re.compile(r"[^A-Za-z0-9_-]")),
}


def physical_name(kind: NameKind, *parts: str, fifo: bool = False) -> str:
    """Join ``parts`` with ``-`` into a valid, stable physical name for ``kind``.

    Invalid characters become ``-``. A name longer than the limit keeps its head and ends in
    ``-`` plus the first 8 hex digits of the SHA-256 of the full cleaned name. With ``fifo``
    (SQS, SNS) the name ends in ``.fifo`` and the suffix counts against the limit.
    """
    rule = NAME_RULES[kind]
    if fifo and not rule.fifo_suffix:
        raise ValueError(f"fifo=True is only valid for sqs and sns names, not {kind!r}")
    raw = "-".join(p for p in parts if p)
    if rule.lowercase:
        raw = raw.lower()
    cleaned = rule.invalid.sub("-", raw)
    if not cleaned:
        raise ValueError(f"a {kind} name needs at least one valid character, got {raw!r}")
    suffix = ".fifo" if fifo else ""
    budget = rule.max_length - len(suffix)
    if len(cleaned) > budget:
        digest = hashlib.sha256(cleaned.encode()).hexdigest()[:HASH_LENGTH]
        cleaned = f"{cleaned[: budget - HASH_LENGTH - 1]}-{digest}"
    return cleaned + suffix
