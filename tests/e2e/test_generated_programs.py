"""Random valid programs built from the components, written as a user writes them into a project
directory: the plan and the policy pack never raise, and under the local run a message sent to
each route ends processed, dead-lettered with its reason, or refused with a 4xx, never lost.

A program may hold a component of the user's own (``Outbox``: a queue with its DLQ and a
ResilientFunction draining it through a mapping the user writes) joined to the dashboard by
``@contributes`` and ``Operations``, as the consumer program ``tests/consumers/operations_own``
does; a route sends to its queue like any other.

The file runs on about 20 s of CPU (1 derandomized example and 2 explicit ones that hold every
route kind, each a whole program planned, checked by the pack and run locally): about 45 s of wall
time with two runs per core, more on a busier machine."""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from resilient_serverless.components.cli import main as cli_main
from resilient_serverless.components.policy import policies
from resilient_serverless.components.testing import LocalRun, run_locally
from resilient_serverless.components.testing.policy import analyze

from .conftest import RUNS

# Routes a generated program may hold: a raw queue (no consumer) standard or FIFO, a
# PriorityQueuePair (a consumer) standard or FIFO, a ResilientFunction behind a sync route, the
# queue of a user's own component (its consumer a ResilientFunction under Operations).
ROUTE_KINDS = ("queue", "queue_fifo", "pair", "pair_fifo", "function", "own")

INGEST = """\
from resilient_serverless.handlers.resilience.priority import consumer_from_env


def order_of(message):
    # A queue route forwards an envelope; the client's order is its body.
    return message.get("body", message) if isinstance(message, dict) and "envelope" in message else message


def reason_invalid(message):
    order = order_of(message)
    return None if isinstance(order, dict) and order.get("quantity", 0) > 0 else "quantity must be positive"


def process(message, record):
    print("stored", order_of(message)["order_id"])


consumer = consumer_from_env(process, validate=reason_invalid)


def lambda_handler(event, context):
    return consumer.handle(event)
"""

LOOKUP = """\
import json


def handle(event, context):
    return {"statusCode": 200, "body": json.dumps({"found": event.get("pathParameters")})}
"""

OUTBOX = """\
import json


def send(event, context):
    # The user's own consumer: a message it cannot send stays failed, so SQS redrives it to the DLQ.
    failures = []
    for record in event["Records"]:
        message = json.loads(record["body"])
        order = message.get("body", message)
        if order.get("quantity", 0) > 0:
            print("sent", order["order_id"])
        else:
            print("refused", order["order_id"], "quantity must be positive")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""

# A component of the user's own, as a user writes it: a queue with its DLQ drained by a
# ResilientFunction through the user's mapping, shown on the dashboard through @contributes.
OWN_COMPONENT = """\
class Outbox(pulumi.ComponentResource):
    def __init__(self, name, code):
        super().__init__("acme:index:Outbox", name)
        child = pulumi.ResourceOptions(parent=self)
        dead = aws.sqs.Queue(f"{name}-dlq", name=f"{name}-dlq", message_retention_seconds=1_209_600,
                             sqs_managed_sse_enabled=True, opts=child)
        self.queue = aws.sqs.Queue(f"{name}-queue", name=f"{name}-queue", sqs_managed_sse_enabled=True,
                                   visibility_timeout_seconds=60,
                                   redrive_policy=dead.arn.apply(lambda arn: json.dumps(
                                       {"deadLetterTargetArn": arn, "maxReceiveCount": 2})), opts=child)
        self.sender = ResilientFunction(f"{name}-sender", {"handler": "outbox.send", "code": code,
                                        "invocation": "queue", "timeout": 10}, opts=child)
        grant = self.sender.grants.consume_from(self.queue)
        aws.lambda_.EventSourceMapping(f"{name}-mapping", event_source_arn=self.queue.arn,
                                       function_name=self.sender.function_name, batch_size=10,
                                       function_response_types=["ReportBatchItemFailures"],
                                       scaling_config={"maximum_concurrency": 2},
                                       opts=pulumi.ResourceOptions(parent=self, depends_on=[grant]))
        self.register_outputs({"queue_url": self.queue.url})


@contributes(Outbox)
def _outbox(outbox, ctx):
    return Contribution("queues", f"Outbox: {outbox._name}", widgets=[ctx.metric(
        "outbox depth", [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", outbox.queue.name]])])
"""

RENDER = """\
import json

import boto3


def render(event, context):
    body = json.dumps({"ok": True})
    boto3.client("s3").put_object(Bucket=event["results_bucket"], Key=event["result_key"], Body=body)
    return {"bucket": event["results_bucket"], "key": event["result_key"]}
"""


@dataclass(frozen=True)
class Program:
    flavor: str  # "rest" | "http"
    routes: tuple[str, ...]  # one of ROUTE_KINDS per route, at /r<i>
    jobs: str | None  # None | "polling" | "push"

    def source(self) -> str:
        lines = [
            "import json",
            "import pulumi",
            "import pulumi_aws as aws",
            "from resilient_serverless.components import (",
            "    AsyncJobWorkflow, PriorityQueuePair, ResilientFunction, ThrottledApi, WebSocketNotifier,",
            "    Operations, package_function,",
            ")",
            "from resilient_serverless.components.operations import Contribution, contributes",
            OWN_COMPONENT,
            "code = package_function(",
            '    "./src", handlers=["ingest.lambda_handler", "lookup.handle", "reports.render", "outbox.send"]',
            ")",
            "routes = []",
            "own = []",
        ]
        for i, kind in enumerate(self.routes):
            fifo = kind.endswith("_fifo")
            path = f"/r{i}/{{key}}"
            ids = ', "group_id": "path.key", "dedup_id": "request_id"' if fifo else ""
            if kind.startswith("queue"):
                suffix = ".fifo" if fifo else ""
                lines += [
                    f'dead{i} = aws.sqs.Queue("q{i}-dlq", name="q{i}-dlq{suffix}", fifo_queue={fifo},'
                    " message_retention_seconds=1_209_600, sqs_managed_sse_enabled=True)",
                    f'queue{i} = aws.sqs.Queue("q{i}", name="q{i}{suffix}", fifo_queue={fifo},'
                    f" sqs_managed_sse_enabled=True, redrive_policy=dead{i}.arn.apply(lambda arn: json.dumps("
                    '{"deadLetterTargetArn": arn, "maxReceiveCount": 5})))',
                    f'routes.append({{"method": "POST", "path": "{path}", "queue": queue{i}{ids}}})',
                ]
            elif kind.startswith("pair"):
                lines += [
                    f'pair{i} = PriorityQueuePair("p{i}", {{"handler": "ingest.lambda_handler", "code": code,'
                    f' "consumer": {{"timeout": 10}}, "fifo": {fifo}, "ttl_s": None}})',
                    f'routes.append({{"method": "POST", "path": "{path}", "queue": pair{i}{ids}}})',
                ]
            elif kind == "own":
                lines += [
                    f'own.append(Outbox("o{i}", code))',
                    f'routes.append({{"method": "POST", "path": "{path}", "queue": own[-1].queue}})',
                ]
            else:
                lines += [
                    f'fn{i} = ResilientFunction("fn{i}", {{"handler": "lookup.handle", "code": code}})',
                    f'routes.append({{"method": "GET", "path": "{path}", "function": fn{i}}})',
                ]
        if self.jobs:
            lines.append(
                'renderer = ResilientFunction("renderer", {"handler": "reports.render", "code": code,'
                ' "invocation": "async", "timeout": 60})'
            )
            push = ', "push": WebSocketNotifier("push", {})' if self.jobs == "push" else ""
            lines += [
                f'jobs = AsyncJobWorkflow("reports", {{"worker": renderer, "path": "/reports", '
                f'"api_flavor": "{self.flavor}"{push}}})',
                "routes += [*jobs.routes]",
            ]
        lines += [
            f'api = ThrottledApi("front", {{"flavor": "{self.flavor}", "routes": routes}})',
            'pulumi.export("url", api.url)',
            # The user's components join the dashboard beside the library's (collected on their own).
            'Operations("ops", {"components": [*own, api]}) if own else None',
        ]
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True)
        (directory / "Pulumi.yaml").write_text("name: generated\nruntime: python\n")
        (directory / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
        (directory / "__main__.py").write_text(self.source())
        src = directory / "src"
        src.mkdir()
        for name, text in (("ingest.py", INGEST), ("lookup.py", LOOKUP), ("reports.py", RENDER), ("outbox.py", OUTBOX)):
            (src / name).write_text(text)
        return directory


ROUTES = st.lists(st.sampled_from(ROUTE_KINDS), min_size=1, max_size=3).map(tuple)
# A job workflow's routes validate their body (REST only), so jobs go on REST APIs; the HTTP case
# is pinned apart below.
programs = st.one_of(
    st.builds(Program, flavor=st.just("rest"), routes=ROUTES, jobs=st.sampled_from([None, "polling", "push"])),
    st.builds(Program, flavor=st.just("http"), routes=ROUTES, jobs=st.sampled_from([None, "polling"])),
)


def plan_exit(directory: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(["plan", "--stack", "dev", "--project-dir", str(directory)])
    return code, err.getvalue()


def queue_messages(run: LocalRun, name: str) -> list[dict[str, Any]]:
    sqs = run.client("sqs")
    urls = [u for u in sqs.list_queues()["QueueUrls"] if re.fullmatch(name, u.rsplit("/", 1)[-1])]
    found: list[dict[str, Any]] = []
    for url in urls:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        )
        found += answer.get("Messages") or []
    return found


def where_it_ended(run: LocalRun, program: Program, index: int, key: str, status: int) -> list[str]:
    """Every place the message sent to route ``index`` ended (exactly one when nothing is lost)."""
    kind = program.routes[index]
    places = []
    if 400 <= status < 500:
        places.append("refused")
    if kind == "function" and status == 200:
        places.append("processed")
    if kind.startswith("queue"):
        held = [m for m in queue_messages(run, rf"(.*-)?q{index}(\.fifo)?") if key in m["Body"]]
        places += ["held in its queue"] * len(held)
        dead = [m for m in queue_messages(run, rf"(.*-)?q{index}-dlq(\.fifo)?") if key in m["Body"]]
        places += ["dead-lettered"] * len(dead)
    if kind == "own":
        sender = next(name for name in run.functions.specs if re.search(rf"-o{index}-sender$", name))
        log = run.log_of(sender)
        places += ["processed"] * log.count(f"sent {key}")
        dead = [m for m in queue_messages(run, rf"(.*-)?o{index}-dlq") if key in m["Body"]]
        reason = "quantity must be positive" if f"refused {key} quantity must be positive" in log else None
        places += [f"dead-lettered: {reason}"] * len(dead)
    if kind.startswith("pair"):
        consumers = [name for name in run.functions.specs if re.search(rf"-p{index}-(high|low)-consumer$", name)]
        stored = sum(run.log_of(name).count(f"stored {key}") for name in consumers)
        places += ["processed"] * stored
        dead = [m for m in queue_messages(run, rf".*-p{index}-high-dlq(\.fifo)?") if key in m["Body"]]
        places += [
            "dead-lettered: " + str(m.get("MessageAttributes", {}).get("reason", {}).get("StringValue")) for m in dead
        ]
    return places


@settings(
    max_examples=1,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # shrinking reruns whole stacks: minutes, not seconds
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=programs)
# Every route kind, both flavours and push, whatever the derandomized draws hold; the user's own
# component with a good message (even index) and a bad one (odd index).
@example(program=Program("rest", ("function", "pair", "own", "queue"), "push"))
@example(program=Program("http", ("queue_fifo", "own", "pair", "function"), None))
def test_a_generated_program_plans_passes_the_pack_and_never_loses_a_message(program: Program, tmp_path: Path) -> None:
    RUNS.close()  # one local run per process: no stack run may be open meanwhile
    directory = program.write(tmp_path / uuid.uuid4().hex[:8])
    # GIVEN a random valid program; WHEN it is planned
    code, err = plan_exit(directory)
    # THEN the plan does not raise: findings or not (0/1), or one line naming what the program broke
    assert code in (0, 1) or (code == 2 and len(err.strip().splitlines()) == 1), (code, err, program.source())
    # WHEN it runs locally and a message is sent to each route, then the work settles
    with run_locally("dev", project_dir=directory) as run:
        # THEN the policy pack, every rule as a policy, reads its graph without raising
        assert isinstance(analyze(run.graph, policies()), list)
        sent = {}
        for index, kind in enumerate(program.routes):
            key = f"k{index}-{uuid.uuid4().hex[:8]}"
            if kind == "function":
                answer = run.request("GET", f"/r{index}/{key}")
            else:
                answer = run.request("POST", f"/r{index}/{key}", json={"order_id": key, "quantity": 1 + index % 2 * -1})
            sent[index] = (key, answer)
        jobs = []
        if program.jobs:
            submitted = run.request("POST", "/reports", json={"input": {"rows": 1}})
            assert submitted.status == 202, submitted
            jobs.append(submitted.json()["job_id"])
        run.settle()
        # THEN each message ended in exactly one place: processed, dead-lettered with a reason, refused
        ended = {
            index: where_it_ended(run, program, index, key, answer.status) for index, (key, answer) in sent.items()
        }
        for index, places in ended.items():
            assert len(places) == 1, (index, program.routes[index], sent[index][1], places, program.source())
            assert places[0] != "dead-lettered: None", (index, places)
        for job_id in jobs:
            assert run.request("GET", f"/reports/{job_id}").json()["status"] == "succeeded"


def test_a_job_workflow_behind_an_http_api_plans_clean(tmp_path: Path) -> None:
    # GIVEN a program whose only API is HTTP and fronts a job workflow built for it
    directory = Program("http", ("function",), "polling").write(tmp_path / "jobs-http")
    # WHEN it is planned; THEN the plan ends with findings or none, not a refused program
    code, err = plan_exit(directory)
    assert code in (0, 1), err


def test_job_routes_built_for_rest_on_an_http_api_are_refused_naming_the_cure(tmp_path: Path) -> None:
    # GIVEN the same program, its workflow built for the default REST flavour
    directory = Program("http", ("function",), "polling").write(tmp_path / "jobs-http")
    main = directory / "__main__.py"
    main.write_text(main.read_text().replace(', "api_flavor": "http"', ""))
    # WHEN it is planned THEN exit 2, one line naming the route and how to build the workflow
    code, err = plan_exit(directory)
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert "request validation (body_schema, required_params) is REST only" in err, err
    assert "(a route of an AsyncJobWorkflow: build it with api_flavor='http')" in err, err
