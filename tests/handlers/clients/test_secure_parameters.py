"""Parameters: a SecureString is read
decrypted unless the caller says otherwise."""

from __future__ import annotations

from moto import mock_aws


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
