"""The local run's fair queues: one tenant's flood does not delay another tenant's message beyond
a stated bound when messages carry a MessageGroupId, and does without one (arrival order).

The experiment: tenant A sends 500 messages, then tenant B sends one; a consumer receives batches
of 10 and each batch takes one second of the run's clock. B's dwell time is measured in receive
rounds and run-clock seconds, on a queue whose messages carry group ids and on one whose do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi_aws as aws
import pytest
from resilient_serverless.components.testing import LocalRun, run_locally, run_program

FLOOD = 500
BATCH = 10
BATCH_SECONDS = 1.0  # run-clock time one batch takes to process
# With group ids, at most one batch of A is served before B: A turns noisy on its first batch.
BOUND_BATCHES_AHEAD = 1


@pytest.fixture
def queues(own_run: None) -> Iterator[tuple[LocalRun, dict[str, str]]]:
    def program() -> None:
        for name in ("tenants", "anonymous"):
            aws.sqs.Queue(name, name=f"shop-{name}", visibility_timeout_seconds=60)

    with run_locally(run_program(program, project="shop", stack="dev")) as run, run.clock.frozen():
        sqs = run.client("sqs")
        yield run, {name: sqs.get_queue_url(QueueName=f"shop-{name}")["QueueUrl"] for name in ("tenants", "anonymous")}


def flood_then_quiet(run: LocalRun, url: str, *, groups: bool) -> tuple[int, float]:
    """Tenant A floods, tenant B sends one message: the batches served before B's, and B's dwell
    time in run-clock seconds (sent to received)."""
    sqs = run.client("sqs")

    def group(tenant: str) -> dict[str, Any]:
        return {"MessageGroupId": tenant} if groups else {}

    for start in range(0, FLOOD, 10):
        entries = [{"Id": str(i), "MessageBody": f"a-{start + i}", **group("A")} for i in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    sent_at = run.clock.now()
    sqs.send_message(QueueUrl=url, MessageBody="b-0", **group("B"))
    for ahead in range(FLOOD // BATCH + 1):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH).get("Messages") or []
        if any(m["Body"] == "b-0" for m in got):
            return ahead, run.clock.now() - sent_at
        run.clock.advance(BATCH_SECONDS)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )
    raise AssertionError("tenant B's message was never received")


def test_a_flood_delays_a_quiet_tenant_one_batch_with_group_ids_and_the_whole_flood_without(
    queues: tuple[LocalRun, dict[str, str]],
) -> None:
    # One run for both queues: starting a local run costs more than the experiment.
    run, urls = queues
    with_groups = flood_then_quiet(run, urls["tenants"], groups=True)
    without_groups = flood_then_quiet(run, urls["anonymous"], groups=False)
    assert with_groups == (BOUND_BATCHES_AHEAD, BOUND_BATCHES_AHEAD * BATCH_SECONDS)
    assert without_groups == (FLOOD // BATCH, FLOOD // BATCH * BATCH_SECONDS)
