"""The two tables the push functions use.

Connections (owned by WebSocketNotifier): ``connection_id`` -> ``bound_job_id`` (token connects),
``job_id`` (set only by a valid subscribe: the sparse ``by-job`` index lists whom to notify),
``expires_at`` (TTL at the 2-hour connection limit). A ``revoked#<job id>`` item marks a job
whose token may no longer open a subscription (a subscriber of it disconnected); it has no
``job_id``, so it is never in the index.

Jobs (owned by AsyncJobWorkflow): the notifier reads the token fields and writes only
``push_task_token`` and ``push_subscribed_at``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["CONNECTION_TTL_S", "JOB_INDEX", "Connections", "Jobs", "is_conditional_failure"]

CONNECTION_TTL_S = 7200  # API Gateway closes every WebSocket connection after 2 hours
JOB_INDEX = "by-job"


def is_conditional_failure(error: BaseException) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass
class Connections:
    dynamodb: Any
    table: str

    def admit(self, connection_id: str, now: float, bound_job_id: str | None, principal: str | None) -> None:
        item: dict[str, Any] = {
            "connection_id": {"S": connection_id},
            "connected_at": {"N": str(int(now))},
            "expires_at": {"N": str(int(now) + CONNECTION_TTL_S)},
        }
        if bound_job_id:
            item["bound_job_id"] = {"S": bound_job_id}
        if principal:
            item["principal"] = {"S": principal}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def get(self, connection_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={"connection_id": {"S": connection_id}}, ConsistentRead=True
        ).get("Item")
        return item if isinstance(item, dict) else None

    def subscribe(self, connection_id: str, job_id: str) -> bool:
        """Put the connection in the job's index; False when it is gone meanwhile."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"connection_id": {"S": connection_id}},
                UpdateExpression="SET job_id = :job",
                ConditionExpression="attribute_exists(connection_id)",
                ExpressionAttributeValues={":job": {"S": job_id}},
            )
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    def remove(self, connection_id: str) -> dict[str, Any] | None:
        """Delete the connection; its item as it was, or None when there was none."""
        old = self.dynamodb.delete_item(
            TableName=self.table, Key={"connection_id": {"S": connection_id}}, ReturnValues="ALL_OLD"
        ).get("Attributes")
        return old if isinstance(old, dict) else None

    def revoke(self, job_id: str, until: float) -> None:
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "connection_id": {"S": f"revoked#{job_id}"},
                "revoked_job_id": {"S": job_id},
                "expires_at": {"N": str(int(until))},
            },
        )

    def is_revoked(self, job_id: str, now: float) -> bool:
        item = self.get(f"revoked#{job_id}")
        # DynamoDB's TTL deletes within days, not at once: an item past its time no longer counts.
        return item is not None and float(item.get("expires_at", {}).get("N", "0")) > now

    def subscribers(self, job_id: str) -> Iterator[str]:
        """Connection ids subscribed to ``job_id`` (the index is eventually consistent)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": JOB_INDEX,
            "KeyConditionExpression": "job_id = :job",
            "ExpressionAttributeValues": {":job": {"S": job_id}},
        }
        while True:
            page = self.dynamodb.query(**kwargs)
            for item in page.get("Items", []):
                yield item["connection_id"]["S"]
            if not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class Jobs:
    dynamodb: Any
    table: str

    def get(self, job_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.table, Key={"job_id": {"S": job_id}}, ConsistentRead=True).get(
            "Item"
        )
        return item if isinstance(item, dict) else None

    def mark_subscribed(self, job_id: str, now: float) -> dict[str, Any]:
        """Record the first subscription; the item after the write (with any parked task token)."""
        return self.dynamodb.update_item(
            TableName=self.table,
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET push_subscribed_at = if_not_exists(push_subscribed_at, :now)",
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeValues={":now": {"N": str(int(now))}},
            ReturnValues="ALL_NEW",
        )["Attributes"]

    def park(self, job_id: str, task_token: str) -> dict[str, Any]:
        """Store the workflow's task token on a job that asked for push; the item after the write.
        Raises ConditionalCheckFailed when the job is unknown or did not ask for push."""
        return self.dynamodb.update_item(
            TableName=self.table,
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET push_task_token = :token",
            ConditionExpression="attribute_exists(push_token_sha256)",
            ExpressionAttributeValues={":token": {"S": task_token}},
            ReturnValues="ALL_NEW",
        )["Attributes"]

    def claim_task_token(self, job_id: str, task_token: str) -> bool:
        """Take the parked token off the job; only the caller that takes it releases the workflow,
        so a subscribe racing a park sends the task success exactly once."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"job_id": {"S": job_id}},
                UpdateExpression="REMOVE push_task_token",
                ConditionExpression="push_task_token = :token",
                ExpressionAttributeValues={":token": {"S": task_token}},
            )
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True
