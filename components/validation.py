"""One way to reject bad input: collect every problem, then raise one error that names them all.

Every component and the stack settings validate before any resource is registered, so a bad
value costs nothing but the message. Messages name the key, the value and the allowed range,
and cite the AWS limit where one applies; tests pin their exact text.

One declaration per argument. A component's arguments are declared as a ``TypedDict``
(``XArgs``): the type and the documentation users and Pulumi's schema inference read. Each
argument's default and its own check are declared once, in the component's table of ``Arg``
rows (``ARGS``, beside the validation), and read with ``read_args``. What involves several
arguments (a timeout below another, a key allowed only with one mode) stays a function, run
where its arguments have been read, so the problems come out in the order users read them.

Why a table rather than dataclasses with field metadata: the args stay a ``TypedDict`` (the
shape Pulumi infers a multi-language schema from, and the dict users already pass), and a
default that depends on another argument (a queue function's reserved concurrency) is an
``Arg`` whose default is a function of the values read so far.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Arg",
    "ConfigError",
    "Problems",
    "choice",
    "component_args",
    "flag",
    "int_range",
    "number_range",
    "read_args",
]


class ConfigError(ValueError):
    """Bad configuration: raised before anything is created. ``problems`` lists each one."""

    def __init__(self, subject: str, problems: list[str]) -> None:
        self.subject = subject
        self.problems = list(problems)
        super().__init__(f"{subject}: " + "; ".join(self.problems))


class Problems:
    """Collects validation problems for one subject (a component or the stack settings).

    ``check_*`` methods record a problem and return False when the value is bad, so callers can
    skip checks that depend on it. ``raise_if_any`` raises one ``ConfigError`` with all of them.
    """

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def check_range(self, key: str, value: Any, low: float, high: float, *, unit: str = "", why: str = "") -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(f"{key}={value!r} must be a number from {low} to {high}{_unit(unit)}")
            return False
        if not low <= value <= high:
            reason = f" ({why})" if why else ""
            self.add(f"{key}={value!r} is outside {low} to {high}{_unit(unit)}{reason}")
            return False
        return True

    def check_int_range(self, key: str, value: Any, low: int, high: int, *, unit: str = "", why: str = "") -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(f"{key}={value!r} must be a whole number from {low} to {high}{_unit(unit)}")
            return False
        return self.check_range(key, value, low, high, unit=unit, why=why)

    def check_choice(self, key: str, value: Any, allowed: Iterable[Any]) -> bool:
        allowed = list(allowed)
        if value not in allowed:
            self.add(f"{key}={value!r} is not one of {', '.join(repr(a) for a in allowed)}")
            return False
        return True

    def check_known_keys(self, given: Mapping[str, Any], known: Iterable[str], *, what: str) -> bool:
        known = sorted(known)
        unknown = sorted(set(given) - set(known))
        for key in unknown:
            # A typo is the usual cause: name the closest valid key first, then the whole list.
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
            hint = f": did you mean {close[0]!r}?" if close else ""
            self.add(f"unknown {what} {key!r}{hint} (valid {what}s: {', '.join(known)})")
        return not unknown

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.subject, self.items)


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def component_args(component: str, name: str, args: Any, keywords: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of ``Component(name, args)`` or ``Component(name, key=value, ...)`` (the
    Pulumi style), as one dict. ``None`` is no arguments (the component then names what is
    required). Anything but a dict, or a key given both ways, is one ``ConfigError`` that shows
    the two accepted calls, raised before anything is created."""
    subject = f"{component} {name!r}"
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise ConfigError(
            subject,
            [
                f"args={args!r} must be a dict of arguments: {component}({name!r}, {{'key': value, ...}}) "
                f"or {component}({name!r}, key=value, ...)"
            ],
        )
    both = sorted(set(args) & set(keywords))
    if both:
        raise ConfigError(subject, [f"{key} is given both in args and as a keyword argument" for key in both])
    return {**args, **keywords}


# A check records its problems on ``Problems`` under the key and answers whether the value is good.
Check = Callable[["Problems", str, Any], bool]


@dataclass(frozen=True)
class Arg:
    """One argument: the value it takes when left out, and the check of a given value.

    ``default`` may be a function of the values read before it (``read_args`` reads in order);
    ``check=None`` accepts any value (a check elsewhere involves other arguments).
    """

    default: Any = None
    check: Check | None = None


def choice(allowed: Iterable[Any]) -> Check:
    options = tuple(allowed)
    return lambda p, key, value: p.check_choice(key, value, options)


def int_range(low: int, high: int, *, unit: str = "", why: str = "") -> Check:
    return lambda p, key, value: p.check_int_range(key, value, low, high, unit=unit, why=why)


def number_range(low: float, high: float, *, unit: str = "", why: str = "") -> Check:
    return lambda p, key, value: p.check_range(key, value, low, high, unit=unit, why=why)


def flag() -> Check:
    """True or False, nothing else (``bool("false")`` is True: a string would turn it on)."""

    def check(p: Problems, key: str, value: Any) -> bool:
        if isinstance(value, bool):
            return True
        p.add(f"{key}={value!r} must be True or False")
        return False

    return check


def read_args(
    p: Problems, args: Mapping[str, Any], table: Mapping[str, Arg], keys: Iterable[str], values: dict[str, Any]
) -> dict[str, bool]:
    """Read ``keys`` from ``args`` in order into ``values``: the given value, or the row's default
    (a callable default gets the values read so far). Each row's check runs on what was read;
    the answer says which keys passed, so checks across arguments can skip bad ones."""
    passed: dict[str, bool] = {}
    for key in keys:
        row = table[key]
        value = args[key] if key in args else _default_of(row, values)
        values[key] = value
        passed[key] = row.check(p, key, value) if row.check is not None else True
    return passed


def _default_of(row: Arg, values: Mapping[str, Any]) -> Any:
    return row.default(values) if callable(row.default) else row.default
