"""Deduplication records for the consumer's writes (deferral and DLQ copies), so a redelivered
message is not written twice: the ``DedupStore`` protocol and its DynamoDB implementation."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["DedupStore", "DynamoDBDedupStore"]


class DedupStore(Protocol):
    """Records the consumer's writes per message so that a redelivered message is not written twice."""

    def seen(self, keys: Sequence[str]) -> set[str]:
        """The keys among ``keys`` already recorded."""
        ...

    def mark(self, keys: Sequence[str]) -> None:
        """Record ``keys``."""
        ...


class DynamoDBDedupStore:
    """Deduplication records in a DynamoDB table keyed by ``pk`` (string), expiring through the
    table's TTL on ``expires_at``. Default ``ttl_s``: 86400 (a day: far past any redelivery of
    a batch that timed out, which comes back after the queue's visibility timeout)."""

    def __init__(
        self, table_name: str, client: Any, ttl_s: int = 86_400, clock: Callable[[], float] = time.time
    ) -> None:
        self.table_name, self.client, self.ttl_s, self.clock = table_name, client, ttl_s, clock

    def seen(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):  # BatchGetItem: 100 keys per request
            request = {
                self.table_name: {
                    "Keys": [{"pk": {"S": key}} for key in unique[start : start + 100]],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk",
                }
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                found.update(item["pk"]["S"] for item in response.get("Responses", {}).get(self.table_name, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def mark(self, keys: Sequence[str]) -> None:
        expires = str(int(self.clock()) + self.ttl_s)
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 25):  # BatchWriteItem: 25 items per request
            request: Any = {
                self.table_name: [
                    {"PutRequest": {"Item": {"pk": {"S": key}, "expires_at": {"N": expires}}}}
                    for key in unique[start : start + 25]
                ]
            }
            while request:
                request = self.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
