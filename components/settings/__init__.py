"""Typed stack settings for any Pulumi program: declare each key once (type, default, description,
allowed range) and get the checks, the messages and the ``config:`` block of ``Pulumi.yaml``.

::

    from resilient_serverless.components.settings import Setting, StackSettingsSpec, choice, int_range

    SPEC = StackSettingsSpec(
        [
            Setting("workerTimeoutSeconds", int, 30, "Timeout of the worker (seconds)",
                    int_range(1, 900, unit="seconds", why="Lambda timeout")),
            Setting("logLevel", str, "INFO", "Log level of every function", choice("DEBUG", "INFO", "WARN", "ERROR")),
        ]
    )
    settings = SPEC.load()  # {"worker_timeout_seconds": 30, "log_level": "INFO"}, or one ConfigError

Read once at the top of the program, before any resource: an unknown key (with the closest valid
one), a value of the wrong type or out of range, a key in a namespace that is neither the
project's nor a provider's: one ``ConfigError`` naming each key, its value and the allowed range.
``Pulumi.yaml`` declares the same keys, types, defaults and descriptions for the Pulumi CLI (which
checks types, never ranges); ``python -m resilient_serverless.components.settings check|write``
keeps the two equal.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..validation import ConfigError, Problems

__all__ = [
    "OFFLINE_SECRET",
    "Check",
    "Setting",
    "SettingSpec",
    "StackSettingsSpec",
    "all_config",
    "check_region",
    "choice",
    "email",
    "int_range",
    "provider_namespaces",
    "snake_case",
]

Check = Callable[[Problems, str, Any], bool]
"""A check of a parsed value: adds its problems (naming the key and value) and says whether it passed."""


def snake_case(key: str) -> str:
    """``workerTimeoutSeconds`` -> ``worker_timeout_seconds``: the attribute of a camelCase key."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


@dataclass(frozen=True)
class SettingSpec:
    """One key a stack file may set (as written after ``<project>:``)."""

    key: str
    attr: str
    """The name the program reads it by."""
    type: type
    """int, str, bool or list (of text)."""
    default: Any
    description: str
    check: Check | None = None


def Setting(
    key: str, type: type, default: Any, description: str, check: Check | None = None, *, attr: str | None = None
) -> SettingSpec:
    """A setting whose attribute is its key in snake_case unless ``attr`` names it."""
    return SettingSpec(key, attr or snake_case(key), type, default, description, check)


def int_range(low: int, high: int, *, unit: str = "", why: str = "") -> Check:
    """A whole number from ``low`` to ``high``; ``why`` names the limit (an AWS quota...)."""
    return lambda p, key, value: p.check_int_range(key, value, low, high, unit=unit, why=why)


def choice(*allowed: Any) -> Check:
    """One of ``allowed``."""
    return lambda p, key, value: p.check_choice(key, value, allowed)


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(p: Problems, key: str, value: Any) -> bool:
    """An email address, or empty for none."""
    # fullmatch: with match, "$" also matches before a trailing newline ("ops@example.com\n").
    if value and not EMAIL.fullmatch(value):
        p.add(f"{key}={value!r} is not an email address (or leave it empty for no subscription)")
        return False
    return True


# --- parsing: config arrives as strings (JSON for structures) ----------------------------------


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool) or str(raw).lower() in ("true", "false"):
        return raw if isinstance(raw, bool) else str(raw).lower() == "true"
    raise ValueError("must be true or false")


# A whole number as a stack file writes one: a YAML integer, which the CLI hands over as ASCII
# digits. int() alone also reads other scripts' digits ("١٠٢٤"), full-width digits, "1_000" and
# padding, none of which the Pulumi CLI's own integer type check accepts.
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _to_int(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and WHOLE_NUMBER.fullmatch(raw):
        return int(raw)
    raise ValueError("must be a whole number (the digits 0 to 9, or a YAML integer)")


def _to_str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be text (quote it in the stack file)")
    return raw


def _to_list(raw: Any) -> tuple[str, ...]:
    value = json.loads(raw) if isinstance(raw, str) and raw.startswith("[") else raw
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list")
    return tuple(str(v) for v in value)


_PARSERS: dict[type, Callable[[Any], Any]] = {bool: _to_bool, int: _to_int, list: _to_list, str: _to_str}
_YAML_TYPES: dict[type, str] = {bool: "boolean", int: "integer", list: "array", str: "string"}

# What a ``secure:`` value is offline, where it cannot be decrypted (the test kit's stand-in; a
# test keeps the two equal): accepted unchecked, since there is nothing to check.
OFFLINE_SECRET = "[secret]"


# --- where the values come from --------------------------------------------------------------


def all_config() -> dict[str, Any]:
    """Every config key the program was given (the Pulumi SDK has no public listing: the values
    come from the runtime's map and the ``PULUMI_CONFIG`` environment)."""
    from pulumi.runtime import config as runtime_config  # noqa: PLC0415 (parsing needs no Pulumi)

    merged: dict[str, Any] = {}
    env = os.environ.get("PULUMI_CONFIG")
    if env:
        merged.update(json.loads(env))
    merged.update(runtime_config.CONFIG.get())
    return merged


def provider_namespaces() -> set[str]:
    """``pulumi`` and the namespace of every installed Pulumi provider (``pulumi-aws`` -> aws)."""
    names = {"pulumi"}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("pulumi-"):
            names.add(name[len("pulumi-") :])
    return names


AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def check_region(p: Problems, region: Any) -> None:
    """``aws:region`` when set: one region name such as eu-west-1 (a list or null reaches the
    provider as text and fails there, after the plan said it was fine)."""
    if region is not None and not (isinstance(region, str) and AWS_REGION.fullmatch(region)):
        p.add(f"aws:region={region!r} is not an AWS region name such as 'eu-west-1'")


# --- the declaration -------------------------------------------------------------------------


class StackSettingsSpec:
    """The keys of a project's stack files: parse and check them, and keep ``Pulumi.yaml`` in step.

    ``cross_checks`` run after every key parsed: each gets the values by attribute (``None`` for
    a value already reported bad) and adds a problem for a combination that cannot work.
    """

    def __init__(
        self,
        specs: Iterable[SettingSpec],
        *,
        cross_checks: Iterable[Callable[[Problems, dict[str, Any]], None]] = (),
    ) -> None:
        self.specs: tuple[SettingSpec, ...] = tuple(specs)
        self.cross_checks = tuple(cross_checks)
        problems = []
        for attr in {s.attr for s in self.specs}:
            keys = [s.key for s in self.specs if s.attr == attr]
            if len(keys) > 1:
                problems.append(f"keys {', '.join(map(repr, keys))} share the attribute {attr!r}")
        for spec in self.specs:
            if spec.type not in _PARSERS:
                problems.append(f"{spec.key}: type {spec.type.__name__} is not one of int, str, bool, list")
        if len({s.key for s in self.specs}) != len(self.specs):
            problems.append("a key is declared twice")
        if problems:
            raise ConfigError("settings declaration", problems)

    @property
    def keys(self) -> list[str]:
        return [spec.key for spec in self.specs]

    # -- checking values ------------------------------------------------------------------------
    def closest_keys(self, key: str) -> list[str]:
        """The valid keys a mistyped ``key`` most likely meant: the closest spellings, else (for a
        shortened key such as ``retention``) the keys that contain it, case aside."""
        by_lower = {k.lower(): k for k in self.keys}
        close = difflib.get_close_matches(key.lower(), list(by_lower), n=2, cutoff=0.6)
        if not close:
            close = [k for k in by_lower if key.lower() in k][:2] if len(key) >= 3 else []
        return [by_lower[k] for k in close]

    def check_known_keys(self, p: Problems, raw: Mapping[str, Any]) -> None:
        """An unknown key, with the closest valid one; the whole list is one command away."""
        known = set(self.keys)
        for key in sorted(set(raw) - known):
            close = self.closest_keys(str(key))
            listed = f"(run 'resilient-serverless keys' for all {len(known)})"
            if close:
                p.add(f"unknown setting {key!r}: did you mean {' or '.join(repr(k) for k in close)}? {listed}")
            else:
                p.add(f"unknown setting {key!r} {listed}")

    def check_namespaces(self, p: Problems, keys: Collection[str], project: str, providers: Collection[str]) -> None:
        """A key in a namespace that is neither the project's nor a provider's is a typo (its value
        would be silently ignored and the default used): name it with the closest valid key."""
        valid = [f"{project}:{key}" for key in self.keys] + ["aws:region"]
        for key in sorted(keys):
            namespace = key.split(":", 1)[0]
            if ":" not in key or namespace == project or namespace in providers:
                continue
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"settings of this project are '{project}:<key>'"
            p.add(f"{key!r} is in namespace {namespace!r}, neither the project's nor a provider's: {hint}")

    def _value_of(self, spec: SettingSpec, raw: Mapping[str, Any], p: Problems, secret: bool) -> Any:
        """The parsed and checked value of one setting (None when bad). A secret's plain value is
        checked like any other, but its problems show ``[secret]`` where the value would be."""
        if spec.key not in raw:
            return tuple(spec.default) if isinstance(spec.default, list) else spec.default
        if secret and raw[spec.key] == OFFLINE_SECRET:
            return raw[spec.key] if spec.type is str else spec.default
        checks = Problems(p.subject) if secret else p
        value = parsed = None
        try:
            value = parsed = _PARSERS[spec.type](raw[spec.key])
        except ValueError as error:
            checks.add(f"{spec.key}={raw[spec.key]!r} {error}")
        if isinstance(value, list):
            value = tuple(value)
        if value is not None and spec.check is not None and not spec.check(checks, spec.key, value):
            value = None
        if secret:  # messages write the value as key=repr(value): as given, or as parsed
            shown = {f"{spec.key}={raw[spec.key]!r}", f"{spec.key}={parsed!r}", f"{spec.key}={value!r}"}
            for problem in checks.items:
                redacted = problem
                for text in shown:
                    redacted = redacted.replace(text, f"{spec.key}=[secret]")
                p.add(redacted)
        return value

    def parse(
        self, raw: Mapping[str, Any], subject: str = "stack settings", secret_keys: Collection[str] = ()
    ) -> dict[str, Any]:
        """Validate raw ``key -> value`` (keys without the project namespace) into values by
        attribute; one ``ConfigError`` names every problem. ``secret_keys`` are never printed."""
        p = Problems(subject)
        values = self.collect(p, raw, secret_keys)
        p.raise_if_any()
        return values

    def collect(self, p: Problems, raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> dict[str, Any]:
        """``parse`` into ``p`` without raising: for a declaration that adds checks of its own."""
        self.check_known_keys(p, raw)
        values = {spec.attr: self._value_of(spec, raw, p, spec.key in secret_keys) for spec in self.specs}
        for check in self.cross_checks:
            check(p, values)
        return values

    def load(
        self, parse: Callable[[Mapping[str, Any], str, Collection[str]], Any] | None = None, *, region: bool = True
    ) -> Any:
        """The current stack's settings, validated, before any resource: ``parse(raw, subject,
        secret_keys)`` (default: ``self.parse``, values by attribute). Also refuses a key in an
        unknown namespace and, with ``region``, an ``aws:region`` that is not a region name."""
        import pulumi  # noqa: PLC0415 (parsing needs no Pulumi)
        from pulumi.runtime import config as runtime_config  # noqa: PLC0415

        project, stack = pulumi.get_project(), pulumi.get_stack()
        subject = f"stack {stack!r} settings ({project}:*)"
        p = Problems(subject)
        config = all_config()
        self.check_namespaces(p, config, project, provider_namespaces())
        if region:
            check_region(p, config.get("aws:region"))
        secret = set(runtime_config.get_config_secret_keys_env())
        secrets = {k.split(":", 1)[1] for k in config if runtime_config.is_config_secret(k) or k in secret}
        prefix = f"{project}:"
        raw = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
        try:
            settings = (parse or self.parse)(raw, subject, secrets)
        except ConfigError as error:
            raise ConfigError(subject, [*p.items, *error.problems]) from None
        p.raise_if_any()
        return settings

    # -- the config block of Pulumi.yaml ---------------------------------------------------------
    def config_block(self) -> str:
        """The ``config:`` block of ``Pulumi.yaml`` declaring every key: its type (which the
        Pulumi CLI checks at ``up``), default and description."""
        lines = ["config:"]
        for spec in self.specs:
            lines += [f"  {spec.key}:", f"    type: {_YAML_TYPES[spec.type]}"]
            if spec.type is list:
                lines += ["    items:", "      type: string"]
            lines += [f"    default: {_yaml_scalar(spec.default)}", f"    description: {json.dumps(spec.description)}"]
        return "\n".join(lines) + "\n"

    def check_project_file(self, path: str | os.PathLike[str]) -> list[str]:
        """How the ``config:`` block of the project file differs from this declaration (empty
        when they agree): each key missing, extra, or declared with another type, default or
        description."""
        import yaml  # noqa: PLC0415

        declared = (yaml.safe_load(Path(path).read_text()) or {}).get("config") or {}
        wanted = yaml.safe_load(self.config_block())["config"]
        problems = [f"{key}: not declared in {Path(path).name}" for key in wanted if key not in declared]
        problems += [f"{key}: declared in {Path(path).name} but not a setting" for key in declared if key not in wanted]
        for key in (k for k in wanted if k in declared):
            for field, value in wanted[key].items():
                given = declared[key].get(field) if isinstance(declared[key], dict) else None
                if given != value:
                    problems.append(f"{key}: {field} is {given!r} in {Path(path).name}, {value!r} in the settings")
        return problems

    def write_project_file(self, path: str | os.PathLike[str]) -> bool:
        """Replace (or add) the ``config:`` block of the project file, the rest of it (comments
        included) as it is. True when the file changed."""
        file = Path(path)
        text = file.read_text()
        lines = text.splitlines(keepends=True)
        start = next((i for i, line in enumerate(lines) if line.rstrip() == "config:"), None)
        if start is None:
            new = text + ("" if text.endswith("\n") or not text else "\n") + self.config_block()
        else:
            end = next(
                (i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()),
                len(lines),
            )
            new = "".join(lines[:start]) + self.config_block() + "".join(lines[end:])
        if new == text:
            return False
        file.write_text(new)
        return True


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(list(value) if isinstance(value, list | tuple) else value)
