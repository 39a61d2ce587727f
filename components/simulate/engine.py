"""The discrete-event run (SimPy): a clock that ticks every ``DT`` seconds and, at each tick, moves
cohorts of requests (all that arrive on one route in one tick, as a real-valued count) through
the hops of their route; completions, concurrency releases and client retries are events at
their own times. Cohorts instead of single requests keep a 10x spike on prod (millions of
requests) within seconds of run time; every limit acts on the cohort's count.

Hops of a synchronous route: the account's and the route's token buckets (429 at the edge);
the function's concurrency (reserved, or the account's unreserved pool; Lambda's scaling rate;
429 from Lambda); cold starts for environments not yet warm; the downstream, a FIFO server of
stated capacity whose wait adds to the latency; the function timeout, the integration timeout
and the client's deadline, whichever comes first; client retries with full-jitter backoff.

Hops of a queue route: the buckets, then SQS; the mapping's pollers (starting at 5 concurrent
batches, 300 more a minute, up to the mapping's maximum); batches of ``batch_size``; TTL drop
and deferral to the low queue by age; a batch outliving its function's timeout comes back after
the visibility timeout with one more receive, and goes to the DLQ at the redrive's count.

An asynchronous function route is a queue route whose queue is Lambda's event queue: the
function's concurrency drains it one event at a time, a timed-out event is retried after a
minute up to the invoke config's retries, and an event past its maximum age goes to the
on-failure destination (counted with DLQ arrivals).

Usage plans: each API key's bucket and quota, the stack's traffic spread evenly over the keys;
a request over either gets a 429 at the edge (counted apart from the route throttles).

A job submit route starts executions through Step Functions' ``StartExecution`` bucket (per
account and region, one per workflow type). Started by the submit itself, a throttled start
fails the submit and the client retries; through a start queue, the starter drains the queue at
its concurrency and a throttled start waits there (the queue's age shows it).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..aws_facts import quota
from .load import Load
from .model import ConsumerModel, RouteModel, StackModel, UsagePlanModel

if TYPE_CHECKING:
    import simpy

__all__ = ["DT", "RouteStats", "RunResult", "run", "steady_capacity"]

DT = 0.1  # seconds per tick: below every latency and timeout the model resolves
SETTLE_S = 30.0  # after the load stops, in-flight work and retries finish


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens = rate, burst, burst

    def refill(self, dt: float) -> None:
        self.tokens = min(self.burst, self.tokens + self.rate * dt)

    def take(self, n: float) -> float:
        k = min(n, self.tokens)
        self.tokens -= k
        return k


class Downstream:
    """A FIFO server of ``capacity`` units per second: what arrives beyond it waits."""

    def __init__(self, capacity: float) -> None:
        self.capacity, self.free_at = capacity, 0.0

    def wait(self, now: float) -> float:
        return max(0.0, self.free_at - now)

    def serve(self, now: float, n: float) -> float:
        wait = max(0.0, self.free_at - now)
        self.free_at = max(self.free_at, now) + n / self.capacity
        return wait


def ticks_held(seconds: float) -> int:
    """Whole ticks an invocation of ``seconds`` keeps its slot: cohorts start on ticks, so a slot
    is held ``m`` ticks and used by ``m * DT / seconds`` invocations' worth of work over them,
    which keeps concurrency-seconds exact (Little's law) below and between ticks."""
    return max(1, math.ceil(seconds / DT - 1e-9))


def per_slot(seconds: float) -> float:
    """Invocations one slot serves over its ``ticks_held``."""
    return ticks_held(seconds) * DT / seconds if seconds > 0 else 1.0


class Pool:
    """The account's unreserved concurrency, shared by every function without a reservation."""

    def __init__(self, limit: float) -> None:
        self.limit, self.inflight = limit, 0.0


class Function:
    def __init__(self, name: str, reserved: int | None, provisioned: int, pool: Pool, warm: float) -> None:
        self.name, self.reserved, self.pool = name, reserved, pool
        self.inflight = 0.0
        self.warm = max(float(provisioned), warm)
        self.initial = self.warm

    def free(self, now: float) -> float:
        step, window = quota("lambda_scaling_environments_per_window"), quota("lambda_scaling_window_s")
        environments = self.initial + step * (1 + math.floor(now / window))
        own = self.reserved - self.inflight if self.reserved is not None else self.pool.limit - self.pool.inflight
        return max(0.0, min(own, environments - self.inflight))

    def cold_share(self, k: float) -> float:
        """The share of ``k`` more environments that start cold (beyond those ever warm)."""
        return max(0.0, self.inflight + k - self.warm) / k if k > 0 else 0.0

    def start(self, k: float) -> None:
        self.inflight += k
        if self.reserved is None:
            self.pool.inflight += k
        self.warm = max(self.warm, self.inflight)

    def end(self, k: float) -> None:
        self.inflight -= k
        if self.reserved is None:
            self.pool.inflight -= k


@dataclass
class RouteStats:
    offered: float = 0.0  # first attempts
    attempts: float = 0.0
    throttled_edge: float = 0.0
    throttled_plan: float = 0.0  # 429 by a usage plan's bucket or quota (part of throttled_edge)
    throttled_function: float = 0.0
    throttled_start: float = 0.0  # StartExecution calls Step Functions throttled
    starts: float = 0.0  # executions started
    admitted: float = 0.0
    goodput: float = 0.0
    late: float = 0.0  # work that finished after its deadline
    failed: float = 0.0  # requests whose last attempt failed
    wasted_invocations: float = 0.0
    invocations: float = 0.0
    gb_s: float = 0.0
    sqs_requests: float = 0.0
    dlq: float = 0.0
    ttl_drops: float = 0.0
    deferred: float = 0.0
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (seconds, count)
    goodput_series: list[float] = field(default_factory=list)  # per second
    offered_series: list[float] = field(default_factory=list)
    oldest_age_series: dict[str, list[float]] = field(default_factory=dict)  # per queue, per second
    depth_series: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class RunResult:
    model: StackModel
    load: Load
    duration_s: float
    routes: dict[str, RouteStats]

    def goodput_rps(self, key: str, start_s: int, end_s: int) -> float:
        """Mean goodput of route ``key`` per second over ``[start_s, end_s)``."""
        series = self.routes[key].goodput_series[start_s:end_s]
        return sum(series) / len(series)


@dataclass
class _Queue:
    name: str
    consumer: ConsumerModel
    function: Function
    downstream: Downstream
    deadline_s: float
    visible: deque[list[float]] = field(default_factory=deque)  # [first enqueued, count, receives]
    hidden: list[tuple[float, float, float, float]] = field(default_factory=list)  # (visible at, first, n, rx)
    low: _Queue | None = None

    def depth(self) -> float:
        return sum(c[1] for c in self.visible) + sum(h[2] for h in self.hidden)

    def oldest_age(self, now: float) -> float:
        firsts = [c[0] for c in self.visible if c[1] > 1e-9][:1] + [h[1] for h in self.hidden]
        return now - min(firsts) if firsts else 0.0


class _Plan:
    """One API key's usage plan: its bucket, and its quota used in the current period."""

    def __init__(self, plan: UsagePlanModel) -> None:
        self.plan, self.bucket, self.used, self.period = plan, TokenBucket(plan.rate, plan.burst), 0.0, 0

    def admit(self, n: float, now: float) -> float:
        p = self.plan
        if p.quota is not None and p.period_s:
            period = math.floor(now / p.period_s)
            if period != self.period:
                self.period, self.used = period, 0.0
            n = min(n, max(0.0, p.quota - self.used))
        taken = self.bucket.take(n)
        self.used += taken
        return taken


class _Retries:
    """Future attempts per attempt number, spread over their backoff window (difference arrays)."""

    def __init__(self, attempts: int, ticks: int) -> None:
        self.diff = [[0.0] * (ticks + 2) for _ in range(attempts)]
        self.running = [0.0] * attempts
        self.ticks = ticks

    def add(self, attempt: int, n: float, start_tick: int, window_s: float) -> None:
        width = max(1, round(window_s / DT))
        start = min(start_tick, self.ticks)
        end = min(start + width, self.ticks + 1)
        self.diff[attempt][start] += n / width
        self.diff[attempt][end] -= n / width

    def due(self, tick: int) -> list[float]:
        for a in range(1, len(self.running)):
            self.running[a] += self.diff[a][tick]
        return self.running


class _Run:
    def __init__(self, model: StackModel, load: Load, settle_s: float) -> None:
        import simpy  # noqa: PLC0415 (an extra: every module of the package imports without it)

        self.model, self.load, self.a = model, load, model.assumptions
        self.env: simpy.Environment = simpy.Environment()
        self.duration = load.duration_s
        self.horizon = load.duration_s + settle_s
        self.ticks = math.ceil(self.horizon / DT)
        self.tick = 0
        self.seconds = math.ceil(self.horizon)
        self.account_edge = TokenBucket(quota("apigateway_account_rps"), quota("apigateway_account_burst"))
        reserved = sum(r.reserved or 0 for r in model.routes)
        self.pool = Pool(quota("lambda_account_concurrency") - reserved)
        self.stats = {r.key: self._new_stats() for r in model.routes}
        self.edges = {r.key: TokenBucket(r.rate, r.burst or r.rate) for r in model.routes if r.rate is not None}
        self.retries = {r.key: _Retries(self.a.client_attempts, self.ticks) for r in model.routes}
        self.functions: dict[str, Function] = {}
        self.downstreams = {r.key: Downstream(r.capacity_rps * self.a.downstream_headroom) for r in model.routes}
        self.queues: dict[str, _Queue] = {}
        self.plans = [_Plan(p) for p in model.usage_plans]
        # One StartExecution bucket per workflow type in the account and region.
        self.start_buckets = {
            r.starts.workflow_type: TokenBucket(r.starts.rate, r.starts.burst) for r in model.routes if r.starts
        }
        self.start_queues: dict[str, deque[list[float]]] = {
            r.key: deque() for r in model.routes if r.starts and r.starts.buffered
        }
        self.start_queue_names = {r.key: r.starts.queue for r in model.routes if r.starts and r.starts.buffered}
        for r in model.routes:
            initial = load.rate(r.key, r.capacity_rps, 0.0)
            if r.kind == "sync" and r.function:
                self.functions[r.key] = Function(
                    r.function, r.reserved, r.provisioned, self.pool, initial * r.latency_ms / 1000
                )
            elif r.consumer is not None:
                self.queues[r.key] = self._queue(r, r.consumer, self.downstreams[r.key], initial)

    def _new_stats(self) -> RouteStats:
        s = RouteStats()
        s.goodput_series = [0.0] * (self.seconds + 1)  # the last bin: beyond the horizon
        s.offered_series = [0.0] * (self.seconds + 1)
        return s

    def _queue(self, r: RouteModel, c: ConsumerModel, downstream: Downstream, initial_rps: float) -> _Queue:
        warm = initial_rps * self.a.message_ms / 1000
        fn = Function(c.function, r.reserved if c.kind == "async" else None, 0, self.pool, warm)
        q = _Queue(c.queue, c, fn, downstream, c.ttl_s or self.a.message_deadline_s)
        if c.low is not None:
            q.low = self._queue(r, c.low, downstream, 0.0)
        return q

    # --- clients -----------------------------------------------------------------------------
    def _fail(self, key: str, attempt: int, n: float, at: float) -> None:
        if n <= 0:
            return
        if attempt + 1 < self.a.client_attempts:
            window = min(self.a.backoff_cap_s, self.a.backoff_base_s * 2**attempt)
            self.retries[key].add(attempt + 1, n, max(self.tick + 1, math.floor(at / DT + 1e-6) + 1), window)
        else:
            self.stats[key].failed += n

    def _second(self, t: float) -> int:
        """The series bin of ``t``; work ending after the horizon counts in the totals only."""
        return int(t) if t < self.horizon else self.seconds

    # --- the edge ----------------------------------------------------------------------------
    def _offered(self, r: RouteModel, tick: int, now: float) -> list[float]:
        """This tick's attempts on ``r`` by attempt number: new requests, then retries."""
        s = self.stats[r.key]
        new = self.load.count(r.key, r.capacity_rps, now, DT) if now < self.duration else 0.0
        s.offered += new
        s.offered_series[self._second(now)] += new
        by_attempt = [new, *self.retries[r.key].due(tick)[1:]]
        s.attempts += sum(by_attempt)
        return by_attempt

    def _edge(
        self, r: RouteModel, by_attempt: list[float], account_share: float, plan_share: float, now: float
    ) -> list[float]:
        """What the account's share, the usage plans' share and the route's bucket let through;
        the rest get a 429."""
        total = sum(by_attempt)
        if total <= 0:
            return [0.0] * len(by_attempt)
        admitted = total * account_share * plan_share
        self.stats[r.key].throttled_plan += total * account_share * (1 - plan_share)
        if r.key in self.edges:
            admitted = self.edges[r.key].take(admitted)
        share = admitted / total
        self.stats[r.key].throttled_edge += total - admitted
        for attempt, n in enumerate(by_attempt):
            self._fail(r.key, attempt, n * (1 - share), now)
        return [n * share for n in by_attempt]

    # --- synchronous routes --------------------------------------------------------------------
    def _sync(self, r: RouteModel, by_attempt: list[float], now: float) -> None:
        s, fn = self.stats[r.key], self.functions[r.key]
        total = sum(by_attempt)
        if total <= 0:
            return
        expected = min(self.downstreams[r.key].wait(now) + r.latency_ms / 1000, r.timeout_s)
        k = min(total, fn.free(now) * per_slot(expected))
        share = k / total
        s.throttled_function += total - k
        for attempt, n in enumerate(by_attempt):
            self._fail(r.key, attempt, n * (1 - share), now)
        if k <= 0:
            return
        cold = fn.cold_share(k / per_slot(expected))
        latency = self.downstreams[r.key].serve(now, k) + r.latency_ms / 1000 + cold * self.a.cold_start_s
        ran = min(latency, r.timeout_s)
        give_up = min(self.a.client_deadline_s, r.integration_timeout_s, r.timeout_s)
        s.admitted += k
        s.invocations += k
        s.gb_s += k * ran * r.memory_mb / 1024
        s.latencies.append((ran, k))
        self._hold(fn, k / per_slot(ran), ran)
        if latency <= give_up:
            started = self._start(r, k, now)
            s.goodput += started
            s.goodput_series[self._second(now + latency)] += started
            if started >= k:
                return
            # The submit's own StartExecution was throttled: it answers an error, the client retries.
            s.wasted_invocations += k - started
            for attempt, n in enumerate(by_attempt):
                self._fail(r.key, attempt, n * share * (1 - started / k), now + latency)
            return
        s.wasted_invocations += k
        for attempt, n in enumerate(by_attempt):
            self._fail(r.key, attempt, n * share, now + give_up)

    def _start(self, r: RouteModel, k: float, now: float) -> float:
        """Of ``k`` accepted submits, those that succeed: all for a route that starts nothing or
        queues its starts; for a direct start, those the StartExecution bucket lets through."""
        if r.starts is None:
            return k
        if r.starts.buffered:
            self.start_queues[r.key].append([now, k])
            return k
        started = self.start_buckets[r.starts.workflow_type].take(k)
        self.stats[r.key].starts += started
        self.stats[r.key].throttled_start += k - started
        return started

    def _drain_starts(self, r: RouteModel, now: float) -> None:
        """The starter: up to its concurrency's calls this tick, each a StartExecution; what the
        bucket refuses stays queued (its message returns after the visibility timeout)."""
        queue, s = self.start_queues[r.key], self.stats[r.key]
        assert r.starts is not None
        waiting = sum(c[1] for c in queue)
        calls = min(waiting, r.starts.starter_concurrency * 1000 / self.a.message_ms * DT)
        started = self.start_buckets[r.starts.workflow_type].take(calls)
        s.throttled_start += calls - started
        s.starts += started
        while queue and started > 1e-9:
            take = min(queue[0][1], started)
            queue[0][1] -= take
            started -= take
            if queue[0][1] <= 1e-9:
                queue.popleft()

    def _hold(self, fn: Function, slots: float, seconds: float) -> None:
        fn.start(slots)
        # Released just before the tick that ends the hold, so that tick can reuse the slots.
        self.env.process(self._release(fn, slots, ticks_held(seconds) * DT - DT / 100))

    def _release(self, fn: Function, slots: float, after: float) -> Any:
        yield self.env.timeout(after)
        fn.end(slots)

    # --- queue routes ------------------------------------------------------------------------
    def _enqueue(self, r: RouteModel, by_attempt: list[float], now: float) -> None:
        s = self.stats[r.key]
        n = sum(by_attempt)
        if n <= 0:
            return
        s.admitted += n
        if r.kind == "queue":
            s.sqs_requests += n
        q = self.queues.get(r.key)
        if q is None:  # drained by another program: accepted is all this one can say
            s.goodput += n
            s.goodput_series[self._second(now)] += n
            s.latencies.append((0.0, n))
            return
        q.visible.append([now, n, 0.0])

    def _receive(self, key: str, q: _Queue, now: float, budget: float) -> list[list[float]]:
        """Up to ``budget`` messages from the queue's head as ``[first enqueued, count, receives]``;
        those past the TTL are dropped and those past the deferral age go to the low queue on the
        way (the handler does either without calling the downstream)."""
        c, s = q.consumer, self.stats[key]
        worked: list[list[float]] = []
        while q.visible and budget > 1e-9:
            cohort = q.visible[0]
            age = now - cohort[0]
            if c.ttl_s is not None and age > c.ttl_s:
                if c.kind == "async":  # past its maximum event age: to the on-failure destination
                    s.dlq += cohort[1]
                else:
                    s.ttl_drops += cohort[1]
                q.visible.popleft()
            elif c.defer_after_s is not None and q.low is not None and age > c.defer_after_s:
                s.deferred += cohort[1]
                s.sqs_requests += cohort[1]
                q.low.visible.append(q.visible.popleft())
            else:
                take = min(cohort[1], budget)
                worked.append([cohort[0], take, cohort[2] + 1])
                budget -= take
                cohort[1] -= take
                if cohort[1] <= 1e-9:
                    q.visible.popleft()
        return worked

    def _consume(self, key: str, q: _Queue, now: float) -> None:
        c, s = q.consumer, self.stats[key]
        while q.hidden and q.hidden[0][0] <= now:
            _, first, n, rx = heapq.heappop(q.hidden)
            q.visible.appendleft([first, n, rx])
        if not q.visible:
            return
        pollers = (
            max(
                quota("sqs_mapping_initial_concurrency"),
                q.function.initial + quota("sqs_mapping_scale_per_minute") * now / 60,
            )
            if c.kind == "sqs"
            else c.max_concurrency  # Lambda's own event pollers: the function's scaling limits
        )
        slots = min(c.max_concurrency, pollers) - q.function.inflight
        expected = min(q.downstream.wait(now) + c.batch_size * self.a.message_ms / 1000, c.timeout_s)
        budget = max(0.0, min(slots, q.function.free(now))) * per_slot(expected) * c.batch_size
        worked = self._receive(key, q, now, budget)
        messages = sum(w[1] for w in worked)
        if messages <= 0:
            return
        batches = messages / c.batch_size
        cold = q.function.cold_share(batches / per_slot(expected))
        wait = q.downstream.serve(now, messages)
        duration = wait + c.batch_size * self.a.message_ms / 1000 + cold * self.a.cold_start_s
        ran = min(duration, c.timeout_s)
        s.invocations += batches
        if c.kind == "sqs":
            s.sqs_requests += 2 * batches  # a receive and a delete per batch
        s.gb_s += batches * ran * c.memory_mb / 1024
        self._hold(q.function, batches / per_slot(ran), ran)
        if duration > c.timeout_s:
            self._timed_out(key, q, worked, batches, now)
        else:
            self._processed(key, q, worked, now + duration)

    def _timed_out(self, key: str, q: _Queue, worked: list[list[float]], batches: float, now: float) -> None:
        """The batch outlived its function: visible again after the visibility timeout, or to the
        DLQ once received as often as the redrive allows."""
        c, s = q.consumer, self.stats[key]
        s.wasted_invocations += batches
        for first, n, rx in worked:
            if c.max_receives is not None and rx >= c.max_receives:
                s.dlq += n
            else:
                heapq.heappush(q.hidden, (now + c.visibility_s, first, n, rx))

    def _processed(self, key: str, q: _Queue, worked: list[list[float]], done: float) -> None:
        s = self.stats[key]
        for first, n, _ in worked:
            sojourn = done - first
            s.latencies.append((sojourn, n))
            if sojourn <= q.deadline_s:
                s.goodput += n
                s.goodput_series[self._second(done)] += n
            else:
                s.late += n

    def _sample(self, key: str, q: _Queue | None, now: float) -> None:
        starts = self.start_queues.get(key)
        if starts is not None:
            s, name = self.stats[key], self.start_queue_names[key]
            s.oldest_age_series.setdefault(name, []).append(round(now - starts[0][0], 1) if starts else 0.0)
            s.depth_series.setdefault(name, []).append(round(sum(c[1] for c in starts), 1))
        while q is not None:
            s = self.stats[key]
            s.oldest_age_series.setdefault(q.name, []).append(round(q.oldest_age(now), 1))
            s.depth_series.setdefault(q.name, []).append(round(q.depth(), 1))
            q = q.low

    # --- the clock ---------------------------------------------------------------------------
    def _tick(self) -> Any:
        for tick in range(self.ticks):
            now, self.tick = tick * DT, tick
            self.account_edge.refill(DT)
            for bucket in [*self.edges.values(), *self.start_buckets.values(), *(p.bucket for p in self.plans)]:
                bucket.refill(DT)
            offered = {r.key: self._offered(r, tick, now) for r in self.model.routes}
            total = sum(sum(v) for v in offered.values())
            # The account's bucket and the usage plans throttle every route alike: each gets the
            # same share (the plans' keys each send an even part of the traffic).
            account_share = self.account_edge.take(total) / total if total > 0 else 1.0
            plan_share = 1.0
            if self.plans and total * account_share > 0:
                each = total * account_share / len(self.plans)
                plan_share = sum(p.admit(each, now) for p in self.plans) / (total * account_share)
            for r in self.model.routes:
                admitted = self._edge(r, offered[r.key], account_share, plan_share, now)
                if r.kind == "sync":
                    self._sync(r, admitted, now)
                else:
                    self._enqueue(r, admitted, now)
                if r.key in self.start_queues:
                    self._drain_starts(r, now)
                q: _Queue | None = self.queues.get(r.key)
                while q is not None:
                    self._consume(r.key, q, now)
                    q = q.low
                if tick % round(1 / DT) == 0:
                    self._sample(r.key, self.queues.get(r.key), now)
            yield self.env.timeout(DT)

    def run(self) -> RunResult:
        self.env.process(self._tick())
        self.env.run(until=self.horizon + DT)
        return RunResult(self.model, self.load, self.duration, self.stats)


def run(model: StackModel, load: Load, settle_s: float = SETTLE_S) -> RunResult:
    """Run ``model`` under ``load`` for the load's duration plus ``settle_s`` without arrivals."""
    return _Run(model, load, settle_s).run()


def steady_capacity(model: StackModel, load: Load, warmup_s: int = 10) -> dict[str, float]:
    """Each route's goodput per second once the burst allowance is spent and queues are in
    steady state: the mean from ``warmup_s`` to the end of the load. Under a load above every
    route's capacity this is the model's capacity, which the plan's capacity table states."""
    result = run(model, load, settle_s=0.0)
    end = int(load.duration_s)
    return {r.key: result.goodput_rps(r.key, warmup_s, end) for r in model.routes}
