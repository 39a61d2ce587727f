"""The plan shows, per route, who may call it, the envelope it forwards and a FIFO target's id sources."""

from __future__ import annotations

import pytest
from resilient_serverless.components.cli import main
from resilient_serverless.components.plan.document import _route_label

from tests.conftest import ROOT


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "local"])
def test_every_stack_plan_shows_auth_and_envelope(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", stack, "--project-dir", str(ROOT), "--width", "400"]) == 0
    out = capsys.readouterr().out
    assert "route GET /orders/{order_id} -> function orders-api (sync)" in out
    assert "auth=IAM (SigV4)" in out
    assert (
        "route POST /orders -> queue orders-inbox-high" in out
        and "envelope=(body, path, query, headers content-type, idempotency-key, x-signature, requestId, receivedAt)"
        in out
    )
    for rule in ("api-account-role", "api-method-path-escaped", "api-fifo-target-grouped", "api-write-route-guarded"):
        assert rule not in out, f"{stack}: {rule}"


def test_a_fifo_route_shows_its_group_and_dedup_sources() -> None:
    row = {
        "route": "PUT /shops/{shop}/orders/{order_id}",
        "target": "queue orders-high (FIFO)",
        "integration_timeout_ms": 5000,
        "rate": 50,
        "burst": 100,
        "auth": "none",
        "envelope": "body, path, query, headers content-type, requestId, receivedAt",
        "group_id_source": "path.shop",
        "dedup_id_source": "header.Idempotency-Key",
    }
    assert _route_label(row).endswith("group_id=path.shop dedup_id=header.Idempotency-Key")
