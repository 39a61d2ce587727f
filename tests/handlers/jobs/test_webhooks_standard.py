"""Deliveries in the Standard Webhooks format, verified by the reference libraries a receiver
would use: ``standardwebhooks`` from PyPI, and from npm through ``node`` when npm is here."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks

from .conftest import JobsAws
from .test_webhook_registration_and_delivery import JOB, FakeEndpoint, record, register

NODE_VERIFIER = """
const { Webhook } = require("standardwebhooks");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
try {
  new Webhook(input.secret).verify(Buffer.from(input.body, "base64").toString("utf8"), input.headers);
  console.log("verified");
} catch (e) {
  console.log("refused: " + e.message);
}
"""


@pytest.fixture
def endpoint(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> FakeEndpoint:
    from handlers.jobs import webhooks

    fake = FakeEndpoint()
    monkeypatch.setattr(webhooks, "SENDER", [fake])
    return fake


def delivered(jobs_aws: JobsAws, endpoint: FakeEndpoint) -> tuple[str, bytes, dict[str, str]]:
    """One finished job delivered to a freshly registered hook: its secret, body and headers."""
    from handlers.jobs.webhooks import dispatch_batch

    secret = register(all_jobs=True)[1]["secret"]
    jobs_aws.put_job(JOB, "failed", owner="key-a", error="Report.Failed", cause="bad rows")
    assert dispatch_batch([record()]) == {"batchItemFailures": []}
    _, body, headers = endpoint.calls[-1]
    return secret, body, headers


def test_the_reference_python_package_verifies_a_delivery_and_the_id_is_in_the_body(
    jobs_aws: JobsAws, endpoint: FakeEndpoint
) -> None:
    # GIVEN a delivery WHEN verified by the standardwebhooks package THEN it passes, and the body's id
    # is the signed webhook-id
    secret, body, headers = delivered(jobs_aws, endpoint)
    payload = standardwebhooks.Webhook(secret).verify(body, headers)
    assert payload["id"] == headers["webhook-id"] == "m-1"
    assert payload["job"]["status"] == "failed"


def test_a_delivery_replayed_under_a_new_id_fails_the_reference_verification(
    jobs_aws: JobsAws, endpoint: FakeEndpoint
) -> None:
    # GIVEN a captured delivery WHEN replayed with a new webhook-id (to pass the receiver's dedup)
    secret, body, headers = delivered(jobs_aws, endpoint)
    replayed = {**headers, "webhook-id": "m-2"}
    # THEN the reference package refuses it
    with pytest.raises(standardwebhooks.WebhookVerificationError, match="No matching signature found"):
        standardwebhooks.Webhook(secret).verify(body, replayed)


@pytest.fixture(scope="module")
def node_verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the npm standardwebhooks package and a verifier script, or a skip saying why."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("npm or node is not installed: the npm standardwebhooks package cannot run here")
    where = tmp_path_factory.mktemp("standardwebhooks-npm")
    try:
        subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "standardwebhooks"],
            cwd=where,
            check=True,
            capture_output=True,
            timeout=180,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"npm could not install standardwebhooks (no registry?): {exc}")
    (where / "verify.js").write_text(NODE_VERIFIER)
    return where


def node_verdict(where: Path, secret: str, body: bytes, headers: dict[str, Any]) -> str:
    node = shutil.which("node")
    assert node is not None
    given = json.dumps({"secret": secret, "headers": headers, "body": base64.b64encode(body).decode()})
    run = subprocess.run(
        [node, "verify.js"], check=True, cwd=where, input=given, capture_output=True, text=True, timeout=60
    )
    return run.stdout.strip() or run.stderr.strip()


def test_the_reference_npm_package_verifies_a_delivery(
    jobs_aws: JobsAws, endpoint: FakeEndpoint, node_verifier: Path
) -> None:
    secret, body, headers = delivered(jobs_aws, endpoint)
    assert node_verdict(node_verifier, secret, body, headers) == "verified"


def test_the_reference_npm_package_refuses_a_delivery_replayed_under_a_new_id(
    jobs_aws: JobsAws, endpoint: FakeEndpoint, node_verifier: Path
) -> None:
    secret, body, headers = delivered(jobs_aws, endpoint)
    assert node_verdict(node_verifier, secret, body, {**headers, "webhook-id": "m-2"}) == (
        "refused: No matching signature found"
    )
