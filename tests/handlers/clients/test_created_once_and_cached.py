"""Bounded clients are created once; parameters are fetched once per max age."""

from __future__ import annotations

import pytest
from moto import mock_aws

from handlers.resilience.clients import ClientSettings, aws_client


def test_clients_have_bounded_timeouts_and_retries() -> None:
    client = aws_client("sqs")
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2.0, 5.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}  # backoff.retry owns retries
    assert aws_client("sqs") is client  # once per execution environment
    assert (ClientSettings.connect_timeout_s, ClientSettings.read_timeout_s, ClientSettings.max_attempts) == (
        2.0,
        5.0,
        1,
    )


def test_bad_client_settings_are_named() -> None:
    with pytest.raises(ValueError, match="retry_mode='fast' is not one of 'standard', 'adaptive', 'legacy'"):
        aws_client("sqs", retry_mode="fast")
    with pytest.raises(ValueError, match="max_attempts=0 is outside 1 to 10"):
        aws_client("sqs", max_attempts=0)


@mock_aws
def test_parameters_are_cached_until_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    from handlers.resilience.params import DEFAULT_MAX_AGE_S, get_parameter

    now = [dt.datetime(2026, 1, 1)]

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return now[0]

    monkeypatch.setattr(base, "datetime", Clock)
    parameters.clear_caches()
    ssm = boto3.client("ssm", region_name="eu-west-1")
    ssm.put_parameter(Name="/shop/limit", Value="10", Type="String")
    assert get_parameter("/shop/limit") == "10"
    ssm.put_parameter(Name="/shop/limit", Value="20", Type="String", Overwrite=True)
    now[0] += dt.timedelta(seconds=DEFAULT_MAX_AGE_S - 1)
    assert get_parameter("/shop/limit") == "10"  # served from the cache: no call
    now[0] += dt.timedelta(seconds=2)
    assert get_parameter("/shop/limit") == "20"  # expired: fetched again
    assert DEFAULT_MAX_AGE_S == 300
    parameters.clear_caches()


@mock_aws
def test_secrets_are_cached_and_parsed() -> None:
    import boto3
    from aws_lambda_powertools.utilities import parameters

    from handlers.resilience.params import get_secret

    parameters.clear_caches()
    boto3.client("secretsmanager", region_name="eu-west-1").create_secret(Name="db", SecretString='{"user": "app"}')
    assert get_secret("db", transform="json") == {"user": "app"}
    parameters.clear_caches()


@mock_aws
def test_a_secure_string_parameter_is_read_decrypted_by_default() -> None:
    # GIVEN a SecureString parameter in SSM
    import boto3
    from aws_lambda_powertools.utilities import parameters

    from handlers.resilience.params import get_parameter

    parameters.clear_caches()
    ssm = boto3.client("ssm", region_name="eu-west-1")
    ssm.put_parameter(Name="/shop/db-password", Value="s3cret", Type="SecureString")
    # WHEN it is read with the defaults THEN the plain value comes back, not the ciphertext
    assert get_parameter("/shop/db-password") == "s3cret"
    parameters.clear_caches()
