"""PriorityQueuePair: queues that never build a silent backlog.

What you get by default (``defaults.py``, each pinned by a test): a high- and a low-priority SQS
queue, each with its own DLQ of the same type (14 days' retention, longer than the 4 days of its
source), SQS-managed encryption, redrive after 5 receives, and a visibility timeout of 6x the
consumer's timeout plus the batching window. One consumer (a ResilientFunction in ``queue`` mode)
per queue, through a mapping with batches of 10, a 1 s batching window (none on FIFO), partial
batch responses and its own maximum concurrency (high 10, low 2), so a flood on one queue cannot
take the other's capacity. The high consumer defers messages older than 60 s to the low queue;
a TTL drop is off until the owner sets ``ttl_s``. Alarms on the oldest message age (high 5 min, low
1 h) and on any message in a DLQ.

Options: ``surge`` (a surge queue with its own consumer, and thresholds for the producer's
``Router``), ``shards`` (n queues, each tenant permanently on k of them), ``fifo``, and
``dedup_table`` (deferral and DLQ writes recorded per message, so a redelivery after a timeout
between a write and its acknowledgement does not write again), ``pollers`` (provisioned mode on
every consumer mapping instead of a maximum concurrency, for surges; its minimum is paid hourly).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypedDict

import pulumi
import pulumi_aws as aws
from typing_extensions import Unpack

from . import defaults
from .base import ResilientComponent, Transform
from .blocks import dead_letter_queue, dlq_depth_alarm, queue_with_dlq, sqs_mapping
from .packaging import handler_problem
from .queues import visibility_timeout_for
from .resilient_function import (
    ResilientFunction,
    ResilientFunctionArgs,
    check_handler_and_code,
    check_nested_function_args,
)
from .validation import Arg, Problems, component_args, int_range, read_args

__all__ = ["PriorityQueuePair", "PriorityQueuePairArgs"]

ROLES = ("high", "low", "surge", "shard")


class SurgeArgs(TypedDict, total=False):
    backlog: int
    """Route to the surge queue while the warm queue holds more visible messages than this."""
    age_s: int
    """... or while its oldest message is older than this (seconds)."""


class ShardArgs(TypedDict):
    count: int
    """n shard queues, 2 to 100."""
    per_tenant: int
    """k queues per tenant, 1 to n - 1."""


class PollersArgs(TypedDict):
    min: int
    """Event pollers kept ready (paid every hour), 2 to 200."""
    max: int
    """Event pollers the mapping may scale to, 2 to 2000, at least ``min``."""


class PriorityQueuePairArgs(TypedDict, total=False):
    """Arguments of PriorityQueuePair. ``handler`` and ``code`` (of the consumers) are required.

    ``transform`` keys: queue, dlq, mapping, alarm (consumer functions take theirs through
    ``consumer['transform']``).
    """

    handler: str
    """The consumers' handler; build it with ``handlers.resilience.priority.consumer_from_env``."""
    code: pulumi.Archive | str
    consumer: ResilientFunctionArgs
    """Extra ResilientFunction arguments for every consumer (timeout, memory, environment...)."""
    fifo: bool
    """FIFO queues (``.fifo`` names, ordered per message group). Default: False."""
    content_based_deduplication: bool
    """FIFO only: deduplicate on the body's hash rather than explicit ids. Default: True."""
    defer_after_s: int | None
    """High consumer: move messages older than this to the low queue. None: never. Default: 60
    (None on FIFO, where deferral would reorder a group)."""
    ttl_s: int | None
    """Drop (and count) messages older than this. Default: None (never drop)."""
    batch_size: int
    """Messages per invocation: 1 to 10000 (FIFO 10; above 10 needs a batching window). Default: 10."""
    batching_window_s: int
    """0 to 300 s; FIFO must be 0. Default: 1 (0 on FIFO)."""
    max_concurrency: Mapping[str, int]
    """Per role (high, low, surge, shard), 2 to 1000. Default: high 10, low 2, surge 2, shard 2.
    Not with ``pollers`` (AWS refuses both on one mapping)."""
    pollers: PollersArgs | None
    """Provisioned mode on every consumer mapping of the pair, for surges: ``{"min": 2..200,
    "max": 2..2000}`` event pollers (each takes up to 10 concurrent invocations); the minimum is
    paid every hour (the plan's cost table prices it). Replaces ``max_concurrency``, which AWS
    refuses together with it. Default: none (standard scaling, bounded by ``max_concurrency``)."""
    max_receive_count: int
    """Receives before SQS moves a message to its DLQ, 1 to 1000. Default: 5."""
    retention_s: int
    """60 to 1209599 s; the DLQs keep 14 days, longer than this. Default: 345600 (4 days)."""
    visibility_timeout_s: int
    """At least 6x the consumer timeout plus the batching window (refused below). Default: that."""
    surge: SurgeArgs | None
    """A surge queue and consumer, with the producer thresholds. Default: none."""
    shards: ShardArgs | None
    """Shuffle-sharded queues instead of one warm queue. Default: none."""
    oldest_age_alarm_s: Mapping[str, int]
    """Alarm thresholds on the oldest message per role. Default: high 300, low 3600, others 300."""
    dedup_table: aws.dynamodb.Table | None
    """A DynamoDB table (hash key ``pk``, a string; TTL on ``expires_at``) in which every consumer
    records its deferral and DLQ writes per message (``RESILIENT_DEDUP_TABLE``), so a message
    redelivered after a timeout between a write and its acknowledgement is not deferred or
    dead-lettered twice. Each such write then costs one consistent read and one write request
    unit (the plan's cost table). Default: none: at least once."""
    alarm_topic_arn: pulumi.Input[str] | None
    tags: Mapping[str, str]
    transform: Mapping[str, Transform]


@dataclass(frozen=True)
class _Settings:
    handler: str
    code: Any
    consumer: dict[str, Any]
    consumer_timeout: int
    fifo: bool
    content_based_deduplication: bool
    defer_after_s: int | None
    ttl_s: int | None
    batch_size: int
    window_s: int
    concurrency: dict[str, int]
    max_receive_count: int
    retention_s: int
    visibility_s: int
    surge: SurgeArgs | None
    shards: ShardArgs | None
    age_alarm_s: dict[str, int]
    alarm_topic_arn: pulumi.Input[str] | None
    dedup_table: aws.dynamodb.Table | None = None
    pollers: dict[str, int] | None = None


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a dict; anything else is reported by ``_validate`` and read as empty."""
    return value if isinstance(value, Mapping) else {}


def _check_consumer(name: str, consumer: Mapping[str, Any], p: Problems) -> bool:
    """Validate the nested consumer arguments as ResilientFunction would, now rather than at the
    first consumer (after the queues): each problem is reported as ``consumer.<key>``. True when
    the consumer timeout is usable for the visibility arithmetic."""
    # The top-level handler and code are checked on their own; stand-ins keep them out of this.
    problems = check_nested_function_args(
        p,
        "consumer",
        f"{name}-consumer",
        consumer,
        owned=("handler", "code", "invocation"),
        stand_ins={"handler": "consumer.handler", "code": pulumi.AssetArchive({}), "invocation": "queue"},
    )
    return not any(problem.startswith("timeout=") for problem in problems)


# Each argument's default and its own check; what involves several arguments is a function below.
ARGS: dict[str, Arg] = {
    "fifo": Arg(False),
    "content_based_deduplication": Arg(True),
    "batching_window_s": Arg(
        lambda v: 0 if v["fifo"] else defaults.QUEUE_BATCHING_WINDOW_S,
        int_range(0, 300, unit="seconds", why="SQS mapping window"),
    ),
    "batch_size": Arg(defaults.QUEUE_BATCH_SIZE),  # its range depends on fifo: _check_batching
    # Deferral would reorder a FIFO message group: a FIFO pair defers nothing unless asked (refused).
    "defer_after_s": Arg(lambda v: None if v["fifo"] else defaults.QUEUE_DEFER_AFTER_S),
    "ttl_s": Arg(None),
    "retention_s": Arg(
        defaults.QUEUE_RETENTION_S,
        int_range(
            60,
            defaults.DLQ_RETENTION_S - 1,
            unit="seconds",
            why="the DLQ keeps 1209600 s and must outlive its source",
        ),
    ),
    "max_receive_count": Arg(defaults.QUEUE_MAX_RECEIVE_COUNT, int_range(1, 1000, why="SQS redrive maxReceiveCount")),
    "visibility_timeout_s": Arg(lambda v: v["derived_visibility"]),
}


def _check_package(p: Problems, args: Mapping[str, Any]) -> None:
    """Handler and code (the consumers'), and every nested argument a dict."""
    for required in ("handler", "code"):
        if not args.get(required):
            p.add(f"{required} is required (the consumers' handler and package)")
    check_handler_and_code(p, args.get("handler"), args.get("code"))
    handler_missing = handler_problem(args.get("handler"), args.get("code"))  # before any queue exists
    if handler_missing:
        p.add(handler_missing)
    for nested in ("consumer", "max_concurrency", "pollers", "oldest_age_alarm_s", "surge", "shards", "tags"):
        if args.get(nested) is not None and not isinstance(args[nested], Mapping):
            p.add(f"{nested}={args[nested]!r} must be a dict")


def _check_consumer_timeout(name: str, p: Problems, consumer: dict[str, Any]) -> tuple[int, bool]:
    """The consumer's arguments, and its timeout above the deadline margin: the timeout and
    whether the visibility arithmetic may use it."""
    for owned in ("handler", "code"):
        if owned in consumer:
            p.add(f"consumer[{owned!r}] is set by PriorityQueuePair; pass handler and code at the top level")
    if "invocation" in consumer:
        p.add("consumer['invocation'] is set by PriorityQueuePair: its queue mappings invoke the consumers")
    timeout_ok = _check_consumer(name, consumer, p)
    timeout = consumer.get("timeout", defaults.FUNCTION_TIMEOUT_S)
    margin = defaults.QUEUE_CONSUMER_DEADLINE_MARGIN_S
    if timeout_ok and timeout <= margin:
        p.add(
            f"consumer.timeout={timeout!r} is at or below the consumer's deadline margin of {margin} s (no record "
            f"is started within {margin} s of the deadline): it would start none, and every message would reach "
            f"the DLQ after max_receive_count receives; the minimum is {margin + 1} s"
        )
    return timeout, timeout_ok


def _check_batching(p: Problems, v: Mapping[str, Any], window_ok: bool) -> None:
    fifo, window, batch = v["fifo"], v["batching_window_s"], v["batch_size"]
    batch_ok = p.check_int_range(
        "batch_size", batch, 1, 10 if fifo else 10_000, why="SQS FIFO mapping batch" if fifo else "SQS mapping batch"
    )
    if fifo and window_ok and window != 0:
        p.add(f"batching_window_s={window!r} must be 0 on FIFO queues (AWS has no batching window for them)")
    if not fifo and batch_ok and window_ok and batch > 10 and window < 1:
        p.add(f"batch_size={batch!r} above 10 needs batching_window_s of at least 1 (AWS)")


def _check_ages(p: Problems, v: Mapping[str, Any], retention_ok: bool) -> None:
    """defer_after_s < ttl_s < retention_s, each where given; no deferral on FIFO."""
    defer, ttl, retention = v["defer_after_s"], v["ttl_s"], v["retention_s"]
    if v["fifo"] and defer is not None:
        p.add(f"defer_after_s={defer!r} cannot be used with fifo=True: deferral would reorder a message group")
    order = [("defer_after_s", defer), ("ttl_s", ttl), ("retention_s", retention if retention_ok else None)]
    present = [(k, value) for k, value in order if value is not None]
    for key, value in present:
        if key != "retention_s":
            p.check_int_range(key, value, 1, defaults.DLQ_RETENTION_S, unit="seconds")
    for (k1, v1), (k2, v2) in itertools.pairwise(present):
        if isinstance(v1, int) and isinstance(v2, int) and v1 >= v2:
            p.add(f"{k1}={v1!r} must be below {k2}={v2!r} (defer_after_s < ttl_s < retention_s)")


def _check_concurrency(p: Problems, args: Mapping[str, Any]) -> dict[str, int]:
    concurrency = {**defaults.QUEUE_MAX_CONCURRENCY, **dict(_mapping(args.get("max_concurrency")))}
    p.check_known_keys(concurrency, ROLES, what="max_concurrency role")
    for role, value in concurrency.items():
        if role in ROLES:
            p.check_int_range(f"max_concurrency[{role!r}]", value, 2, 1000, why="SQS mapping maximum concurrency")
    return concurrency


def _check_visibility(p: Problems, v: Mapping[str, Any], timeout: int) -> None:
    visibility, derived, window = v["visibility_timeout_s"], v["derived_visibility"], v["batching_window_s"]
    if (
        p.check_int_range("visibility_timeout_s", visibility, 0, 43200, unit="seconds", why="SQS visibility timeout")
        and visibility < derived
    ):
        p.add(
            f"visibility_timeout_s={visibility!r} is below {derived} (6 x the consumer timeout of {timeout} s "
            f"+ the batching window of {window} s): a batch still in work would be delivered again"
        )


def _check_surge(p: Problems, surge: Mapping[str, Any]) -> None:
    p.check_known_keys(surge, SurgeArgs.__annotations__, what="surge key")
    if "backlog" not in surge and "age_s" not in surge:
        p.add("surge needs a threshold: backlog and/or age_s")
    if "backlog" in surge:
        p.check_int_range("surge.backlog", surge["backlog"], 1, 100_000_000)
    if "age_s" in surge:
        p.check_int_range(
            "surge.age_s",
            surge["age_s"],
            60,
            defaults.DLQ_RETENTION_S,
            unit="seconds",
            why="SQS age metrics have one-minute resolution",
        )


def _check_shards(p: Problems, shards: Mapping[str, Any], surge: Mapping[str, Any] | None) -> None:
    if surge is not None:
        p.add("surge and shards cannot be combined: a sharded pair spreads load across its shards instead")
    count: Any = shards.get("count")
    per = shards.get("per_tenant")
    if p.check_int_range("shards.count", count, 2, 100):
        p.check_int_range(
            "shards.per_tenant",
            per,
            1,
            count - 1,
            why="a tenant on every shard would share all of them with everyone",
        )


def _check_alarms_and_dedup(p: Problems, args: Mapping[str, Any]) -> dict[str, int]:
    alarms = {**defaults.QUEUE_OLDEST_AGE_ALARM_S, **dict(_mapping(args.get("oldest_age_alarm_s")))}
    for role, value in alarms.items():
        p.check_int_range(f"oldest_age_alarm_s[{role!r}]", value, 60, defaults.DLQ_RETENTION_S, unit="seconds")
    dedup = args.get("dedup_table")
    if dedup is not None and not isinstance(dedup, aws.dynamodb.Table):
        p.add(f"dedup_table={dedup!r} must be an aws.dynamodb.Table (hash key 'pk', a string; TTL on 'expires_at')")
    return alarms


def _validate(name: str, args: Mapping[str, Any], transform_check: Any) -> _Settings:
    p = Problems(f"PriorityQueuePair {name!r}")
    p.check_known_keys(args, PriorityQueuePairArgs.__annotations__, what="argument")
    _check_package(p, args)
    consumer = dict(_mapping(args.get("consumer")))
    timeout, timeout_ok = _check_consumer_timeout(name, p, consumer)
    v: dict[str, Any] = {}
    read_args(p, args, ARGS, ("fifo", "content_based_deduplication"), v)
    v["fifo"], v["content_based_deduplication"] = bool(v["fifo"]), bool(v["content_based_deduplication"])
    window_ok = read_args(p, args, ARGS, ("batching_window_s", "batch_size"), v)["batching_window_s"]
    _check_batching(p, v, window_ok)
    retention_ok = read_args(p, args, ARGS, ("defer_after_s", "ttl_s", "retention_s"), v)["retention_s"]
    _check_ages(p, v, retention_ok)
    concurrency = _check_concurrency(p, args)
    pollers = _check_pollers(args, p)
    read_args(p, args, ARGS, ("max_receive_count",), v)
    v["derived_visibility"] = visibility_timeout_for(timeout, v["batching_window_s"]) if timeout_ok and window_ok else 0
    read_args(p, args, ARGS, ("visibility_timeout_s",), v)
    _check_visibility(p, v, timeout)
    surge = args.get("surge") if isinstance(args.get("surge"), Mapping) else None
    shards = args.get("shards") if isinstance(args.get("shards"), Mapping) else None
    if surge is not None:
        _check_surge(p, surge)
    if shards is not None:
        _check_shards(p, shards, surge)
    alarms = _check_alarms_and_dedup(p, args)
    transform_check(args.get("transform"), p)
    p.raise_if_any()
    return _Settings(
        handler=args["handler"],
        code=args["code"],
        consumer=consumer,
        consumer_timeout=timeout,
        fifo=v["fifo"],
        content_based_deduplication=v["content_based_deduplication"],
        defer_after_s=v["defer_after_s"],
        ttl_s=v["ttl_s"],
        batch_size=v["batch_size"],
        window_s=v["batching_window_s"],
        concurrency=concurrency,
        max_receive_count=v["max_receive_count"],
        retention_s=v["retention_s"],
        visibility_s=v["visibility_timeout_s"],
        surge=surge,
        shards=shards,
        age_alarm_s=alarms,
        alarm_topic_arn=args.get("alarm_topic_arn"),
        dedup_table=args.get("dedup_table"),
        pollers=pollers,
    )


def _check_pollers(args: Mapping[str, Any], p: Problems) -> dict[str, int] | None:
    """``pollers`` within AWS's SQS ranges, min <= max, and not with ``max_concurrency``."""
    pollers = args.get("pollers")
    if not isinstance(pollers, Mapping):
        return None  # absent, or reported as "must be a dict"
    p.check_known_keys(pollers, PollersArgs.__annotations__, what="pollers key")
    low: Any = pollers.get("min")
    high: Any = pollers.get("max")
    for key, value in (("min", low), ("max", high)):
        if value is None:
            p.add(f"pollers needs {key} (both min and max: the pollers kept ready and the most it may scale to)")
    min_ok = low is not None and p.check_int_range(
        "pollers.min", low, *defaults.SQS_MIN_POLLERS_RANGE, why="SQS provisioned mode MinimumPollers"
    )
    max_ok = high is not None and p.check_int_range(
        "pollers.max", high, *defaults.SQS_MAX_POLLERS_RANGE, why="SQS provisioned mode MaximumPollers"
    )
    if min_ok and max_ok and low > high:
        p.add(f"pollers.min={low!r} must be at most pollers.max={high!r}")
    if args.get("max_concurrency") is not None:
        p.add(
            f"max_concurrency={dict(_mapping(args['max_concurrency']))!r} cannot be combined with pollers: AWS "
            "refuses maximum concurrency on a mapping in provisioned mode (pollers.max bounds the consumers)"
        )
    return {"min": low, "max": high} if min_ok and max_ok else None


class PriorityQueuePair(ResilientComponent):
    """High and low priority queues (plus surge or shards) with isolated consumers and DLQs."""

    TRANSFORM_KEYS: ClassVar[tuple[str, ...]] = ("queue", "dlq", "mapping", "alarm")

    high_url: pulumi.Output[str]
    low_url: pulumi.Output[str]
    producer_config: pulumi.Output[dict[str, Any]]
    """What ``handlers.resilience.routing.Router`` needs: URLs, thresholds, shards, fifo."""

    def __init__(
        self,
        name: str,
        args: PriorityQueuePairArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **keywords: Unpack[PriorityQueuePairArgs],
    ) -> None:
        # Both PriorityQueuePair(name, {...}) and the Pulumi style PriorityQueuePair(name, key=...)
        given = component_args("PriorityQueuePair", name, args, keywords)
        settings = _validate(name, given, self.check_transform_keys)
        super().__init__(name, tags=given.get("tags"), transform=given.get("transform"), opts=opts)
        self.settings = s = settings
        self.queues: dict[str, aws.sqs.Queue] = {}
        self.dlqs: dict[str, aws.sqs.Queue] = {}
        self.consumers: dict[str, ResilientFunction] = {}
        self.mappings: list[aws.lambda_.EventSourceMapping] = []
        self._create_queue("low")
        roles = ["high"] + (["surge"] if s.surge is not None else [])
        for role in roles:
            self._create_queue(role)
        shard_names = [f"shard{i}" for i in range(s.shards["count"])] if s.shards else []
        if shard_names:
            self.dlqs["shard"] = self._dlq("shard")
            for shard in shard_names:
                self._create_queue(shard, dlq=self.dlqs["shard"])
        for role in (*roles, "low"):
            self._create_consumer(role, [role])
        if shard_names:
            self._create_consumer("shard", shard_names)
        self._create_alarms()
        self.high_url = self.queues["high"].url
        self.low_url = self.queues["low"].url
        self.producer_config = pulumi.Output.all(
            high=self.high_url,
            surge=self.queues["surge"].url if "surge" in self.queues else None,
            shards=pulumi.Output.all(*[self.queues[n].url for n in shard_names]),
        ).apply(
            lambda urls: {
                "high_url": urls["high"],
                "surge_url": urls["surge"],
                "shard_urls": list(urls["shards"]),
                "shards_per_tenant": s.shards["per_tenant"] if s.shards else None,
                "surge_backlog": (s.surge or {}).get("backlog"),
                "surge_age_s": (s.surge or {}).get("age_s"),
                "fifo": s.fifo,
            }
        )
        outputs: dict[str, Any] = {
            "high_url": self.high_url,
            "low_url": self.low_url,
            "producer_config": self.producer_config,
            "queue_urls": {name: q.url for name, q in self.queues.items()},
            "queue_arns": {name: q.arn for name, q in self.queues.items()},
            "dlq_urls": {role: q.url for role, q in self.dlqs.items()},
            "dlq_arns": {role: q.arn for role, q in self.dlqs.items()},
            "consumer_functions": {role: fn.function_name for role, fn in self.consumers.items()},
            "defer_after_s": s.defer_after_s,
            "ttl_s": s.ttl_s,
            "visibility_timeout_s": s.visibility_s,
        }
        if s.dedup_table is not None:
            outputs["dedup_table"] = s.dedup_table.name
        if s.shards:
            outputs["blast_radius"] = 1 / math.comb(s.shards["count"], s.shards["per_tenant"])
        self.register_outputs(outputs)

    # -- queues ------------------------------------------------------------------------------------
    def _dlq(self, role: str) -> aws.sqs.Queue:
        s = self.settings
        return dead_letter_queue(
            self, f"{role}-dlq", fifo=s.fifo, content_based_deduplication=s.content_based_deduplication
        )

    def _create_queue(self, role: str, dlq: aws.sqs.Queue | None = None) -> None:
        s = self.settings
        if dlq is None:
            dlq = self.dlqs[role] = self._dlq(role)
        self.queues[role] = queue_with_dlq(
            self,
            role,
            dlq,
            visibility_timeout_s=s.visibility_s,
            max_receive_count=s.max_receive_count,
            retention_s=s.retention_s,
            fifo=s.fifo,
            content_based_deduplication=s.content_based_deduplication,
        )

    # -- consumers ---------------------------------------------------------------------------------
    def _create_consumer(self, role: str, queue_names: list[str]) -> None:
        s = self.settings
        dlq = self.dlqs["shard" if role == "shard" else role]
        env: dict[str, pulumi.Input[str]] = {
            "RESILIENT_QUEUE_ROLE": "low" if role == "low" else ("surge" if role == "surge" else "high"),
            "RESILIENT_DLQ_URL": dlq.url,
            "RESILIENT_FIFO": "true" if s.fifo else "false",
        }
        if s.ttl_s is not None:
            env["RESILIENT_TTL_S"] = str(s.ttl_s)
        if role == "high" and s.defer_after_s is not None:
            env |= {"RESILIENT_DEFER_AFTER_S": str(s.defer_after_s), "RESILIENT_LOW_QUEUE_URL": self.queues["low"].url}
        if role == "shard":
            env["RESILIENT_QUEUE_ROLE"] = "low"  # shards isolate tenants; they do not defer
        if s.dedup_table is not None:
            env["RESILIENT_DEDUP_TABLE"] = s.dedup_table.name
        consumer_args: dict[str, Any] = {
            **s.consumer,
            "handler": s.handler,
            "code": s.code,
            "invocation": "queue",
            "environment": {**dict(s.consumer.get("environment") or {}), **env},
            "alarm_topic_arn": s.consumer.get("alarm_topic_arn", s.alarm_topic_arn),
        }
        fn = ResilientFunction(
            f"{self._name}-{role}-consumer",
            consumer_args,  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.consumers[role] = fn
        grants = [fn.grants.send_to(dlq)]
        if role == "high" and s.defer_after_s is not None:
            grants.append(fn.grants.send_to(self.queues["low"]))
        if s.dedup_table is not None:
            # BatchGetItem (consistent) before the writes, BatchWriteItem after: DedupStore's two calls.
            grants.append(
                fn.grants.allow("dedup", ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"], [s.dedup_table.arn])
            )
        for queue_name in queue_names:
            queue = self.queues[queue_name]
            grants.append(fn.grants.consume_from(queue))
            self.mappings.append(
                sqs_mapping(
                    self,
                    f"{queue_name}-mapping",
                    queue=queue,
                    # The mapping invokes what it names: the alias where there is one, so the
                    # consumer's provisioned concurrency or SnapStart serves the queue.
                    function_name=fn.alias.arn if fn.alias is not None else fn.function.name,
                    grants=grants,
                    batch_size=s.batch_size,
                    batching_window_s=None if s.fifo else s.window_s,
                    max_concurrency=s.concurrency[role],
                    pollers=s.pollers,
                )
            )

    # -- alarms ------------------------------------------------------------------------------------
    def _create_alarms(self) -> None:
        for name, queue in self.queues.items():
            self._alarm(
                f"{name}-age",
                self.settings.alarm_topic_arn,
                namespace="AWS/SQS",
                metric_name="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": queue.name},
                statistic="Maximum",
                threshold=self.settings.age_alarm_s.get(
                    "shard" if name.startswith("shard") else name, defaults.QUEUE_OLDEST_AGE_ALARM_S["high"]
                ),
                evaluation_periods=1,  # one breaching minute: an ageing backlog is news at once
                datapoints_to_alarm=1,
                alarm_description=f"the oldest message in {name} is older than the threshold: the backlog is ageing",
            )
        for role, dlq in self.dlqs.items():
            dlq_depth_alarm(
                self, f"{role}-dlq-depth", dlq, self.settings.alarm_topic_arn, f"messages are waiting in the {role} DLQ"
            )
