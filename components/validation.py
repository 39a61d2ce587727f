"""One way to reject bad input: collect every problem, then raise one error that names them all.

Every component and the stack settings validate before any resource is registered, so a bad
value costs nothing but the message. Messages name the key, the value and the allowed range,
and cite the AWS limit where one applies; tests pin their exact text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ConfigError", "Problems", "component_args"]


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
            self.add(f"unknown {what} {key!r} (valid {what}s: {', '.join(known)})")
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
