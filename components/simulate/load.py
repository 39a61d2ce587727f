"""Load shapes: what each route is offered, requests per second at each moment.

A level is ``Nx`` (N times the route's capacity, so one shape fits every route) or ``N`` (N
requests per second on every route).

- ``rate:LEVEL``: constant, for 120 s.
- ``spike:LEVEL:DURATIONs``: half the capacity, then LEVEL for DURATION from 30 s, then half
  again for 120 s of recovery.
- ``ramp:FROM:TO:OVERs``: linear from FROM to TO over OVER seconds, then 60 s at TO.
- ``step:FROM:TO:ATs``: FROM until AT, then TO for 120 s.
- ``--arrivals FILE``: one arrival per line, ``seconds[,route key]`` (no route: every route).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..validation import Problems

__all__ = ["Load", "parse_arrivals", "parse_load"]

LOAD_FORMS = "rate:LEVEL, spike:LEVEL:Ns, ramp:FROM:TO:Ns, step:FROM:TO:Ns (LEVEL: 2x of capacity or 500 rps)"
SPIKE_START_S = 30.0
SPIKE_BASE = 0.5  # of capacity: the steady load a spike rises from
RECOVERY_S = 120.0
MAX_DURATION_S = 86_400.0


@dataclass(frozen=True)
class Level:
    value: float
    relative: bool

    def rps(self, capacity: float) -> float:
        return self.value * capacity if self.relative else self.value


@dataclass(frozen=True)
class Load:
    """``rate(route_key, capacity, t)``: offered requests per second; ``duration_s``."""

    text: str
    duration_s: float
    shape: Callable[[float, float], float] = field(repr=False)
    arrivals: dict[str, list[float]] | None = field(default=None, repr=False)  # per route key ("*": all)

    def rate(self, route: str, capacity: float, t: float) -> float:
        return self.shape(capacity, t)

    def count(self, route: str, capacity: float, t: float, dt: float) -> float:
        """Arrivals in ``[t, t + dt)``."""
        if self.arrivals is None:
            return self.shape(capacity, t) * dt
        n = 0
        for key in (route, "*"):
            times = self.arrivals.get(key, [])
            n += bisect_left(times, t + dt) - bisect_left(times, t)
        return float(n)


_LEVEL = re.compile(r"(\d+(?:\.\d+)?)(x?)")
_SECONDS = re.compile(r"(\d+(?:\.\d+)?)s?")


def _level(p: Problems, text: str, what: str) -> Level | None:
    m = _LEVEL.fullmatch(text)
    if not m or float(m[1]) <= 0:
        p.add(f"load {what}={text!r} must be a number above 0, times capacity with x (2x) or rps (500)")
        return None
    return Level(float(m[1]), bool(m[2]))


def _seconds(p: Problems, text: str, what: str) -> float | None:
    m = _SECONDS.fullmatch(text)
    if not m or not 0 < float(m[1]) <= MAX_DURATION_S:
        p.add(f"load {what}={text!r} must be seconds between 1 and {MAX_DURATION_S:g} (60s)")
        return None
    return float(m[1])


Shape = tuple[Callable[[float, float], float], float]  # (rps at capacity c and time t, duration)


def _rate(parts: list[str], p: Problems) -> Shape | None:
    lv = _level(p, parts[0], "level")
    return ((lambda c, t: lv.rps(c)), RECOVERY_S) if lv else None


def _spike(parts: list[str], p: Problems) -> Shape | None:
    peak, length = _level(p, parts[0], "peak"), _seconds(p, parts[1], "duration")
    if peak is None or length is None:
        return None
    end = SPIKE_START_S + length
    return (lambda c, t: peak.rps(c) if SPIKE_START_S <= t < end else SPIKE_BASE * c), end + RECOVERY_S


def _ramp(parts: list[str], p: Problems) -> Shape | None:
    lo, hi, over = _level(p, parts[0], "from"), _level(p, parts[1], "to"), _seconds(p, parts[2], "over")
    if lo is None or hi is None or over is None:
        return None
    return (lambda c, t: lo.rps(c) + (hi.rps(c) - lo.rps(c)) * min(t / over, 1.0)), over + 60.0


def _step(parts: list[str], p: Problems) -> Shape | None:
    lo, hi, at = _level(p, parts[0], "from"), _level(p, parts[1], "to"), _seconds(p, parts[2], "at")
    if lo is None or hi is None or at is None:
        return None
    return (lambda c, t: hi.rps(c) if t >= at else lo.rps(c)), at + RECOVERY_S


SHAPES: dict[str, tuple[int, Callable[[list[str], Problems], Shape | None]]] = {
    "rate": (1, _rate),
    "spike": (2, _spike),
    "ramp": (3, _ramp),
    "step": (3, _step),
}


def _shape(kind: str, parts: list[str], p: Problems) -> Shape | None:
    arity, make = SHAPES.get(kind, (-1, None))
    if make is None or len(parts) != arity:
        p.add(f"load={':'.join([kind, *parts])!r} must be one of {LOAD_FORMS}")
        return None
    return make(parts, p)


def parse_load(text: str, duration_s: float | None = None) -> Load:
    """``text`` as a load shape; one ``ConfigError`` naming every bad part."""
    p = Problems("simulate")
    kind, *parts = text.split(":")
    made = _shape(kind, parts, p)
    if duration_s is not None:
        p.check_range("duration", duration_s, 1, MAX_DURATION_S, unit="s")
    p.raise_if_any()
    assert made is not None
    shape, default_duration = made
    return Load(text, float(duration_s or default_duration), shape)


def parse_arrivals(path: str | Path, duration_s: float | None = None) -> Load:
    """A recorded arrival file: ``seconds[,route key]`` per line; ``#`` starts a comment."""
    p = Problems("simulate")
    arrivals: dict[str, list[float]] = {}
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        when, _, route = text.partition(",")
        try:
            t = float(when)
        except ValueError:
            t = -1.0
        if not 0 <= t <= MAX_DURATION_S:
            p.add(f"arrivals line {number}={when.strip()!r} must be seconds between 0 and {MAX_DURATION_S:g}")
            continue
        arrivals.setdefault(route.strip() or "*", []).append(t)
    if not arrivals and not p.items:
        p.add(f"arrivals file {str(path)!r} holds no arrival (one 'seconds[,route]' per line)")
    p.raise_if_any()
    for times in arrivals.values():
        times.sort()
    last = max(t[-1] for t in arrivals.values())
    return Load(f"arrivals:{Path(path).name}", float(duration_s or last + 60.0), lambda c, t: 0.0, arrivals)
