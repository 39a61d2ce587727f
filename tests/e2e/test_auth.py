"""Auth as API Gateway decides it, in the local run: the graph's Lambda authorizers run and their
answer decides 401, 403 or the integration (which gets their context); IAM routes refuse an
unsigned caller as each flavour does; JWT routes check the claims against the authorizer's issuer
and audiences. On the reference stacks, and on a user's program with each kind of auth."""

from __future__ import annotations

from pathlib import Path

import pytest
from resilient_serverless.components.testing import LocalRun

from .conftest import CALLER, RUNS

AUTH_PROGRAM = Path(__file__).resolve().parents[1] / "consumers" / "api_auth"
ISSUER = "https://issuer.example.com"


@pytest.fixture
def rest() -> LocalRun:
    return RUNS.stack("rest", AUTH_PROGRAM)


@pytest.fixture
def http() -> LocalRun:
    return RUNS.stack("dev", AUTH_PROGRAM)  # the HTTP flavour


def authorizer_runs(run: LocalRun) -> int:
    return sum(1 for i in run.invocations if i.source.startswith("authorizer "))


# --- the reference deployment ------------------------------------------------------------------
def test_an_unsigned_caller_of_an_iam_route_is_refused_as_api_gateway_refuses_it(stack: LocalRun) -> None:
    (api,) = stack.apis
    if not any(route.auth == "AWS_IAM" for route in api.routes):
        pytest.skip("this stack's routes are public (apiAuth: none)")
    # GIVEN the stack's IAM-authorized order route; WHEN it is called unsigned, then signed
    unsigned = stack.request("GET", "/orders/nobody")
    signed = stack.request("GET", "/orders/nobody", caller=CALLER)
    # THEN the unsigned call gets the flavour's refusal; the signed one reaches the function
    expected = {"rest": "Missing Authentication Token", "http": "Forbidden"}[api.flavor]
    assert (unsigned.status, unsigned.json()["message"]) == (403, expected), unsigned
    assert signed.status == 404, signed


# --- a REST API with a Lambda TOKEN authorizer --------------------------------------------------
def test_a_token_the_authorizer_allows_reaches_the_function_with_its_context(rest: LocalRun) -> None:
    # GIVEN a route behind the program's TOKEN authorizer; WHEN a token it allows is sent
    answer = rest.request("GET", "/me", headers={"Authorization": "allow-ann"})
    # THEN the function runs, and API Gateway passed on the principal and the context (as strings)
    assert answer.status == 200, answer
    assert answer.json()["authorizer"] == {"principalId": "ann", "user": "ann", "tier": "2"}


def test_a_token_the_authorizer_denies_is_refused_with_403(rest: LocalRun) -> None:
    answer = rest.request("GET", "/me", headers={"Authorization": "deny"})
    assert answer.status == 403, answer
    assert answer.json()["message"] == "User is not authorized to access this resource with an explicit deny"


def test_a_token_the_authorizer_rejects_as_unauthorized_is_refused_with_401(rest: LocalRun) -> None:
    answer = rest.request("GET", "/me", headers={"Authorization": "stolen"})
    assert answer.status == 401, answer
    assert answer.json()["message"] == "Unauthorized"


def test_a_request_without_the_token_is_refused_with_401_and_the_authorizer_never_runs(rest: LocalRun) -> None:
    before = authorizer_runs(rest)
    answer = rest.request("GET", "/me")
    assert answer.status == 401, answer
    assert authorizer_runs(rest) == before


def test_an_authorizer_answer_is_cached_for_its_ttl_on_the_run_clock(rest: LocalRun) -> None:
    # GIVEN a token answered once
    rest.request("GET", "/me", headers={"Authorization": "allow-cached"})
    before = authorizer_runs(rest)
    # WHEN it is sent again within the TTL, and again once the TTL has passed
    again = rest.request("GET", "/me", headers={"Authorization": "allow-cached"})
    within = authorizer_runs(rest)
    (authorizer,) = rest.graph.of_type("aws:apigateway/authorizer:Authorizer")
    rest.clock.advance(int(authorizer.inputs["authorizerResultTtlInSeconds"]) + 1)
    rest.request("GET", "/me", headers={"Authorization": "allow-cached"})
    # THEN the cached answer serves the second; the third runs the authorizer again
    assert again.status == 200, again
    assert (within, authorizer_runs(rest)) == (before, before + 1)


def test_an_unsigned_caller_of_a_rest_iam_route_gets_missing_authentication_token(rest: LocalRun) -> None:
    answer = rest.request("GET", "/signed")
    assert (answer.status, answer.json()["message"]) == (403, "Missing Authentication Token"), answer


# --- an HTTP API with JWT, IAM and a Lambda REQUEST authorizer ---------------------------------
GOOD_CLAIMS = {"iss": ISSUER, "aud": "client-1", "sub": "user-1"}


def test_jwt_claims_that_match_the_authorizer_reach_the_function(http: LocalRun) -> None:
    answer = http.request("GET", "/me", caller=GOOD_CLAIMS)
    assert answer.status == 200, answer
    assert answer.json()["authorizer"]["jwt"]["claims"] == GOOD_CLAIMS


@pytest.mark.parametrize(
    "claims",
    [
        None,
        {**GOOD_CLAIMS, "iss": "https://someone-else.example.com"},
        {**GOOD_CLAIMS, "aud": "another-client"},
    ],
    ids=["no-claims", "other-issuer", "other-audience"],
)
def test_jwt_claims_missing_or_from_another_issuer_or_audience_get_401(
    http: LocalRun, claims: dict[str, str] | None
) -> None:
    answer = http.request("GET", "/me", caller=claims)
    assert (answer.status, answer.json()) == (401, {"message": "Unauthorized"}), answer


def test_expired_jwt_claims_get_401_on_the_run_clock(http: LocalRun) -> None:
    expires = int(http.clock.now()) + 60
    fresh = http.request("GET", "/me", caller={**GOOD_CLAIMS, "exp": expires})
    http.clock.advance(61)
    stale = http.request("GET", "/me", caller={**GOOD_CLAIMS, "exp": expires})
    assert (fresh.status, stale.status) == (200, 401), (fresh, stale)


def test_an_unsigned_caller_of_an_http_iam_route_gets_forbidden(http: LocalRun) -> None:
    answer = http.request("GET", "/signed")
    assert (answer.status, answer.json()) == (403, {"message": "Forbidden"}), answer


def test_an_http_request_authorizer_decides_with_its_simple_answer(http: LocalRun) -> None:
    # GIVEN the user's route behind a REQUEST authorizer with simple answers
    # WHEN called with a header it allows, one it refuses, and none
    allowed = http.request("GET", "/lambda/me", headers={"Authorization": "allow-bo"})
    refused = http.request("GET", "/lambda/me", headers={"Authorization": "nope"})
    missing = http.request("GET", "/lambda/me")
    # THEN the allowed call carries its context; the others get 403 and 401
    assert allowed.status == 200, allowed
    assert allowed.json()["authorizer"] == {"lambda": {"user": "bo"}}
    assert (refused.status, refused.json()) == (403, {"message": "Forbidden"}), refused
    assert (missing.status, missing.json()) == (401, {"message": "Unauthorized"}), missing
