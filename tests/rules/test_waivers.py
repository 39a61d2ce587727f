"""Waivers travel with the graph of the program that declared them, not through a global."""

from __future__ import annotations

import pulumi_aws as aws
from resilient_serverless.components import rules
from resilient_serverless.components.testing import run_program

TAGS = {"environment": "test", "component": "waivers", "managed-by": "pulumi"}


def _plain_queue() -> None:
    aws.sqs.Queue("q", tags=TAGS, sqs_managed_sse_enabled=False)


def _waived_queue() -> None:
    rules.waive("sqs-encrypted", "a test queue")
    _plain_queue()


def test_a_graph_keeps_its_waivers_after_another_program_runs() -> None:
    # GIVEN a program that waives a rule, and another that waives nothing, run one after the other
    waived = run_program(_waived_queue)
    run_program(_plain_queue)
    # WHEN the first graph is checked
    found = [(f.rule, f.waived) for f in rules.check(waived) if f.rule == "sqs-encrypted"]
    # THEN its own waiver still applies
    assert found == [("sqs-encrypted", "a test queue")]


def test_a_program_that_waives_nothing_gets_no_waiver_from_the_one_before() -> None:
    run_program(_waived_queue)
    plain = run_program(_plain_queue)
    found = [(f.rule, f.waived) for f in rules.check(plain) if f.rule == "sqs-encrypted"]
    assert found == [("sqs-encrypted", None)]
    assert plain.waivers == {}


def test_waiving_outside_an_offline_run_records_nothing_and_still_checks_the_rule_id() -> None:
    rules.waive("sqs-encrypted", "a real deployment")
    assert rules.waivers(run_program(_plain_queue)) == {}
