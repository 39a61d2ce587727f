"""Capture every resource a program registers (type, name, inputs, parent, dependencies) and
query the result. ``run_program`` runs a function or a file under mocks; ``run_stack`` runs a
project's real ``__main__.py`` with its real stack config file, as ``pulumi up`` would.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

from ..rules import clear_waivers
from ..validation import ConfigError
from .mocks import AwsMocks

__all__ = [
    "CapturedResource",
    "Graph",
    "ProjectFileError",
    "ProjectFiles",
    "RecordingMonitor",
    "UnknownStackError",
    "load_project",
    "run_program",
    "run_stack",
]


def normalize(value: Any) -> Any:
    """Under mocks numbers arrive as floats; give whole numbers back as ints, recursively."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    return value


@dataclass(frozen=True)
class CapturedResource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None
    dependencies: tuple[str, ...]
    custom: bool
    retain_on_delete: bool = False  # kept in the cloud when its stack is destroyed

    @property
    def is_component(self) -> bool:
        return not self.custom

    def __repr__(self) -> str:
        return f"<{self.type} {self.name}>"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also records parent, dependencies and component outputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[CapturedResource] = []
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.inputs_by_urn: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = normalize(rpc.deserialize_properties(request.object))
        state = {**self.resources[response.urn].state, "id": response.id}
        self.records.append(
            CapturedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                inputs=inputs,
                outputs=normalize(dict(state)),
                parent=request.parent or None,
                dependencies=tuple(request.dependencies),
                custom=bool(request.custom),
                retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = rpc.deserialize_properties(request.outputs) if request.outputs else {}
        self.component_outputs[request.urn] = normalize(outputs)
        return super().RegisterResourceOutputs(request)


@dataclass
class Graph:
    """What a program registered, in registration order, with query helpers."""

    resources: list[CapturedResource]
    exports: dict[str, Any] = field(default_factory=dict)
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack: str = ""
    project: str = ""

    def __iter__(self) -> Iterator[CapturedResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def by_urn(self, urn: str) -> CapturedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def of_type(self, type_: str) -> list[CapturedResource]:
        """Resources of a type token (``aws:sqs/queue:Queue``) or a component class name."""
        return [r for r in self.resources if r.type == type_ or r.type.endswith(f":{type_}")]

    def named(self, name: str) -> CapturedResource:
        return self.one(name=name)

    def one(self, type_: str | None = None, name: str | None = None) -> CapturedResource:
        """The single resource matching type and/or name; an AssertionError lists the candidates."""
        pool = self.of_type(type_) if type_ else self.resources
        found = [r for r in pool if name is None or r.name == name]
        if len(found) != 1:
            listing = ", ".join(f"{r.type}:{r.name}" for r in pool[:20])
            raise AssertionError(
                f"expected one resource (type={type_!r}, name={name!r}), found {len(found)}; candidates: {listing}"
            )
        return found[0]

    def children_of(self, parent: CapturedResource | str, type_: str | None = None) -> list[CapturedResource]:
        urn = parent.urn if isinstance(parent, CapturedResource) else parent
        kids = [r for r in self.resources if r.parent == urn]
        return [r for r in kids if type_ is None or r.type == type_ or r.type.endswith(f":{type_}")]

    def descendants_of(self, parent: CapturedResource | str) -> list[CapturedResource]:
        out: list[CapturedResource] = []
        for child in self.children_of(parent):
            out.append(child)
            out.extend(self.descendants_of(child))
        return out

    def roots(self) -> list[CapturedResource]:
        urns = {r.urn for r in self.resources}
        return [r for r in self.resources if r.parent not in urns]

    def parent_of(self, resource: CapturedResource) -> CapturedResource | None:
        if resource.parent is None:
            return None
        try:
            return self.by_urn(resource.parent)
        except KeyError:
            return None

    def outputs_of(self, component: CapturedResource) -> dict[str, Any]:
        return self.component_outputs.get(component.urn, {})


def _config_value(value: Any) -> str:
    """Config values as the Pulumi CLI hands them to a program: strings, JSON for structures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a program runs.

    Pulumi's runtime makes many reference cycles (futures, callbacks); every collection during
    the run rescans all that are alive, which made synthesis superlinear here (per resource:
    1.3 ms at 10 small components, 2.9 ms at 1000). Collected once afterwards, it stays flat
    (``make bench``, synthesis rows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _resolve(value: Any) -> Any:
    output = pulumi.Output.from_input(value)
    if _sync_await(output.is_secret()):
        return "[secret]"
    return normalize(_sync_await(output.future()))


def run_program(
    program: Callable[[], Any] | str | os.PathLike[str],
    *,
    project: str = "project",
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> Graph:
    """Run ``program`` (a callable, or the path of a ``__main__.py``) under mocks; return its graph.

    Config keys without a namespace get the project's. Exceptions raised by the program (such as
    a ``ConfigError`` for bad input) propagate unchanged.
    """
    mocks = mocks or AwsMocks()
    monitor = RecordingMonitor(mocks)
    clear_waivers()
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    full = {(k if ":" in k else f"{project}:{k}"): _config_value(v) for k, v in (config or {}).items()}
    pulumi.runtime.set_all_config(full, secret_keys or [])
    with _no_cyclic_gc():
        if callable(program):
            program()
        else:
            runpy.run_path(str(program), run_name="__main__")
        _sync_await(wait_for_rpcs())
    root = pulumi_settings.get_root_resource()
    raw_exports = dict(getattr(root, "outputs", {}) or {})
    exports = {k: _resolve(v) for k, v in raw_exports.items()}
    return Graph(list(monitor.records), exports, dict(monitor.component_outputs), stack, project)


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


@contextlib.contextmanager
def _inside(directory: Path) -> Iterator[None]:
    """Run as the Pulumi language host does: cwd and import path at the project directory."""
    previous = Path.cwd()
    sys.path.insert(0, str(directory))
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(directory))


def run_stack(
    stack: str,
    project_dir: str | os.PathLike[str] = ".",
    *,
    mocks: AwsMocks | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Graph:
    """Run the project's real ``__main__.py`` with ``environments/Pulumi.<stack>.yaml``.

    ``overrides`` replaces config keys (bare keys take the project namespace) on top of the file,
    which is how tests try one bad value without editing a stack file.
    """
    project = load_project(project_dir)
    config, secrets = project.stack_config(stack)
    for key, value in (overrides or {}).items():
        config[key if ":" in key else f"{project.name}:{key}"] = value
    region = str(config.get("aws:region", "us-east-1"))
    mocks = mocks or AwsMocks(region=region)
    with _inside(project.directory):
        return run_program(
            project.directory / "__main__.py",
            project=project.name,
            stack=stack,
            config=config,
            secret_keys=secrets,
            mocks=mocks,
        )
