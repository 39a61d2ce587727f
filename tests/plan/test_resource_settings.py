"""The settings the plan shows per resource, read from its inputs as AWS reads them."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from resilient_serverless.components.plan import SETTINGS
from resilient_serverless.components.testing import run_program


def test_the_plan_shows_a_kms_encrypted_queue_as_encrypted() -> None:
    def program() -> None:
        aws.sqs.Queue("kms", kms_master_key_id="alias/orders")
        aws.sqs.Queue("plain", sqs_managed_sse_enabled=False)
        pulumi.export("n", 2)

    graph = run_program(program)
    extract = SETTINGS["aws:sqs/queue:Queue"]
    assert extract(graph.one("aws:sqs/queue:Queue", "kms").inputs)["encrypted"] is True
    assert extract(graph.one("aws:sqs/queue:Queue", "plain").inputs)["encrypted"] is False
