"""The job API handlers on moto: submit (202, idempotent, 422 on a reused key), status, result
(pre-signed URL; 409, 404, 410), cancel, caller isolation, forward-only status under a race, and
a JSON 4xx for every client mistake."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import JobsAws, api_event


def call(module: str, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    import importlib

    handler = importlib.import_module(f"handlers.jobs.{module}").lambda_handler
    response = handler(event, None)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def submit(body: Any = None, **kw: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    return call("submit", api_event("POST", "/jobs", body={"input": {"rows": []}} if body is None else body, **kw))


# --- submit ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavor", ["rest", "http"])
def test_submit_answers_202_with_an_unguessable_id_and_queues_the_start(jobs_aws: JobsAws, flavor: str) -> None:
    status, body, headers = submit({"input": {"rows": [{"a": 1}]}}, flavor=flavor)
    assert status == 202
    job_id = body["job_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", job_id)  # 22 x 6 = 132 >= 128 random bits
    stage = "/live" if flavor == "rest" else ""
    assert body["status_url"] == f"https://api.example.com{stage}/jobs/{job_id}" == headers["Location"]
    assert body["result_url"] == body["status_url"] + "/result"
    assert jobs_aws.job(job_id)["status"] == "queued"
    assert jobs_aws.started() == [{"job_id": job_id, "input": {"rows": [{"a": 1}]}, "input_pointer": None}]


def test_job_ids_never_repeat_and_are_not_sequential(jobs_aws: JobsAws) -> None:
    from handlers.jobs.common import new_job_id

    ids = [new_job_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    assert sorted(ids) != ids


def test_a_large_input_travels_to_s3_as_a_pointer(jobs_aws: JobsAws) -> None:
    rows = [{"n": i} for i in range(200)]  # ~1.8 KB, above the 1000-byte inline limit of this test
    status, body, _ = submit({"input": {"rows": rows}})
    assert status == 202
    (message,) = jobs_aws.started()
    pointer = {"bucket": "results", "key": f"inputs/{body['job_id']}.json"}
    assert (message["input"], message["input_pointer"]) == (None, pointer)
    stored = jobs_aws.s3.get_object(Bucket="results", Key=pointer["key"])["Body"].read()
    assert json.loads(stored) == {"rows": rows}


def test_a_retried_submit_with_the_same_key_returns_the_same_job(jobs_aws: JobsAws) -> None:
    first = submit(headers={"Idempotency-Key": "order-42"}, caller="key-a")
    again = submit(headers={"Idempotency-Key": "order-42"}, caller="key-a")
    assert first[0] == again[0] == 202
    assert first[1]["job_id"] == again[1]["job_id"]
    assert len(jobs_aws.started()) == 1  # one job, one start


def test_the_same_key_with_another_body_is_422(jobs_aws: JobsAws) -> None:
    submit(headers={"Idempotency-Key": "order-42"})
    status, body, _ = submit({"input": {"rows": [{"other": 1}]}}, headers={"Idempotency-Key": "order-42"})
    assert status == 422
    assert body == {
        "error": {
            "code": "idempotency_key_reused",
            "message": "this Idempotency-Key was used with a different body; use a new key",
        }
    }


def test_keys_are_scoped_to_the_caller(jobs_aws: JobsAws) -> None:
    a = submit(headers={"Idempotency-Key": "k"}, caller="key-a")
    b = submit({"input": {"x": 1}}, headers={"Idempotency-Key": "k"}, caller="key-b")
    assert (a[0], b[0]) == (202, 202) and a[1]["job_id"] != b[1]["job_id"]


def test_a_failed_start_answers_503_and_marks_the_job_failed(
    jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs_aws.sqs.delete_queue(QueueUrl=jobs_aws.starts)
    status, body, headers = submit()
    assert status == 503 and headers["Retry-After"] == "1"
    assert body["error"]["code"] == "unavailable"
    items = jobs_aws.ddb.scan(TableName="jobs")["Items"]
    assert [(i["status"]["S"], i["error"]["S"]) for i in items] == [("failed", "Jobs.StartFailed")]


def test_a_push_channel_gets_a_token_once_and_the_job_keeps_only_its_hash(
    jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from handlers.jobs import common

    monkeypatch.setenv("PUSH_URL", "wss://push.example.com/live")
    monkeypatch.setenv("PUSH_TOKEN_TTL_S", "3900")
    common.config.cache_clear()
    before = int(time.time())
    status, body, _ = submit(caller="key-a")
    assert status == 202
    push = body["push"]
    assert push["url"] == "wss://push.example.com/live" and len(push["token"]) >= 43
    assert before + 3900 <= push["expires_at"] <= int(time.time()) + 3900
    job = jobs_aws.job(body["job_id"])
    assert job["push_token_sha256"] == hashlib.sha256(push["token"].encode()).hexdigest()
    assert int(job["push_token_expires_at"]) == push["expires_at"] and job["owner"] == "key-a"
    assert push["token"] not in json.dumps(job)


# --- bad input: one JSON 400 each, nothing written -------------------------------------------------
@pytest.mark.parametrize(
    ("event", "code", "message"),
    [
        (
            api_event("POST", "/jobs", raw="{not json"),
            "malformed_json",
            "the body is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            api_event("POST", "/jobs", raw="{}", headers={"Content-Type": "text/plain"}),
            "unsupported_content_type",
            "Content-Type 'text/plain' must be application/json",
        ),
        (
            api_event("POST", "/jobs", raw=json.dumps({"input": {"pad": "x" * 5000}})),
            "body_too_large",
            "the body has 5022 bytes; at most 4096 are accepted",
        ),
        (
            api_event("POST", "/jobs", body={"input": {}, "priority": 1}),
            "unknown_fields",
            "unknown fields priority (allowed: input, callback_url)",
        ),
        (
            api_event("POST", "/jobs", body={"inputs": {}}),
            "unknown_fields",
            "unknown fields inputs (allowed: input, callback_url)",
        ),
        (api_event("POST", "/jobs", body={}), "missing_input", "the body needs an 'input' field"),
        (api_event("POST", "/jobs", body=[1]), "invalid_body", "the body must be a JSON object, got list"),
        (api_event("POST", "/jobs", body={"input": 3}), "invalid_input", "'input' must be a JSON object, got int"),
        (
            api_event("POST", "/jobs", body={"input": {}}, headers={"Idempotency-Key": "x" * 256}),
            "malformed_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ),
        (
            api_event("POST", "/jobs", body={"input": {}, "callback_url": "http://hooks.example.com/x"}),
            "invalid_callback_url",
            "callback_url 'http://hooks.example.com/x' must use https",
        ),
    ],
)
def test_bad_submits_get_one_json_400_naming_the_problem(
    jobs_aws: JobsAws, event: dict[str, Any], code: str, message: str
) -> None:
    status, body, _ = call("submit", event)
    assert (status, body) == (400, {"error": {"code": code, "message": message}})
    assert jobs_aws.ddb.scan(TableName="jobs")["Items"] == []


@pytest.mark.parametrize("module", ["status", "result", "cancel"])
@pytest.mark.parametrize("bad_id", ["", "short", "x" * 23, "../../etc/passwd0000000", "a b" * 7 + "c"])
def test_a_malformed_id_is_400_on_every_read(jobs_aws: JobsAws, module: str, bad_id: str) -> None:
    method = "DELETE" if module == "cancel" else "GET"
    status, body, _ = call(module, api_event(method, f"/jobs/{bad_id}", job_id=bad_id))
    assert status == 400 and body["error"]["code"] == "malformed_job_id"


# --- status, result, cancel ------------------------------------------------------------------------
JOB = "AAAAAAAAAAAAAAAAAAAAAA"


def test_status_shows_timestamps_and_the_error_of_a_failed_job(jobs_aws: JobsAws) -> None:
    jobs_aws.put_job(
        JOB,
        "failed",
        started_at="2026-01-01T00:00:01Z",
        finished_at="2026-01-01T00:00:09Z",
        error="Report.Failed",
        cause="bad rows",
    )
    status, body, _ = call("status", api_event("GET", f"/jobs/{JOB}", job_id=JOB))
    assert status == 200
    assert body == {
        "job_id": JOB,
        "status": "failed",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "started_at": "2026-01-01T00:00:01Z",
        "finished_at": "2026-01-01T00:00:09Z",
        "error": {"code": "Report.Failed", "message": "bad rows"},
        "links": {"self": f"/jobs/{JOB}", "result": f"/jobs/{JOB}/result"},
    }


def test_a_job_running_past_its_execution_timeout_reads_as_timed_out(jobs_aws: JobsAws) -> None:
    jobs_aws.put_job(JOB, "running", started_at="2020-01-01T00:00:00Z")
    status, body, _ = call("status", api_event("GET", f"/jobs/{JOB}", job_id=JOB))
    assert (status, body["status"], body["error"]["code"]) == (200, "timed_out", "States.Timeout")


def test_unknown_ids_and_other_callers_jobs_are_404_alike(jobs_aws: JobsAws) -> None:
    jobs_aws.put_job(JOB, "succeeded", owner="key-a", result_key=f"results/{JOB}", finished_at="2099-01-01T00:00:00Z")
    other = "BBBBBBBBBBBBBBBBBBBBBB"
    for module, method, suffix in (("status", "GET", ""), ("result", "GET", "/result"), ("cancel", "DELETE", "")):
        mine = call(module, api_event(method, f"/jobs/{JOB}{suffix}", job_id=JOB, caller="key-b"))
        unknown = call(module, api_event(method, f"/jobs/{other}{suffix}", job_id=other, caller="key-b"))
        assert mine[0] == unknown[0] == 404, module
        assert mine[1]["error"]["code"] == unknown[1]["error"]["code"] == "job_not_found"
    assert call("status", api_event("GET", f"/jobs/{JOB}", job_id=JOB, caller="key-a"))[0] == 200
    assert jobs_aws.job(JOB)["status"] == "succeeded"  # the other caller's cancel changed nothing


@pytest.mark.parametrize("flavor", ["rest", "http"])
def test_iam_signed_callers_see_only_their_own_jobs(jobs_aws: JobsAws, flavor: str) -> None:
    # GIVEN routes with IAM auth (the reference deployment's apiAuth: iam): API Gateway names the
    # signing principal (REST identity.userArn, HTTP authorizer.iam.userArn), not an API key
    def signed(method: str, path: str, user: str, **kw: Any) -> dict[str, Any]:
        event = api_event(method, path, flavor=flavor, **kw)
        arn = f"arn:aws:iam::123456789012:user/{user}"
        if flavor == "rest":
            event["requestContext"]["identity"]["userArn"] = arn
        else:
            event["requestContext"]["authorizer"] = {"iam": {"userArn": arn}}
        return event

    status, body, _ = call("submit", signed("POST", "/jobs", "alice", body={"input": {"rows": []}}))
    assert status == 202
    job = body["job_id"]
    # WHEN another signed principal asks THEN 404, as for an unknown id; the owner gets 200
    assert call("status", signed("GET", f"/jobs/{job}", "mallory", job_id=job))[0] == 404
    assert call("status", signed("GET", f"/jobs/{job}", "alice", job_id=job))[0] == 200
    assert jobs_aws.job(job)["owner"] == "arn:aws:iam::123456789012:user/alice"


def test_result_is_a_short_lived_presigned_url(jobs_aws: JobsAws) -> None:
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    jobs_aws.put_job(JOB, "succeeded", result_bucket="results", result_key=f"results/{JOB}", finished_at=finished)
    status, body, _ = call("result", api_event("GET", f"/jobs/{JOB}/result", job_id=JOB))
    assert status == 200 and body["expires_in"] == 900
    url = urlsplit(body["url"])
    assert url.scheme == "https" and url.path.endswith(f"/results/{JOB}")
    assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]


@pytest.mark.parametrize(
    ("state", "code"), [("queued", "not_ready"), ("running", "not_ready"), ("failed", "no_result")]
)
def test_result_is_409_while_there_is_none(jobs_aws: JobsAws, state: str, code: str) -> None:
    jobs_aws.put_job(JOB, state, started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    status, body, _ = call("result", api_event("GET", f"/jobs/{JOB}/result", job_id=JOB))
    assert (status, body["error"]["code"]) == (409, code)


def test_result_is_410_once_expired(jobs_aws: JobsAws) -> None:
    jobs_aws.put_job(JOB, "succeeded", result_key=f"results/{JOB}", finished_at="2020-01-01T00:00:00Z")
    status, body, _ = call("result", api_event("GET", f"/jobs/{JOB}/result", job_id=JOB))
    assert (status, body["error"]["code"]) == (410, "result_expired")


def test_cancel_a_queued_job_then_cancel_again_is_409(jobs_aws: JobsAws) -> None:
    jobs_aws.put_job(JOB, "queued")
    first = call("cancel", api_event("DELETE", f"/jobs/{JOB}", job_id=JOB))
    assert first[:2] == (202, {"job_id": JOB, "status": "cancelled"})
    assert jobs_aws.job(JOB)["status"] == "cancelled"
    again = call("cancel", api_event("DELETE", f"/jobs/{JOB}", job_id=JOB))
    assert again[:2] == (
        409,
        {"error": {"code": "already_finished", "message": f"job {JOB!r} is cancelled and can no longer be cancelled"}},
    )


def test_cancel_a_running_job_stops_its_execution(jobs_aws: JobsAws) -> None:
    execution = jobs_aws.sfn.start_execution(stateMachineArn=jobs_aws.state_machine, name=JOB)["executionArn"]
    jobs_aws.put_job(JOB, "running", execution_arn=execution)
    assert call("cancel", api_event("DELETE", f"/jobs/{JOB}", job_id=JOB))[0] == 202
    assert jobs_aws.sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"


class RecordingSfn:
    """The Step Functions client, with every call it is asked to make recorded."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.real, name)


def test_given_an_express_job_when_it_is_cancelled_then_the_status_write_alone_cancels_it(
    jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.jobs import cancel, common

    sfn = RecordingSfn(common.client("stepfunctions"))
    monkeypatch.setattr(cancel, "client", lambda service: sfn if service == "stepfunctions" else common.client(service))
    express = f"arn:aws:states:eu-west-1:123456789012:express:jobs:{JOB}:6b2d1c1e-0d3a-4f6e-9f7a-1a2b3c4d5e6f"
    jobs_aws.put_job(JOB, "running", execution_arn=express)
    assert call("cancel", api_event("DELETE", f"/jobs/{JOB}", job_id=JOB))[:2] == (
        202,
        {"job_id": JOB, "status": "cancelled"},
    )
    assert jobs_aws.job(JOB)["status"] == "cancelled"
    assert sfn.calls == []  # StopExecution exists for Standard executions only


@pytest.mark.parametrize(
    ("arn", "standard"),
    [
        ("arn:aws:states:eu-west-1:123456789012:execution:jobs:abc", True),
        ("arn:aws:states:eu-west-1:123456789012:express:jobs:abc:0f1e", False),
        ("", False),
    ],
)
def test_only_standard_execution_arns_can_be_stopped(arn: str, standard: bool) -> None:
    from handlers.jobs.common import is_standard_execution

    assert is_standard_execution(arn) is standard


def test_given_a_job_reported_timed_out_when_it_is_cancelled_then_409_and_it_stays_timed_out(
    jobs_aws: JobsAws,
) -> None:
    jobs_aws.put_job(JOB, "running", started_at="2020-01-01T00:00:00Z")
    assert call("status", api_event("GET", f"/jobs/{JOB}", job_id=JOB))[1]["status"] == "timed_out"
    status, body, _ = call("cancel", api_event("DELETE", f"/jobs/{JOB}", job_id=JOB))
    assert (status, body) == (
        409,
        {"error": {"code": "already_finished", "message": f"job {JOB!r} is timed_out and can no longer be cancelled"}},
    )
    assert jobs_aws.job(JOB)["status"] == "timed_out"
    for module, suffix in (("status", ""), ("result", "/result")):
        answer = call(module, api_event("GET", f"/jobs/{JOB}{suffix}", job_id=JOB))
        assert answer[1].get("status", answer[1].get("error", {}).get("message")) in (
            "timed_out",
            f"job {JOB!r} is timed_out and has no result",
        ), module


def test_given_a_running_job_within_its_deadline_when_it_is_cancelled_then_it_is_cancelled(
    jobs_aws: JobsAws,
) -> None:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    jobs_aws.put_job(JOB, "running", started_at=started)
    assert call("cancel", api_event("DELETE", f"/jobs/{JOB}", job_id=JOB))[0] == 202
    assert jobs_aws.job(JOB)["status"] == "cancelled"


# --- forward-only status --------------------------------------------------------------------------
def test_status_never_moves_backwards(jobs_aws: JobsAws) -> None:
    from handlers.jobs.common import transition

    jobs_aws.put_job(JOB, "queued")
    assert transition(JOB, "running") and transition(JOB, "succeeded")
    assert not transition(JOB, "running") and not transition(JOB, "cancelled") and not transition(JOB, "failed")
    assert jobs_aws.job(JOB)["status"] == "succeeded"
    assert not transition("CCCCCCCCCCCCCCCCCCCCCC", "cancelled")  # no job: nothing created
    with pytest.raises(ValueError, match="status 'queued' is not one of running, succeeded"):
        transition(JOB, "queued")


def test_two_racing_writers_leave_exactly_one_winner(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies the writes to one item one at a time; moto does not (two threads can both
    pass a condition). The lock below restores AWS's per-item serialisation, so what this test
    checks is ours: that the conditions leave exactly one of two terminal writers standing."""
    from moto.dynamodb.models import DynamoDBBackend

    from handlers.jobs.common import transition

    lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def serialised(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", serialised)

    for round_ in range(20):
        job_id = f"{round_:022d}"
        jobs_aws.put_job(job_id, "running")
        results: dict[str, bool] = {}
        barrier = threading.Barrier(2)

        def write(to: str, job_id: str = job_id, results: dict[str, bool] = results, barrier: Any = barrier) -> None:
            barrier.wait()
            results[to] = transition(job_id, to)

        threads = [threading.Thread(target=write, args=(to,)) for to in ("succeeded", "cancelled")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [False, True], results
        winner = next(to for to, won in results.items() if won)
        assert jobs_aws.job(job_id)["status"] == winner


# --- starter and worker ---------------------------------------------------------------------------
def test_the_starter_starts_each_job_once_and_dead_letters_malformed_messages(jobs_aws: JobsAws) -> None:
    from handlers.jobs.starter import handle_batch

    good: dict[str, Any] = {"job_id": JOB, "input": {"rows": []}, "input_pointer": None}
    records = [
        {"messageId": "1", "body": json.dumps(good)},
        {"messageId": "2", "body": json.dumps(good)},  # a redelivery: already started counts as done
        {"messageId": "3", "body": "not json"},
    ]
    assert handle_batch(records, jobs_aws.start_dlq) == {"batchItemFailures": []}
    executions = jobs_aws.sfn.list_executions(stateMachineArn=jobs_aws.state_machine)["executions"]
    assert [e["name"] for e in executions] == [JOB]
    dead = jobs_aws.sqs.receive_message(QueueUrl=jobs_aws.start_dlq, MessageAttributeNames=["All"])["Messages"]
    assert [(m["Body"], m["MessageAttributes"]["reason"]["StringValue"]) for m in dead] == [
        ("not json", "the body is not JSON")
    ]


def test_a_start_that_fails_stays_on_the_queue(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.jobs import common
    from handlers.jobs.starter import handle_batch

    monkeypatch.setenv("STATE_MACHINE_ARN", jobs_aws.state_machine.replace(":jobs", ":missing"))
    common.config.cache_clear()
    records = [{"messageId": "1", "body": json.dumps({"job_id": JOB, "input": {}, "input_pointer": None})}]
    assert handle_batch(records, jobs_aws.start_dlq) == {"batchItemFailures": [{"itemIdentifier": "1"}]}


def worker_event(**overrides: Any) -> dict[str, Any]:
    """What the workflow's RunWorker state sends: the job, and where to write and read."""
    event = {
        "job_id": JOB,
        "input": {"rows": [{"a": 1, "b": 2}]},
        "input_pointer": None,
        "deadline": time.time() + 60,
        "results_bucket": "results",
        "result_key": f"results/{JOB}",
        "jobs_table": "jobs",
    }
    return {**event, **overrides}


def test_the_sample_worker_renders_honours_cancellation_and_its_deadline(jobs_aws: JobsAws) -> None:
    from handlers.jobs import worker

    jobs_aws.put_job(JOB, "running")
    event = worker_event()
    assert worker.run(event, lambda: 30.0) == {"bucket": "results", "key": f"results/{JOB}"}
    assert jobs_aws.s3.get_object(Bucket="results", Key=f"results/{JOB}")["Body"].read() == b"a,b\r\n1,2\r\n"
    with pytest.raises(worker.DeadlineExceeded):
        worker.run({**event, "deadline": time.time() + 1}, lambda: 30.0)
    jobs_aws.put_job(JOB, "cancelled")
    with pytest.raises(worker.JobCancelled):
        worker.run(event, lambda: 30.0)


def test_given_no_environment_when_the_worker_runs_then_it_writes_where_the_payload_says(
    jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.jobs import common, worker

    for name in ("RESULTS_BUCKET", "JOBS_TABLE"):  # the user's worker is created before the workflow
        monkeypatch.delenv(name)
    common.config.cache_clear()
    jobs_aws.s3.create_bucket(Bucket="reports-7", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    jobs_aws.put_job(JOB, "running")
    answer = worker.run(worker_event(results_bucket="reports-7"), lambda: 30.0)
    assert answer == {"bucket": "reports-7", "key": f"results/{JOB}"}
    assert jobs_aws.s3.get_object(Bucket="reports-7", Key=f"results/{JOB}")["Body"].read() == b"a,b\r\n1,2\r\n"


def test_given_a_payload_without_its_destination_when_the_worker_runs_then_it_names_what_is_missing(
    jobs_aws: JobsAws,
) -> None:
    from handlers.jobs import worker

    with pytest.raises(worker.BadInput) as raised:
        worker.run(worker_event(results_bucket=None, jobs_table=""), lambda: 30.0)
    assert str(raised.value) == (
        "the payload lacks results_bucket, jobs_table (AsyncJobWorkflow sends them with every job)"
    )


class FakeSfn:
    """Records the callbacks a worker sends for its task token."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task_success(self, **kw: Any) -> None:
        self.sent.append(("success", kw))

    def send_task_failure(self, **kw: Any) -> None:
        self.sent.append(("failure", kw))

    def send_task_heartbeat(self, **kw: Any) -> None:
        self.sent.append(("heartbeat", kw))


@pytest.fixture
def callbacks(jobs_aws: JobsAws, monkeypatch: pytest.MonkeyPatch) -> FakeSfn:
    from handlers.jobs import common, worker

    sfn = FakeSfn()
    monkeypatch.setattr(worker, "client", lambda service: sfn if service == "stepfunctions" else common.client(service))
    return sfn


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"results_bucket": "no-such-bucket"}, "NoSuchBucket"),  # S3 refuses the write
        ({"jobs_table": None}, "BadInput"),  # a payload the workflow never sends
        ({"input": ["not", "an", "object"]}, "BadInput"),
        ({"input": {"rows": "abc"}}, "AttributeError"),  # the renderer itself fails
        ({"deadline": 1}, "DeadlineExceeded"),
    ],
)
def test_given_a_callback_worker_when_anything_fails_then_it_sends_the_task_failure(
    jobs_aws: JobsAws, callbacks: FakeSfn, event: dict[str, Any], error: str
) -> None:
    from handlers.jobs import worker

    jobs_aws.put_job(JOB, "running")
    with pytest.raises(Exception):  # noqa: B017 (the Lambda invocation fails too, whatever the error)
        worker.lambda_handler(worker_event(task_token="tok-1", **event), None)
    assert [(kind, kw["taskToken"], kw.get("error")) for kind, kw in callbacks.sent] == [("failure", "tok-1", error)]


def test_given_a_callback_worker_when_it_succeeds_then_it_sends_the_task_success(
    jobs_aws: JobsAws, callbacks: FakeSfn
) -> None:
    from handlers.jobs import worker

    jobs_aws.put_job(JOB, "running")
    worker.lambda_handler(worker_event(task_token="tok-1", heartbeat_s=60), None)
    assert callbacks.sent == [
        ("success", {"taskToken": "tok-1", "output": json.dumps({"bucket": "results", "key": f"results/{JOB}"})})
    ]


def test_given_long_work_when_half_the_heartbeat_interval_passes_then_the_worker_heartbeats(
    jobs_aws: JobsAws,
) -> None:
    from handlers.jobs import worker

    sfn, now = FakeSfn(), [0.0]
    tick = worker.heartbeat(sfn, "tok-1", interval_s=60, clock=lambda: now[0])
    for elapsed in (10, 29, 30, 45, 59, 60, 85):
        now[0] = elapsed
        tick()
    # 30 s after the start, then 30 s after that heartbeat (60 s), and nothing more by 85 s
    assert sfn.sent == [("heartbeat", {"taskToken": "tok-1"})] * 2
    jobs_aws.put_job(JOB, "running")
    ticks: list[int] = []
    rows = [{"a": i} for i in range(3 * worker.CHUNK)]
    worker.run(worker_event(input={"rows": rows}), lambda: 30.0, tick=lambda: ticks.append(1))
    assert len(ticks) == 3  # one chance to heartbeat per chunk


def test_given_no_results_bucket_variable_when_a_job_handler_reads_its_config_then_the_error_names_it() -> None:
    from handlers.jobs.common import Config
    from handlers.resilience.contract import MissingVariable

    env = {"JOBS_TABLE": "jobs", "IDEMPOTENCY_TABLE": "idempotency", "STATE_MACHINE_ARN": "arn:sm"}
    with pytest.raises(MissingVariable) as raised:
        Config.from_env(env, module="handlers.jobs.result")
    assert str(raised.value) == (
        "handlers.jobs.result needs the environment variable RESULTS_BUCKET (set by the component that "
        "deploys it); it has no default"
    )


def test_the_recorder_records_an_execution_timeout_once_and_announces_it(jobs_aws: JobsAws) -> None:
    from handlers.jobs.recorder import record

    hooks = jobs_aws.sqs.create_queue(QueueName="hooks")["QueueUrl"]
    jobs_aws.put_job(JOB, "running")
    detail = {"name": JOB, "status": "TIMED_OUT", "executionArn": "arn:aws:states:eu-west-1:1:execution:sm:x"}
    assert record(detail, hooks) is True
    job = jobs_aws.job(JOB)
    assert (job["status"], job["error"]) == ("timed_out", "States.Timeout")
    assert record({**detail, "status": "FAILED"}, hooks) is False  # already ended: left alone
    notices = jobs_aws.sqs.receive_message(QueueUrl=hooks, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in notices] == [{"job_id": JOB, "status": "timed_out"}]


def test_the_recorder_leaves_jobs_the_workflow_already_recorded(jobs_aws: JobsAws) -> None:
    from handlers.jobs.recorder import record

    jobs_aws.put_job(JOB, "failed", error="Report.Failed")
    assert record({"name": JOB, "status": "FAILED", "error": "Jobs.Failed"}, None) is False
    assert jobs_aws.job(JOB)["error"] == "Report.Failed"
    assert record({"name": JOB, "status": "SUCCEEDED"}, None) is False
