"""physical_name: valid, bounded, stable, collision-free names for every AWS name limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from resilient_serverless.components.naming import HASH_LENGTH, NAME_RULES, physical_name

parts = st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=4)
kinds = st.sampled_from(sorted(NAME_RULES))


@given(kind=kinds, name_parts=parts)
def test_name_fits_the_limit_and_charset(kind: str, name_parts: list[str]) -> None:
    rule = NAME_RULES[kind]
    try:
        name = physical_name(kind, *name_parts)
    except ValueError as error:  # only when no character survives
        assert "needs at least one valid character" in str(error)
        return
    assert len(name) <= rule.max_length, name
    assert not rule.invalid.search(name), name
    assert physical_name(kind, *name_parts) == name


@given(kind=st.sampled_from(["sqs", "sns"]), name_parts=parts)
def test_fifo_names_end_in_fifo_within_the_limit(kind: str, name_parts: list[str]) -> None:
    name = physical_name(kind, "p", "s", *name_parts, fifo=True)
    assert name.endswith(".fifo")
    assert len(name) <= NAME_RULES[kind].max_length


@given(a=st.text("abcdefghij-", min_size=70, max_size=200), b=st.text("abcdefghij-", min_size=70, max_size=200))
def test_distinct_long_names_stay_distinct(a: str, b: str) -> None:
    if a != b:
        assert physical_name("lambda", a) != physical_name("lambda", b)


def test_short_name_is_project_stack_name() -> None:
    assert physical_name("lambda", "shop", "dev", "orders") == "shop-dev-orders"


def test_long_name_keeps_head_and_hash_suffix() -> None:
    name = physical_name("lambda", "p", "prod", "x" * 100)
    assert len(name) == 64
    assert name.startswith("p-prod-xxx")
    assert name[-HASH_LENGTH - 1] == "-"


def test_limits_match_aws() -> None:
    limits = {k: NAME_RULES[k].max_length for k in ("lambda", "sqs", "iam_role", "log_group", "state_machine")}
    assert limits == {"lambda": 64, "sqs": 80, "iam_role": 64, "log_group": 512, "state_machine": 80}


def test_fifo_is_refused_for_kinds_without_fifo() -> None:
    with pytest.raises(ValueError, match="fifo=True is only valid for sqs and sns names, not 'lambda'"):
        physical_name("lambda", "a", fifo=True)


def test_s3_and_canary_names_are_lowercased() -> None:
    assert physical_name("s3_bucket", "Shop", "Dev") == "shop-dev"
    assert physical_name("canary", "Shop", "Dev", "front-door") == "shop-dev-front-door"
