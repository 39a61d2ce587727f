"""Which queues of a deployed stack are dead-letter queues, read from its state as `pulumi stack
export` writes it (a resource's state outputs hold its inputs too), for the reference deployment."""

from __future__ import annotations

from resilient_serverless.components.operate.stack import inventory_from_state
from resilient_serverless.components.testing import run_stack

from tests.conftest import ROOT


def test_every_dlq_of_the_reference_deployment_is_found_with_what_feeds_it() -> None:
    # GIVEN prod's state: queue redrive policies, a subscription's, two functions' on-failure
    # destinations and an EventBridge target's dead-letter config
    graph = run_stack("prod", ROOT)
    resources = [
        {"urn": r.urn, "type": r.type, "parent": r.parent, "custom": r.custom, "outputs": {**r.inputs, **r.outputs}}
        for r in graph
    ]
    # WHEN the operating commands read it
    inventory = inventory_from_state({"version": 3, "deployment": {"resources": resources}}, "prod")
    # THEN every queue something dead-letters into is a DLQ, with its component and its feeders
    prefix = "resilient-serverless-prod-"
    found = {
        d.name.removeprefix(prefix): (d.component, [s.rsplit(":", 1)[-1].removeprefix(prefix) for s in d.sources])
        for d in inventory.dlqs
    }
    assert found == {
        "ops-alarms-dlq": ("ops-alarms (AlarmDeliveryDLQ)", ["ops-alarms"]),
        "orders-inbox-high-dlq": ("orders-inbox (PriorityQueuePair)", ["orders-inbox-high"]),
        "orders-inbox-low-dlq": ("orders-inbox (PriorityQueuePair)", ["orders-inbox-low"]),
        "report-renderer-dlq": ("report-renderer (ResilientFunction)", ["report-renderer"]),
        "reports-outcomes-dlq": ("reports (AsyncJobWorkflow)", ["reports-outcomes"]),
        "reports-recorder-dlq": ("reports-recorder (ResilientFunction)", ["reports-recorder"]),
        "reports-starts-dlq": ("reports (AsyncJobWorkflow)", ["reports-starts"]),
        "reports-webhooks-dlq": ("reports (AsyncJobWorkflow)", ["reports-webhooks"]),
    }
    assert [(m.name.removeprefix(prefix), m.type) for m in inventory.state_machines] == [("reports-sm", "STANDARD")]
