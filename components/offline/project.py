"""A Pulumi project's files as the Pulumi CLI reads them: ``Pulumi.yaml`` (name, config defaults,
``stackConfigDir``) and each ``Pulumi.<stack>.yaml``, with one ``ProjectFileError`` per bad file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..validation import ConfigError

__all__ = [
    "OFFLINE_SECRET",
    "ProjectFileError",
    "ProjectFiles",
    "UnknownStackError",
    "load_project",
    "read_config_file",
]


class UnknownStackError(LookupError):
    def __init__(self, stack: str, known: list[str], config_dir: Path) -> None:
        self.stack, self.known = stack, known
        super().__init__(
            f"unknown stack {stack!r}: no {config_dir / f'Pulumi.{stack}.yaml'}; "
            f"known stacks: {', '.join(known) or 'none'}"
        )


class ProjectFileError(ConfigError):
    """A project or stack file that cannot be read as Pulumi config: one problem, named with the
    file (the CLI prints it on one line and exits 2)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(str(path), [problem])


# The value a ``secure:`` config entry takes offline: without the stack's secrets provider it
# cannot be decrypted, so the program sees this stand-in (``environments/settings.py`` knows it).
OFFLINE_SECRET = "[secret]"


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = str(getattr(error, "problem", None) or error).replace("'\\t'", "a tab (YAML indents with spaces)")
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"malformed YAML{where}: {problem}"


def read_config_file(path: Path) -> dict[str, Any]:
    """``path`` as a YAML mapping whose ``config`` (if any) maps string keys to values; every other
    shape is one ``ProjectFileError`` naming the file and the problem."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        raise ProjectFileError(path, f"is not UTF-8 text (byte {byte:#04x} at offset {error.start})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ProjectFileError(path, _yaml_problem(error)) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ProjectFileError(path, f"must be a YAML mapping (key: value), not a {type(document).__name__}")
    config = document.get("config")
    if config is not None and not isinstance(config, dict):
        raise ProjectFileError(
            path, f"config must be a mapping of 'namespace:key: value', not a {type(config).__name__}: {config!r}"
        )
    for key in config or {}:
        if not isinstance(key, str):
            raise ProjectFileError(path, f"config key {key!r} is not a string (keys are 'namespace:key')")
    return document


@dataclass(frozen=True)
class ProjectFiles:
    directory: Path
    name: str
    config_dir: Path
    defaults: dict[str, Any]

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.config_dir.glob("Pulumi.*.yaml"))

    def stack_config(self, stack: str) -> tuple[dict[str, Any], list[str]]:
        """The stack's config (project defaults, then the stack file) and its secret keys."""
        path = self.config_dir / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            raise UnknownStackError(stack, self.stacks(), self.config_dir)
        document = read_config_file(path)
        config = dict(self.defaults)
        secrets: list[str] = []
        for key, value in (document.get("config") or {}).items():
            full = key if ":" in key else f"{self.name}:{key}"
            if isinstance(value, dict) and set(value) == {"secure"}:
                config[full], secrets = OFFLINE_SECRET, [*secrets, full]
            else:
                config[full] = value
        return config, secrets


def load_project(project_dir: str | os.PathLike[str] = ".") -> ProjectFiles:
    directory = Path(project_dir).resolve()
    manifest = directory / "Pulumi.yaml"
    if not manifest.is_file():
        raise FileNotFoundError(f"no Pulumi.yaml in {directory}")
    document = read_config_file(manifest)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectFileError(manifest, f"name={name!r} must be the project name (a string)")
    defaults: dict[str, Any] = {}
    for key, spec in (document.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict):
            if "default" in spec:
                defaults[full] = spec["default"]
            elif "value" in spec:
                defaults[full] = spec["value"]
        else:
            defaults[full] = spec
    config_dir = directory / document.get("stackConfigDir", ".")
    return ProjectFiles(directory, name, config_dir, defaults)
