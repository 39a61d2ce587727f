"""What AsyncJobWorkflow's parts share: its settings and the children each part reads."""

from __future__ import annotations

import pulumi_aws as aws

from ..base import ResilientComponent
from ..resilient_function import ResilientFunction
from .validation import _Settings


class JobsCore(ResilientComponent):
    """The children one part creates and another reads (set in ``AsyncJobWorkflow.__init__``)."""

    settings: _Settings
    table: aws.dynamodb.Table
    idempotency_table: aws.dynamodb.Table
    bucket: aws.s3.Bucket
    state_machine: aws.sfn.StateMachine
    functions: dict[str, ResilientFunction]
    start_queue: aws.sqs.Queue | None
    start_dlq: aws.sqs.Queue | None
    webhook_queue: aws.sqs.Queue | None
    webhook_dlq: aws.sqs.Queue | None
    outcome_dlq: aws.sqs.Queue | None
