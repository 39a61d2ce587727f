"""The two tables the push functions use.

Connections (owned by WebSocketNotifier): ``connection_id`` -> ``bound_job_id`` (token connects),
``job_id`` (set once a valid subscribe went through), ``expires_at`` (TTL at the 2-hour connection
limit). A ``token#<job id>`` item holds the one connection a job's push token opened: a second
connection presenting the same token (a replayed copy) is refused while the claim lives, which is
at least as long as the first connection can live.

Jobs (owned by AsyncJobWorkflow): the notifier reads the job (status, result, token fields) and
writes only ``push_connections`` (who to tell when the job ends) and ``push_subscribed_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CONNECTION_TTL_S",
    "NO_JOB_TABLE",
    "TERMINAL",
    "Connections",
    "Jobs",
    "is_conditional_failure",
    "status_of",
    "subscribers_of",
]

CONNECTION_TTL_S: Final = 7200  # API Gateway closes every WebSocket connection after 2 hours
# JOBS_TABLE of a notifier no AsyncJobWorkflow bound: not a valid DynamoDB table name (parentheses),
# so it can never name a real table. WebSocketNotifier writes the same literal.
NO_JOB_TABLE: Final = "(none)"
# The statuses a job never leaves (AsyncJobWorkflow's job table).
TERMINAL: Final = ("succeeded", "failed", "timed_out", "cancelled")


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

    def claim_token(self, job_id: str, connection_id: str, now: float, until: float) -> bool:
        """Make ``connection_id`` the one connection of the job's push token; False when another
        connection holds it. A conditional write, so two connects racing with one token cannot
        both win. The claim is never given back: a token that opened a connection opens no other."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "connection_id": {"S": f"token#{job_id}"},
                    "holder": {"S": connection_id},
                    "expires_at": {"N": str(int(until))},
                },
                # DynamoDB's TTL deletes within days, not at once: a claim past its time is free.
                ConditionExpression="attribute_not_exists(holder) OR holder = :me OR expires_at < :now",
                ExpressionAttributeValues={":me": {"S": connection_id}, ":now": {"N": str(int(now))}},
            )
        except Exception as error:
            if is_conditional_failure(error):
                return False
            raise
        return True

    def subscribe(self, connection_id: str, job_id: str) -> bool:
        """Record the subscription on the connection; False when it is gone meanwhile."""
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


@dataclass
class Jobs:
    dynamodb: Any
    table: str

    @property
    def bound(self) -> bool:
        """False for a notifier no workflow bound to a job table: it serves no job results."""
        return self.table not in ("", NO_JOB_TABLE)

    def get(self, job_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.table, Key={"job_id": {"S": job_id}}, ConsistentRead=True).get(
            "Item"
        )
        return item if isinstance(item, dict) else None

    def add_subscriber(self, job_id: str, connection_id: str, now: float) -> dict[str, Any] | None:
        """Add the connection to the job's subscribers; the job as it is after that write (one
        atomic write-then-read), or None when the job is gone.

        The workflow records a terminal status, then reads the subscribers: whichever of the two
        writes comes second sees the other, so a subscriber is never missed (it may be told twice).
        """
        try:
            return dict(
                self.dynamodb.update_item(
                    TableName=self.table,
                    Key={"job_id": {"S": job_id}},
                    UpdateExpression="ADD push_connections :c SET push_subscribed_at = if_not_exists("
                    "push_subscribed_at, :now)",
                    ConditionExpression="attribute_exists(job_id)",
                    ExpressionAttributeValues={":c": {"SS": [connection_id]}, ":now": {"N": str(int(now))}},
                    ReturnValues="ALL_NEW",
                )["Attributes"]
            )
        except Exception as error:
            if is_conditional_failure(error):
                return None
            raise

    def remove_subscriber(self, job_id: str, connection_id: str) -> None:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"job_id": {"S": job_id}},
                UpdateExpression="DELETE push_connections :c",
                ConditionExpression="attribute_exists(job_id)",  # never create a job by removing from it
                ExpressionAttributeValues={":c": {"SS": [connection_id]}},
            )
        except Exception as error:
            if not is_conditional_failure(error):
                raise


def subscribers_of(job: dict[str, Any]) -> list[str]:
    """The connections subscribed to ``job`` (a DynamoDB item), sorted."""
    return sorted((job.get("push_connections") or {}).get("SS") or [])


def status_of(job: dict[str, Any]) -> str:
    return str((job.get("status") or {}).get("S", ""))
