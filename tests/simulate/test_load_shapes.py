"""Load shapes and recorded arrivals: what each route is offered, and one error naming every bad
part of a shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from resilient_serverless.components.simulate import parse_arrivals, parse_load
from resilient_serverless.components.validation import ConfigError


def test_given_a_spike_when_parsed_then_half_capacity_rises_to_the_peak_for_its_duration_then_recovers() -> None:
    load = parse_load("spike:10x:60s")
    assert load.duration_s == 30 + 60 + 120
    assert [load.rate("r", 100, t) for t in (0, 29.9, 30, 89.9, 90)] == [50, 50, 1000, 1000, 50]


def test_given_ramp_step_and_rate_when_parsed_then_levels_follow_the_shape_in_x_of_capacity_or_rps() -> None:
    ramp, step, rate = parse_load("ramp:1x:3x:100s"), parse_load("step:1x:5x:60s"), parse_load("rate:250")
    assert [ramp.rate("r", 100, t) for t in (0, 50, 100, 150)] == [100, 200, 300, 300]
    assert [step.rate("r", 100, t) for t in (59, 60)] == [100, 500]
    assert (rate.rate("r", 100, 0), rate.rate("r", 7, 0), rate.duration_s) == (250, 250, 120)


def test_given_a_shape_with_two_bad_parts_when_parsed_then_one_error_names_both() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_load("spike:0x:soon")
    assert str(caught.value) == (
        "simulate: load peak='0x' must be a number above 0, times capacity with x (2x) or rps (500); "
        "load duration='soon' must be seconds between 1 and 86400 (60s)"
    )


def test_given_an_unknown_shape_when_parsed_then_the_error_lists_the_forms() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_load("burst:5x")
    assert str(caught.value) == (
        "simulate: load='burst:5x' must be one of rate:LEVEL, spike:LEVEL:Ns, ramp:FROM:TO:Ns, step:FROM:TO:Ns "
        "(LEVEL: 2x of capacity or 500 rps)"
    )


def test_given_an_arrival_file_when_read_then_each_route_gets_its_arrivals_and_unnamed_ones_go_to_every_route(
    tmp_path: Path,
) -> None:
    path = tmp_path / "arrivals.csv"
    path.write_text("# seconds,route\n0.05,GET /a\n0.5,GET /a\n0.55\n2.0,GET /b\n", encoding="utf-8")
    load = parse_arrivals(path)
    assert load.duration_s == 62.0
    assert [load.count("GET /a", 1, t, 0.1) for t in (0.0, 0.5, 1.0)] == [1, 2, 0]
    assert [load.count("GET /b", 1, t, 0.1) for t in (0.5, 2.0)] == [1, 1]


def test_given_an_arrival_file_with_bad_lines_when_read_then_one_error_names_every_line(tmp_path: Path) -> None:
    path = tmp_path / "arrivals.csv"
    path.write_text("1.0\nsoon,GET /a\n-3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_arrivals(path)
    assert str(caught.value) == (
        "simulate: arrivals line 2='soon' must be seconds between 0 and 86400; "
        "arrivals line 3='-3' must be seconds between 0 and 86400"
    )
