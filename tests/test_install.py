"""The package as a user installs it: a wheel built once, installed (not editable) into one fresh
virtualenv outside the repo, every module imported there, and programs that live outside the
package (``tests/consumers/``) synthesized and planned by the installed ``resilient-serverless``.

An editable install imports whatever is in the source tree, so it hides a module the wheel leaves
out: only a built wheel shows it. Installing the wheel's dependencies costs about 25 s here (pip
cache warm), so the session builds one wheel and one virtualenv and every test shares them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = ROOT / "tests" / "consumers"
INSTALLED_ROOTS = {"components": "resilient_serverless/components", "handlers": "resilient_serverless/handlers"}
SKIPPED_DIRS = {"__pycache__"}
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "components", "handlers")


@dataclass(frozen=True)
class Installed:
    python: Path
    cli: Path
    env: dict[str, str]


def source_files() -> set[str]:
    """Every file of the two source roots, named as the wheel names it."""
    names = set()
    for root, installed in INSTALLED_ROOTS.items():
        for path in (ROOT / root).rglob("*"):
            if path.is_file() and not SKIPPED_DIRS & set(path.parts) and path.suffix not in (".pyc", ".pyo"):
                names.add(f"{installed}/{path.relative_to(ROOT / root).as_posix()}")
    return names


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a clean copy of what the build reads: setuptools builds in the source tree and
    packs whatever an earlier build left in ``build/lib``, which would hide a module it now leaves out."""
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if not (ROOT / name).exists():
            continue
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("resilient_serverless-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """One virtualenv for the session: the wheel with its dependencies and the policy extra."""
    home = tmp_path_factory.mktemp("user")
    env_dir = home / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}[policy]"],
        check=True,
        capture_output=True,
        cwd=home,
    )
    # Nothing of the repo on the path; package builds go to the user's own cache.
    env = {
        "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "RESILIENT_SERVERLESS_CACHE": str(home / "cache"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return Installed(python, env_dir / "bin" / "resilient-serverless", env)


def test_the_wheel_holds_every_package_and_file_of_the_source_tree(wheel: Path) -> None:
    # GIVEN the wheel built from the repo
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("resilient_serverless/")}
    # THEN it holds every source file of components/ and handlers/ under its installed name, and
    # nothing else
    assert sorted(source_files() - shipped) == []
    assert sorted(shipped - source_files()) == []


def test_every_module_of_the_installed_package_imports(installed: Installed) -> None:
    # GIVEN the wheel installed into a fresh virtualenv, run from outside the repo
    probe = (
        "import importlib, json, pkgutil\n"
        "import resilient_serverless.components as c, resilient_serverless.handlers as h\n"
        "names = [c.__name__, h.__name__]\n"
        "for pkg in (c, h):\n"
        "    names += [i.name for i in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.')]\n"
        "failed = {}\n"
        "for name in names:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        failed[name] = repr(error)\n"
        "print(json.dumps({'names': sorted(names), 'failed': failed, 'file': c.__file__}))\n"
    )
    result = subprocess.run(
        [installed.python, "-c", probe],
        check=False,
        capture_output=True,
        text=True,
        cwd=installed.python.parents[2],
        env=installed.env,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # THEN every module imports, from site-packages, and they are the modules of the source tree
    assert report["failed"] == {}
    assert "site-packages" in report["file"], report["file"]
    in_tree = {
        name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in source_files()
        if name.endswith(".py")
    }
    assert sorted(report["names"]) == sorted(in_tree)


def test_the_installed_cli_lists_the_rules(installed: Installed) -> None:
    result = subprocess.run([installed.cli, "rules"], check=True, capture_output=True, text=True, env=installed.env)
    assert "lambda-explicit-timeout" in result.stdout


def consumer_dirs() -> list[str]:
    return sorted(p.name for p in CONSUMERS.iterdir() if (p / "Pulumi.yaml").is_file())


@pytest.mark.parametrize("consumer", consumer_dirs())
def test_a_consumer_program_synthesizes_and_plans_with_the_installed_package(
    consumer: str, installed: Installed
) -> None:
    # GIVEN a Pulumi program written from the README and docstrings, outside the package
    project = CONSUMERS / consumer
    # WHEN the installed CLI plans its dev stack
    result = subprocess.run(
        [installed.cli, "plan", "--stack", "dev", "--project-dir", str(project), "--json"],
        check=False,
        capture_output=True,
        text=True,
        cwd=installed.python.parents[2],
        env=installed.env,
    )
    # THEN it plans clean (exit 0, no error finding), never with a traceback: these programs are
    # written from the README, so an error finding would mean the README teaches a mistake
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    assert result.returncode in (0, 1), result.stderr[-3000:]
    plan = json.loads(result.stdout)
    assert plan["summary"]["resources"] > 0, consumer
    errors = [f for f in plan["findings"] if f["severity"] == "error"]
    assert (result.returncode, errors) == (0, []), consumer


def test_same_code_imports_as_components_and_handlers_from_the_repo_root() -> None:
    probe = "import components, handlers.resilience.breaker, components.naming as n; print(n.physical_name('sqs', 'a'))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    assert out.strip() == "a"
