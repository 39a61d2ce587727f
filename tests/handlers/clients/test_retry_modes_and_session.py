"""Bounded clients: every retry mode and both
bounds of ``max_attempts`` accepted, the exact errors, and one botocore session per environment."""

from __future__ import annotations

import pytest

from handlers.resilience import clients
from handlers.resilience.clients import aws_client


@pytest.mark.parametrize("mode", ["standard", "adaptive", "legacy"])
def test_each_botocore_retry_mode_is_accepted_and_reaches_the_client(mode: str) -> None:
    # GIVEN a retry mode botocore knows WHEN a client is asked for with it
    client = aws_client("sqs", retry_mode=mode)
    # THEN the client's configuration carries it, with the one attempt backoff.retry expects
    assert client.meta.config.retries == {"mode": mode, "total_max_attempts": 1}


@pytest.mark.parametrize("attempts", [1, 10])
def test_max_attempts_is_accepted_at_both_bounds(attempts: int) -> None:
    client = aws_client("sqs", max_attempts=attempts)
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": attempts}


@pytest.mark.parametrize("attempts", [0, 11])
def test_max_attempts_outside_1_to_10_is_refused_with_the_exact_message(attempts: int) -> None:
    # GIVEN one attempt too few or too many WHEN a client is asked for THEN one error names key, value, range
    with pytest.raises(ValueError) as raised:
        aws_client("sqs", max_attempts=attempts)
    assert str(raised.value) == f"max_attempts={attempts} is outside 1 to 10"


def test_an_unknown_retry_mode_is_refused_with_the_exact_message() -> None:
    with pytest.raises(ValueError) as raised:
        aws_client("sqs", retry_mode="fast")
    assert str(raised.value) == "retry_mode='fast' is not one of 'standard', 'adaptive', 'legacy'"


def test_all_clients_share_one_botocore_session() -> None:
    # WHEN the session behind the clients is asked for twice THEN it is the same one: service
    # models, endpoints and credentials load once per execution environment, not once per client
    assert clients._session() is clients._session()
