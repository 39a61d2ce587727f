"""``resilient-serverless simulate``: the numbers as text or JSON, the naive baseline beside
them, the plot, any program that uses the components; exit 2 for bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from resilient_serverless.components.cli import main

from tests.conftest import ROOT

CONSUMERS = ROOT / "tests" / "consumers"


def test_given_prod_when_simulated_with_json_and_the_naive_baseline_then_both_runs_are_in_one_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    png = tmp_path / "run.png"
    argv = ["simulate", "--stack", "prod", "--project-dir", str(ROOT), "--load", "rate:2x", "--duration", "10"]
    assert main([*argv, "--baseline", "naive", "--json", "--plot", str(png)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["model"], doc["naive"]["model"], doc["stack"], doc["load"]) == ("defended", "naive", "prod", "rate:2x")
    for key in ("goodput_per_capacity", "throttled_429", "wasted_invocations", "dlq_arrivals", "ttl_drops", "cost"):
        assert key in doc and key in doc["naive"], key
    assert doc["cost"]["prices_as_of"] == "2025-06-01"
    assert set(doc["series"]["oldest_age_s"]) == {"orders-inbox-high", "orders-inbox-low", "reports-starts"}
    route = doc["routes"][0]
    assert sorted(route["latency_ms"]) == ["p50", "p99"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_given_prod_when_simulated_as_text_then_the_naive_figures_stand_beside_the_stacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--stack", "prod", "--project-dir", str(ROOT), "--load", "rate:1x", "--duration", "5"]
    assert main([*argv, "--baseline", "naive"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("simulate --stack prod  load rate:1x  (5 s)\n")
    assert "goodput / capacity" in out and "naive:" in out
    assert "GET /orders/{order_id}" in out


def test_given_a_consumer_program_with_an_unconsumed_queue_route_when_simulated_then_it_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = CONSUMERS / "api_queue_route"
    argv = ["simulate", "--stack", "dev", "--project-dir", str(project), "--load", "rate:0.5x", "--duration", "5"]
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["routes"] and all(r["goodput"] == r["offered"] for r in doc["routes"])


def test_given_a_bad_load_level_when_simulated_then_one_line_names_it_and_exit_is_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--stack", "prod", "--project-dir", str(ROOT), "--load", "rate:fast"]) == 2
    assert capsys.readouterr().err == (
        "resilient-serverless: simulate: load level='fast' must be a number above 0, "
        "times capacity with x (2x) or rps (500)\n"
    )


def test_given_an_unknown_stack_when_simulated_then_exit_is_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--stack", "nope", "--project-dir", str(ROOT), "--load", "rate:1x"]) == 2
    assert capsys.readouterr().err.startswith("resilient-serverless: unknown stack 'nope'")


def test_given_no_simulate_extra_when_simulated_then_one_line_says_what_to_install_and_exit_is_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "simpy", None)  # as if the extra were not installed
    assert main(["simulate", "--stack", "prod", "--project-dir", str(ROOT), "--load", "rate:1x"]) == 2
    assert capsys.readouterr().err == (
        "resilient-serverless: simulate needs simpy: pip install 'resilient-serverless[simulate]'\n"
    )
