"""Build a Lambda function's package: the user's code, the handler library and its requirements.

``package_function("./src", requirements="requirements.txt", architecture="arm64")`` returns a
``FunctionPackage`` (a ``pulumi.FileArchive`` of one zip) that ``ResilientFunction`` and
``PriorityQueuePair`` take as ``code``, and that checks their ``handler`` before anything is
created.

- Requirements are installed by pip for the function's runtime and architecture, binary wheels
  only (``--platform manylinux... --only-binary=:all: --implementation cp --python-version``):
  no Docker, no compiler, nothing built for the machine that runs the plan. A requirement with no
  wheel for the target is refused with its name and the platform.
- Powertools comes from the official layer (``powertools="layer"``, removed from the package if
  a requirement pulls it in) unless ``powertools="bundle"``.
- The zip is deterministic: entries sorted, fixed timestamps and modes, no ``__pycache__`` or
  ``.pyc``. The same inputs give the same bytes, so Pulumi sees the same code hash and does not
  publish a new version (and re-provision warm capacity) for nothing.
- It is cached by a hash of its inputs (files, requirements, runtime, architecture, options): an
  unchanged build costs a hash of the sources, not a pip run.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import pulumi

from . import defaults
from .validation import ConfigError, Problems

__all__ = [
    "FunctionPackage",
    "directory_handler_problem",
    "handler_problem",
    "library_code_problem",
    "library_files",
    "library_handlers_for",
    "library_handlers_package",
    "package_function",
    "pip_platforms",
]

# Bumped when the layout or the zip format changes, so older cached packages are not reused.
FORMAT_VERSION = "1"
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold
FILE_MODE = 0o644
ARCHITECTURES = ("arm64", "x86_64")
RUNTIMES = defaults.FUNCTION_RUNTIMES
POWERTOOLS_SOURCES = ("layer", "bundle")
# Both runtimes run on Amazon Linux 2023 (glibc 2.34): a manylinux wheel for glibc 2.17
# (manylinux2014) up to 2.34 loads there. pip does not widen a manylinux_2_x platform to older
# ones, so every accepted one is named.
GLIBC_MINORS = range(34, 16, -1)
_PIP_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}
_SKIP_DIRS = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".venv", ".hypothesis"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
# The directory that holds the handler library as a top-level ``handlers`` package: the repo root,
# or the installed ``resilient_serverless`` directory.
LIBRARY_ROOT = str(Path(__file__).resolve().parent.parent)
_POWERTOOLS = re.compile(r"^aws_lambda_powertools(-[^/]*\.dist-info)?$")
_NO_WHEEL = re.compile(r"No matching distribution found for ([^\s]+)")


def default_cache_dir() -> Path:
    """``$RESILIENT_SERVERLESS_CACHE``, else ``$XDG_CACHE_HOME/resilient-serverless/packages``
    (``~/.cache`` when unset). Default: ``~/.cache/resilient-serverless/packages``."""
    explicit = os.getenv("RESILIENT_SERVERLESS_CACHE")
    if explicit:
        return Path(explicit)
    base = Path(os.getenv("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "resilient-serverless" / "packages"


def pip_platforms(architecture: str) -> list[str]:
    """The ``--platform`` values pip is given: ``manylinux2014_<arch>`` and every
    ``manylinux_2_<n>_<arch>`` from glibc 2.17 to 2.34 (Amazon Linux 2023)."""
    arch = _PIP_ARCH[architecture]
    return [f"manylinux2014_{arch}", *(f"manylinux_2_{minor}_{arch}" for minor in GLIBC_MINORS)]


def library_files() -> dict[str, Path]:
    """The handler library as it lands in a package: ``resilient_serverless/handlers/...``.

    Only the package marker and ``resilience/``: the reference handlers beside it are this
    repository's application, not the library.
    """
    root = Path(LIBRARY_ROOT) / "handlers"
    files = {"resilient_serverless/handlers/__init__.py": root / "__init__.py"}
    typed = root / "py.typed"
    if typed.exists():
        files["resilient_serverless/handlers/py.typed"] = typed
    for arcname, path in _walk(root / "resilience"):
        files[f"resilient_serverless/handlers/resilience/{arcname}"] = path
    return files


class FunctionPackage(pulumi.FileArchive):
    """A built package: a ``pulumi.FileArchive`` of a deterministic zip, with what it holds.

    ``bundles_powertools`` tells ``ResilientFunction`` not to add Powertools a second time.
    """

    def __init__(self, zip_path: Path, *, bundles_powertools: bool, source: str) -> None:
        super().__init__(str(zip_path))
        self.zip_path = zip_path
        self.bundles_powertools = bundles_powertools
        self.source = source

    @cached_property
    def names(self) -> frozenset[str]:
        with zipfile.ZipFile(self.zip_path) as archive:
            return frozenset(archive.namelist())

    def read(self, name: str) -> bytes:
        with zipfile.ZipFile(self.zip_path) as archive:
            return archive.read(name)

    def handler_problem(self, handler: str) -> str | None:
        """Why ``handler`` ("module.function") would fail at its first invocation, or None."""
        module, _, function = handler.rpartition(".")
        candidates = [module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"]
        found = next((name for name in candidates if name in self.names), None)
        if found is None:
            return (
                f"handler={handler!r}: module {module!r} is not in the package built from {self.source!r} "
                f"(looked for {' or '.join(candidates)})"
            )
        if function not in _top_level_names(self.read(found)):
            return f"handler={handler!r}: module {module!r} ({found}) defines no function {function!r}"
        return None


def handler_problem(handler: object, code: object) -> str | None:
    """The handler check components run before creating anything: a ``FunctionPackage`` knows
    its contents, and a directory (a path, or a ``pulumi.FileArchive`` of one) is zipped as it is,
    so its files are the package; any other archive is accepted as it is."""
    if not isinstance(handler, str) or "." not in handler:
        return None
    # Duck-typed: the repo's ``components`` and the installed ``resilient_serverless.components``
    # are two copies of this class when a program mixes the names.
    check = getattr(code, "handler_problem", None)
    if callable(check):
        problem: str | None = check(handler)
        return problem
    directory = code if isinstance(code, str | os.PathLike) else getattr(code, "path", None)
    if isinstance(directory, str | os.PathLike) and Path(directory).is_dir():
        return directory_handler_problem(handler, directory)
    return None


def directory_handler_problem(handler: str, directory: str | os.PathLike[str]) -> str | None:
    """Why ``handler`` would fail in a package zipped from ``directory``, or None. The directory's
    contents are the package root (as ``pulumi.FileArchive`` zips them), so
    ``app.thumbs.lambda_handler`` needs ``<directory>/app/thumbs.py`` (or ``app/thumbs/__init__.py``)
    defining ``lambda_handler``."""
    module, _, function = handler.rpartition(".")
    root = Path(directory)
    candidates = [module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"]
    found = next((name for name in candidates if (root / name).is_file()), None)
    if found is None:
        return (
            f"handler={handler!r}: module {module!r} is not under code={str(directory)!r}, whose contents are "
            f"the package root (looked for {' or '.join(str(root / name) for name in candidates)})"
        )
    if function not in _top_level_names((root / found).read_bytes()):
        return f"handler={handler!r}: module {module!r} ({root / found}) defines no function {function!r}"
    return None


def _top_level_names(source: bytes) -> set[str]:
    """Names a module binds at its top level: functions, assignments, imports."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """Files under ``root`` (relative POSIX names), without caches and bytecode."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for filename in sorted(filenames):
            if filename.endswith(_SKIP_SUFFIXES):
                continue
            path = Path(dirpath) / filename
            yield path.relative_to(root).as_posix(), path


def _requirement_lines(requirements: str | os.PathLike[str] | Sequence[str] | None) -> list[str]:
    if requirements is None:
        return []
    if isinstance(requirements, str | os.PathLike):
        text = Path(requirements).read_text()
        lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    else:
        lines = [str(line).strip() for line in requirements]
    return [line for line in lines if line]


def _digest(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def package_function(
    source: str | os.PathLike[str],
    *,
    requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    handlers: Sequence[str] = (),
    architecture: str = "arm64",
    runtime: str = defaults.FUNCTION_RUNTIME,
    powertools: str = "layer",
    library: bool = True,
    package_name: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    pip_args: Sequence[str] = (),
) -> FunctionPackage:
    """Build (or reuse) the package of a function and return it as ``code``.

    - ``source``: the directory of the user's code. Its contents land at the package root, or
      under ``package_name`` when given (``package_name="handlers"`` makes ``handlers.orders``).
    - ``requirements``: a requirements file, or a list of requirement lines. Default: none.
    - ``handlers``: handler paths checked now (``ResilientFunction`` checks its own). Default: ().
    - ``architecture``: ``arm64`` or ``x86_64``, as the function's. Default: ``arm64``.
    - ``runtime``: one of ``defaults.FUNCTION_RUNTIMES``, as the function's. Default:
      ``defaults.FUNCTION_RUNTIME`` (the one AWS supports longest).
    - ``powertools``: ``layer`` (left out) or ``bundle`` (zipped in). Default: ``layer``.
    - ``library``: include the handler library as ``resilient_serverless.handlers``. Default: True.
    - ``cache_dir``: where packages and installed requirements are kept. Default:
      ``default_cache_dir()``.
    - ``pip_args``: extra pip arguments, e.g. ``["--no-index", "--find-links", "wheels/"]``.
      Default: ().

    The cache key is the requirement lines, not what they resolve to: pin versions (``==``) so
    a build means the same thing everywhere; delete the cache directory to re-resolve.

    Raises ``ConfigError`` for a bad option, a missing source, a requirement with no wheel for
    the target, or a handler the package does not define.
    """
    root = Path(source)
    subject = f"package {str(source)!r}"
    p = Problems(subject)
    p.check_choice("architecture", architecture, ARCHITECTURES)
    p.check_choice("runtime", runtime, RUNTIMES)
    p.check_choice("powertools", powertools, POWERTOOLS_SOURCES)
    if not root.is_dir():
        p.add(f"source={str(source)!r} is not a directory")
    if package_name is not None and not package_name.isidentifier():
        p.add(f"package_name={package_name!r} is not a Python identifier")
    p.raise_if_any()

    prefix = f"{package_name}/" if package_name else ""
    files: dict[str, Path] = {f"{prefix}{name}": path for name, path in _walk(root)}
    if library:
        files.update(library_files())
    if powertools == "bundle":
        files.update(_powertools_files())
    lines = _requirement_lines(requirements)
    python_version = runtime.removeprefix("python")
    settings = [FORMAT_VERSION, runtime, architecture, powertools, *pip_args, "\n", *lines]
    inputs = [s.encode() for s in settings]
    for name in sorted(files):
        inputs += [name.encode(), files[name].read_bytes()]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    zip_path = cache / f"{_digest(inputs)[:40]}.zip"
    if not zip_path.exists():
        if lines:
            deps = _install(lines, architecture, python_version, pip_args, cache=cache, subject=subject)
            _add_dependencies(files, deps, keep_powertools=powertools == "bundle")
        _write_zip(files, zip_path)
    package = FunctionPackage(zip_path, bundles_powertools=powertools == "bundle", source=str(source))
    problems = [problem for problem in map(package.handler_problem, handlers) if problem]
    if problems:
        raise ConfigError(subject, problems)
    return package


def library_handlers_package(
    *,
    architecture: str = "arm64",
    runtime: str = defaults.FUNCTION_RUNTIME,
    powertools: str = "layer",
    cache_dir: str | os.PathLike[str] | None = None,
) -> FunctionPackage:
    """The library's own handlers as a function package, as the components that run them
    (AsyncJobWorkflow: ``handlers.jobs``, WebSocketNotifier: ``handlers.push``) need it: the
    installed ``resilient_serverless/handlers`` directory zipped as a top-level ``handlers``
    package (their handler paths are ``handlers.<module>.lambda_handler``). Built by
    ``package_function``: deterministic, cached by a hash of the files and options, no pip run.

    - ``architecture``, ``runtime``, ``powertools``: as the functions'. Defaults: ``arm64``,
      ``defaults.FUNCTION_RUNTIME``, ``layer``.
    """
    return package_function(
        Path(LIBRARY_ROOT) / "handlers",
        package_name="handlers",
        library=False,
        architecture=architecture,
        runtime=runtime,
        powertools=powertools,
        cache_dir=cache_dir,
    )


def library_handlers_for(function_args: Mapping[str, Any] | None) -> FunctionPackage:
    """``library_handlers_package`` for functions made with ``function_args`` (a component's
    ``functions``/``function`` argument): their architecture, runtime and Powertools source, each
    defaulting as ResilientFunction's does."""
    given = function_args if isinstance(function_args, Mapping) else {}
    return library_handlers_package(
        architecture=given.get("architecture", defaults.FUNCTION_ARCHITECTURE),
        runtime=given.get("runtime", defaults.FUNCTION_RUNTIME),
        powertools=given.get("powertools", "layer"),
    )


def library_code_problem(code: object, handlers: Iterable[str], component: str) -> str | None:
    """Why a ``code`` given to ``component`` cannot run the library's ``handlers``
    (``handlers.jobs.submit.lambda_handler``...), or None: a package that holds them, or an
    archive whose contents cannot be read here."""
    problems = [p for p in (handler_problem(h, code) for h in handlers) if p]
    if not problems:
        return None
    return (
        f"code must hold the library's handlers as a top-level 'handlers' package (leave code out and "
        f"{component} packages its own): {problems[0]}"
    )


def _add_dependencies(files: dict[str, Path], deps: Path, *, keep_powertools: bool) -> None:
    for name, path in _walk(deps):
        top = name.split("/", 1)[0]
        if top == "bin" or (not keep_powertools and _POWERTOOLS.match(top)):
            continue  # console scripts are useless in Lambda; the layer has Powertools
        files.setdefault(name, path)  # the user's own files win over a dependency's


def _powertools_files() -> dict[str, Path]:
    # Powertools is pure Python; typing_extensions is the one dependency the runtime lacks
    # (jmespath ships with botocore), as the official layer provides it.
    import aws_lambda_powertools  # noqa: PLC0415 (only when bundling)
    import typing_extensions  # noqa: PLC0415

    root = Path(aws_lambda_powertools.__file__).parent
    files = {f"aws_lambda_powertools/{name}": path for name, path in _walk(root)}
    files["typing_extensions.py"] = Path(typing_extensions.__file__)
    return files


def _install(
    lines: list[str], architecture: str, python_version: str, pip_args: Sequence[str], *, cache: Path, subject: str
) -> Path:
    """Install requirements for the target into a cached directory (keyed by what decides it)."""
    key = _digest(s.encode() for s in [FORMAT_VERSION, architecture, python_version, *pip_args, "\n", *lines])
    target = cache / "deps" / key[:40]
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    platforms = pip_platforms(architecture)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        requirements_file = Path(work) / "requirements.txt"
        requirements_file.write_text("\n".join(lines) + "\n")
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        command += ["--target", str(Path(work) / "site"), "--no-compile", "--only-binary=:all:"]
        command += ["--implementation", "cp", "--python-version", python_version]
        for platform in platforms:
            command += ["--platform", platform]
        command += [*pip_args, "-r", str(requirements_file)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            missing = _NO_WHEEL.search(result.stderr)
            where = f"{platforms[0]} (up to {platforms[1]}), cp{python_version.replace('.', '')}"
            if missing:
                problem = (
                    f"requirement {missing.group(1)!r} has no binary wheel for {where} "
                    f"({architecture}): pick a version that publishes one, or another package"
                )
            else:
                problem = f"pip could not install the requirements for {where}: {result.stderr.strip()[-800:]}"
            raise ConfigError(subject, [problem])
        try:
            os.replace(Path(work) / "site", target)
        except OSError:
            if not target.exists():  # another build raced us to the same key: theirs is as good
                raise
    return target


def _write_zip(files: dict[str, Path], zip_path: Path) -> None:
    """Write ``files`` as a zip whose bytes depend only on names and contents."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=zip_path.parent, suffix=".zip.tmp")
    try:
        with os.fdopen(handle, "wb") as stream, zipfile.ZipFile(stream, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, so the mode below is read
                info.external_attr = (0o100000 | FILE_MODE) << 16
                archive.writestr(info, files[name].read_bytes(), compresslevel=9)
        os.replace(temporary, zip_path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
