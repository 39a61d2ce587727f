"""AsyncJobWorkflow's storage: the job and idempotency tables, the results bucket, the queues."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from .. import defaults
from ..blocks import dead_letter_queue, queue_with_dlq
from ..grants import policy_json
from ..queues import visibility_timeout_for
from .core import JobsCore


class JobStorage(JobsCore):
    """Where jobs, their inputs and results, and their queued starts and deliveries are kept."""

    def _on_demand_table(self, key: str, name: str, hash_key: str, ttl_attribute: str) -> aws.dynamodb.Table:
        """On demand, PITR, encryption and a TTL: what both of the workflow's tables need."""
        return self._child(
            key,
            aws.dynamodb.Table,
            name,
            {
                "name": self.physical("dynamodb", name),
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": hash_key,
                "attributes": [{"name": hash_key, "type": "S"}],
                "point_in_time_recovery": {"enabled": True},
                "server_side_encryption": {"enabled": True},
                "ttl": {"attribute_name": ttl_attribute, "enabled": True},
            },
        )

    def _create_table(self) -> aws.dynamodb.Table:
        return self._on_demand_table("table", "jobs", "job_id", "expires_at")

    def _create_idempotency_table(self) -> aws.dynamodb.Table:
        # The layout Powertools' DynamoDBPersistenceLayer expects: key "id", TTL on "expiration".
        return self._on_demand_table("idempotency_table", "idempotency", "id", "expiration")

    def _create_bucket(self) -> aws.s3.Bucket:
        s = self.settings
        bucket = self._child("bucket", aws.s3.Bucket, "results", {"bucket": self.physical("s3_bucket", "results")})
        self.bucket_encryption = self._child(
            "bucket_encryption",
            aws.s3.BucketServerSideEncryptionConfiguration,
            "results-encryption",
            {
                "bucket": bucket.id,
                "rules": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            },
        )
        self.bucket_public_access = self._child(
            "bucket_public_access",
            aws.s3.BucketPublicAccessBlock,
            "results-public-access",
            {
                "bucket": bucket.id,
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": True,
            },
        )
        deny_plain_http = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket.arn, bucket.arn.apply(lambda arn: f"{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        # The policy after the public access block: S3 refuses a policy it would consider public
        # while the block is being set, and a later `up` must not reorder them.
        self.bucket_policy = self._child(
            "bucket_policy",
            aws.s3.BucketPolicy,
            "results-policy",
            {"bucket": bucket.id, "policy": policy_json([deny_plain_http])},
            pulumi.ResourceOptions(depends_on=[self.bucket_public_access]),
        )
        self.bucket_lifecycle = self._child(
            "bucket_lifecycle",
            aws.s3.BucketLifecycleConfiguration,
            "results-lifecycle",
            {
                "bucket": bucket.id,
                "rules": [
                    {
                        "id": "expire-results",
                        "status": "Enabled",
                        "filter": {"prefix": "results/"},
                        "expiration": {"days": s.result_retention_days},
                    },
                    {
                        "id": "expire-inputs",
                        "status": "Enabled",
                        "filter": {"prefix": "inputs/"},
                        "expiration": {"days": defaults.JOB_INPUT_RETENTION_DAYS},
                    },
                    {
                        "id": "abort-incomplete-uploads",
                        "status": "Enabled",
                        "filter": {},
                        "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                    },
                ],
            },
        )
        return bucket

    def _queue_pair(self, role: str) -> tuple[aws.sqs.Queue, aws.sqs.Queue]:
        consumer_timeout_s = self.settings.functions.get("timeout", defaults.FUNCTION_TIMEOUT_S)
        dlq = dead_letter_queue(self, f"{role}-dlq")
        queue = queue_with_dlq(
            self,
            role,
            dlq,
            visibility_timeout_s=visibility_timeout_for(consumer_timeout_s, defaults.QUEUE_BATCHING_WINDOW_S),
            max_receive_count=(
                defaults.JOB_WEBHOOK_MAX_ATTEMPTS if role == "webhooks" else defaults.QUEUE_MAX_RECEIVE_COUNT
            ),
        )
        return queue, dlq
