"""Problems: one error naming every bad key, its value and the allowed range."""

from __future__ import annotations

import pytest
from resilient_serverless.components.validation import ConfigError, Problems


def test_all_problems_are_reported_in_one_error() -> None:
    p = Problems("thing 'x'")
    p.check_int_range("timeout", 1000, 1, 900, unit="seconds", why="Lambda timeout")
    p.check_choice("mode", "fast", ["sync", "async"])
    p.check_known_keys({"timout": 1}, ["timeout", "mode"], what="argument")
    with pytest.raises(ConfigError) as raised:
        p.raise_if_any()
    assert str(raised.value) == (
        "thing 'x': timeout=1000 is outside 1 to 900 seconds (Lambda timeout); "
        "mode='fast' is not one of 'sync', 'async'; "
        "unknown argument 'timout': did you mean 'timeout'? (valid arguments: mode, timeout)"
    )
    assert len(raised.value.problems) == 3


def test_no_problem_raises_nothing() -> None:
    p = Problems("ok")
    assert p.check_int_range("n", 5, 1, 10)
    p.raise_if_any()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "n=True must be a whole number from 1 to 10"),
        ("5", "n='5' must be a whole number from 1 to 10"),
        (2.5, "n=2.5 must be a whole number from 1 to 10"),
    ],
)
def test_wrong_types_are_named(value: object, message: str) -> None:
    p = Problems("s")
    assert not p.check_int_range("n", value, 1, 10)
    assert p.items == [message]


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_a_range_check_names_a_value_that_is_not_a_number() -> None:
    p = Problems("s")
    assert not p.check_range("rate", "fast", 0.5, 10, unit="rps")
    assert p.items == ["rate='fast' must be a number from 0.5 to 10 rps"]


def test_visibility_timeout_for_refuses_impossible_inputs() -> None:
    from resilient_serverless.components.queues import visibility_timeout_for

    assert visibility_timeout_for(10, 1) == 61
    with pytest.raises(ValueError, match="consumer_timeout_s=0 must be >= 1 and batching_window_s=0 >= 0"):
        visibility_timeout_for(0)
