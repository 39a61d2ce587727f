"""Which owner each API Gateway auth type yields, from events as API Gateway sends them
(``tests/events/auth_*.json``), and that one owner can neither read nor cancel another's job."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import EVENTS

from .conftest import JobsAws

ACCOUNT = "123456789012"
POOL = "eu-west-1:0b6a1f7e-6f0e-4c3a-9d0e-3f2b8c1d4e5a"
IDENTITY = "eu-west-1:7d1c3a52-90b4-4a8e-b1f0-5c2e9d8a6b41"
OTHER_IDENTITY = "eu-west-1:e2f4a6c8-1b3d-4f5a-8c7e-9d0b2a4c6e81"


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"auth_{name}.json").read_text())
    return loaded


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        ("rest_iam_user", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        ("rest_iam_assumed_role", f"arn:aws:sts::{ACCOUNT}:assumed-role/report-builder/build-42"),
        ("rest_cognito_identity_pool", f"cognito:{POOL}/{IDENTITY}"),
        ("http_cognito_identity_pool", f"cognito:{POOL}/{IDENTITY}"),
        (
            "http_jwt",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI#5f3a9e1c-2b7d-4c8a-9e6f-1a2b3c4d5e6f",
        ),
        (
            "rest_cognito_user_pool",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI#5f3a9e1c-2b7d-4c8a-9e6f-1a2b3c4d5e6f",
        ),
        ("rest_lambda_authorizer", "tenant-7/user-31"),
        ("rest_api_key", "9d8c7b6a5e"),
        ("rest_none", "anonymous"),
        ("http_none", "anonymous"),
    ],
)
def test_each_auth_type_yields_its_documented_owner(name: str, owner: str) -> None:
    # GIVEN an event of one auth type as API Gateway sends it WHEN parsed THEN the caller is its owner
    from handlers.jobs.common import parse_request

    assert parse_request(event(name)).caller == owner


def test_a_jwt_without_an_issuer_yields_its_subject() -> None:
    from handlers.jobs.common import parse_request

    jwt = event("http_jwt")
    del jwt["requestContext"]["authorizer"]["jwt"]["claims"]["iss"]
    assert parse_request(jwt).caller == "5f3a9e1c-2b7d-4c8a-9e6f-1a2b3c4d5e6f"


def test_the_same_subject_from_two_issuers_is_two_owners() -> None:
    from handlers.jobs.common import parse_request

    first, second = event("http_jwt"), event("http_jwt")
    second["requestContext"]["authorizer"]["jwt"]["claims"]["iss"] = "https://login.example.com/"
    assert parse_request(first).caller != parse_request(second).caller


def as_user(name: str, identity_id: str, method: str, job_id: str | None, body: Any = None) -> dict[str, Any]:
    """The fixture as another user of the same identity pool (same role ARN) would send it."""
    ev = copy.deepcopy(event(name))
    if name.startswith("rest"):
        ev["requestContext"]["identity"]["cognitoIdentityId"] = identity_id
        ev["httpMethod"] = method
    else:
        ev["requestContext"]["authorizer"]["iam"]["cognitoIdentity"]["identityId"] = identity_id
        ev["requestContext"]["http"]["method"] = method
    ev["pathParameters"] = {"job_id": job_id} if job_id else None
    if body is not None:
        ev["body"] = json.dumps(body)
        ev["headers"] = {**ev["headers"], "content-type": "application/json"}
    return ev


@pytest.mark.parametrize("name", ["rest_cognito_identity_pool", "http_cognito_identity_pool"])
def test_one_identity_pool_user_cannot_read_or_cancel_anothers_job(jobs_aws: JobsAws, name: str) -> None:
    from handlers.jobs import cancel, status, submit

    # GIVEN a job submitted by one identity pool user (both users sign as the pool's one role)
    submitted = submit.lambda_handler(as_user(name, IDENTITY, "POST", None, {"input": {"rows": []}}), None)
    assert submitted["statusCode"] == 202
    job = json.loads(submitted["body"])["job_id"]
    # WHEN another user of the pool reads or cancels it THEN 404, as for an unknown id
    assert status.lambda_handler(as_user(name, OTHER_IDENTITY, "GET", job), None)["statusCode"] == 404
    assert cancel.lambda_handler(as_user(name, OTHER_IDENTITY, "DELETE", job), None)["statusCode"] == 404
    # AND the job is untouched and still its submitter's
    assert jobs_aws.job(job)["status"] == "queued"
    assert status.lambda_handler(as_user(name, IDENTITY, "GET", job), None)["statusCode"] == 200
    assert cancel.lambda_handler(as_user(name, IDENTITY, "DELETE", job), None)["statusCode"] == 202


@pytest.mark.parametrize(
    "name", ["rest_iam_user", "rest_iam_assumed_role", "http_jwt", "rest_lambda_authorizer", "rest_api_key"]
)
def test_another_owner_of_the_same_auth_type_cannot_read_or_cancel_the_job(jobs_aws: JobsAws, name: str) -> None:
    from handlers.jobs import cancel, status
    from handlers.jobs.common import parse_request

    # GIVEN a job owned by the fixture's caller
    job = "QUEUEDQUEUEDQUEUEDQUEU"
    jobs_aws.put_job(job, "queued", owner=parse_request(event(name)).caller)
    stranger = event(name)
    context = stranger["requestContext"]
    if "identity" in context and context["identity"].get("userArn"):
        context["identity"]["userArn"] += "-other"
    elif "identity" in context and context["identity"].get("apiKeyId"):
        context["identity"]["apiKeyId"] = "0a1b2c3d4e"
    elif "jwt" in context.get("authorizer", {}):
        context["authorizer"]["jwt"]["claims"]["sub"] = "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f"
    else:
        context["authorizer"]["principalId"] = "tenant-7/user-32"
    # WHEN another caller of the same auth type reads or cancels it THEN 404; the owner reads it
    assert status.lambda_handler(stranger, None)["statusCode"] == 404
    if name.startswith("rest"):
        stranger["httpMethod"] = "DELETE"
    else:
        context["http"]["method"] = "DELETE"
    assert cancel.lambda_handler(stranger, None)["statusCode"] == 404
    assert jobs_aws.job(job)["status"] == "queued"
    assert status.lambda_handler(event(name), None)["statusCode"] == 200
