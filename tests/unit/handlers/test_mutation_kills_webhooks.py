"""Webhook signature behaviours that mutation testing (issue 9) found unpinned: the signature's
exact bytes (a sender in another language must produce the same), the tolerance's edge, and the
exact errors a receiver logs."""

from __future__ import annotations

import pytest

from handlers.resilience.webhooks import InvalidSignature, StaleTimestamp, sign, verify_signature

BODY, SENT = b'{"job": 1}', 1_800_000_000
# printf '1800000000.{"job": 1}' | openssl dgst -sha256 -hmac s3cret
DIGEST = "46137255de3e3dc3f319e7b73488ad85f8aa090835bbbb9bdde2b797505fbfa2"


def test_the_signature_is_v1_and_the_hex_hmac_sha256_of_timestamp_dot_body() -> None:
    # GIVEN the secret, timestamp and body of the openssl vector above
    # WHEN signed with a str or a bytes secret, and a str or an int timestamp THEN the value is the vector's
    assert sign("s3cret", SENT, BODY) == f"v1={DIGEST}"
    assert sign(b"s3cret", str(SENT), BODY) == f"v1={DIGEST}"


def test_a_receiver_accepts_the_openssl_vector() -> None:
    verify_signature("s3cret", str(SENT), BODY, f"v1={DIGEST}", now=SENT)


def test_a_timestamp_exactly_the_tolerance_away_is_accepted_either_side() -> None:
    # GIVEN a delivery WHEN checked exactly 300 s (the default tolerance) after or before it was sent
    # THEN it passes: only more than the tolerance is stale
    good = sign("s3cret", SENT, BODY)
    verify_signature("s3cret", SENT, BODY, good, now=SENT + 300)
    verify_signature("s3cret", SENT, BODY, good, now=SENT - 300)
    verify_signature("s3cret", SENT, BODY, good, tolerance_s=10, now=SENT + 10)


def test_a_stale_timestamp_is_refused_with_the_exact_message() -> None:
    good = sign("s3cret", SENT, BODY)
    with pytest.raises(StaleTimestamp) as raised:
        verify_signature("s3cret", SENT, BODY, good, tolerance_s=10, now=SENT - 11.5)
    assert str(raised.value) == "timestamp 1800000000 is 11 s from now (tolerance 10 s)"


def test_a_timestamp_that_is_not_epoch_seconds_is_refused_with_the_exact_message() -> None:
    with pytest.raises(StaleTimestamp) as raised:
        verify_signature("s3cret", "yesterday", BODY, f"v1={DIGEST}", now=SENT)
    assert str(raised.value) == "timestamp 'yesterday' is not epoch seconds"


@pytest.mark.parametrize("signature", [None, "", " , ", f"v1={DIGEST[:-1]}0", DIGEST])
def test_a_missing_or_wrong_signature_is_refused_with_the_exact_message(signature: str | None) -> None:
    # GIVEN no signature, an empty list, a wrong digest, or the digest without its scheme
    with pytest.raises(InvalidSignature) as raised:
        verify_signature("s3cret", SENT, BODY, signature, now=SENT)
    assert str(raised.value) == "no signature matches the body"
