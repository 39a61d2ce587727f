"""Webhook signatures in the Standard Webhooks format: the exact bytes (the specification's test
vector), agreement with the ``standardwebhooks`` reference package in both directions, the
tolerance's edge, secret rotation, and the exact errors a receiver logs."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks

from handlers.resilience import webhooks as helper
from handlers.resilience.webhooks import (
    InvalidSignature,
    StaleTimestamp,
    new_secret,
    sign,
    signed_headers,
    verify,
    verify_signature,
)

# The test vector of the Standard Webhooks libraries.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID, SENT, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_v1_and_the_base64_hmac_sha256_of_id_dot_timestamp_dot_body() -> None:
    # GIVEN the specification's vector WHEN signed (str or int timestamp) THEN the value is the vector's
    assert sign(SECRET, MSG_ID, SENT, BODY) == SIGNATURE
    assert sign(SECRET, MSG_ID, str(SENT), BODY) == SIGNATURE


def test_the_headers_of_an_attempt_carry_the_id_the_timestamp_and_the_signature() -> None:
    assert signed_headers(SECRET, MSG_ID, BODY, now=SENT + 0.9) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(SENT),
        "webhook-signature": SIGNATURE,
    }


def test_a_new_secret_is_whsec_and_32_random_bytes_in_base64() -> None:
    import base64

    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32


def test_the_reference_package_verifies_what_this_module_signs() -> None:
    # GIVEN a fresh secret and the headers this module sends WHEN the reference package verifies THEN it passes
    secret = new_secret()
    headers = signed_headers(secret, "m-1", BODY)
    assert standardwebhooks.Webhook(secret).verify(BODY, headers) == {"test": 2432232314}


def test_this_module_verifies_what_the_reference_package_signs() -> None:
    secret = new_secret()
    signature = standardwebhooks.Webhook(secret).sign("m-1", datetime.fromtimestamp(SENT, UTC), BODY)
    verify(
        secret, {"Webhook-Id": "m-1", "Webhook-Timestamp": str(SENT), "Webhook-Signature": signature}, BODY, now=SENT
    )


def test_the_id_is_signed_a_replay_under_another_id_is_refused() -> None:
    # GIVEN a genuine delivery WHEN replayed with a new webhook-id (to pass a receiver's dedup) THEN refused
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(SECRET, "msg_other", SENT, BODY, SIGNATURE, now=SENT)
    assert str(raised.value) == "no signature matches the body"


def test_a_timestamp_exactly_the_tolerance_away_is_accepted_either_side() -> None:
    verify_signature(SECRET, MSG_ID, SENT, BODY, SIGNATURE, now=SENT + 300)
    verify_signature(SECRET, MSG_ID, SENT, BODY, SIGNATURE, now=SENT - 300)
    verify_signature(SECRET, MSG_ID, SENT, BODY, SIGNATURE, tolerance_s=10, now=SENT + 10)


def test_a_stale_timestamp_is_refused_with_the_exact_message() -> None:
    with pytest.raises(StaleTimestamp) as raised:
        verify_signature(SECRET, MSG_ID, SENT, BODY, SIGNATURE, tolerance_s=10, now=SENT - 11.5)
    assert str(raised.value) == "timestamp 1614265330 is 11 s from now (tolerance 10 s)"


def test_a_timestamp_that_is_not_epoch_seconds_is_refused_with_the_exact_message() -> None:
    with pytest.raises(StaleTimestamp) as raised:
        verify_signature(SECRET, MSG_ID, "yesterday", BODY, SIGNATURE, now=SENT)
    assert str(raised.value) == "timestamp 'yesterday' is not epoch seconds"


def test_a_delivery_without_an_id_is_refused_with_the_exact_message() -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify(SECRET, {"webhook-timestamp": str(SENT), "webhook-signature": SIGNATURE}, BODY, now=SENT)
    assert str(raised.value) == "the webhook-id header is missing"


def test_during_a_rotation_any_one_of_several_signatures_may_match() -> None:
    verify_signature(SECRET, MSG_ID, SENT, BODY, f"v1,AAAA {SIGNATURE}", now=SENT)


@pytest.mark.parametrize(
    "signature",
    [None, "", "  ", SIGNATURE[:-2] + "A=", SIGNATURE.removeprefix("v1,"), SIGNATURE.replace("v1,", "v2,")],
)
def test_a_missing_or_wrong_signature_is_refused_with_the_exact_message(signature: str | None) -> None:
    # GIVEN no signature, a blank one, a wrong digest, the digest without its scheme, or another scheme
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(SECRET, MSG_ID, SENT, BODY, signature, now=SENT)
    assert str(raised.value) == "no signature matches the body"


def test_a_changed_body_or_another_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(SECRET, MSG_ID, SENT, BODY + b" ", SIGNATURE, now=SENT)
    with pytest.raises(InvalidSignature):
        verify_signature(new_secret(), MSG_ID, SENT, BODY, SIGNATURE, now=SENT)


def test_signature_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, Any]] = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return original(a, b)

    monkeypatch.setattr(helper.hmac, "compare_digest", spy)
    with pytest.raises(InvalidSignature):
        verify_signature(SECRET, MSG_ID, SENT, BODY, "v1,AAAA", now=SENT)
    assert seen == [(SIGNATURE.encode(), b"v1,AAAA")]
