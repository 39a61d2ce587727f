"""The package as a user installs it: a wheel built once, installed (not editable) into one fresh
virtualenv outside the repo, every module imported there, and programs that live outside the
package (``tests/consumers/``) synthesized and planned by the installed ``resilient-serverless``.

An editable install imports whatever is in the source tree, so it hides a module the wheel leaves
out: only a built wheel shows it. Installing the wheel's dependencies costs about 25 s here (pip
cache warm), so the session builds one wheel and one virtualenv and every test shares them.
"""

from __future__ import annotations

import email.message
import email.parser
import json
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = ROOT / "tests" / "consumers"
INSTALLED_ROOTS = {"components": "resilient_serverless/components", "handlers": "resilient_serverless/handlers"}
SKIPPED_DIRS = {"__pycache__"}
USER_EXTRAS = "local,otel,policy,simulate"
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "components",
    "handlers",
)
# Left out of a release's build tree: tools' state and earlier builds (a git checkout has none).
NOT_IN_A_CHECKOUT = (".venv", ".git", "build", "dist", "node_modules", "*.egg-info", "__pycache__", "*.pyc", ".*_cache")
# What the sdist holds besides the package sources: what builds the wheel and the documents a
# distributor needs (MANIFEST.in says why tests, bench and the reference deployment are not in it).
SDIST_FILES = {
    "PKG-INFO",
    "setup.cfg",
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
}


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
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built as a release is: ``python -m build --sdist`` in the whole checkout, tests and bench
    included, so that what leaves them out is the build's own configuration."""
    checkout = tmp_path_factory.mktemp("checkout") / "resilient-serverless"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*NOT_IN_A_CHECKOUT))
    out = tmp_path_factory.mktemp("sdist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(checkout)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("resilient_serverless-*.tar.gz")
    return built


def sdist_members(sdist: Path) -> set[str]:
    """The files of the sdist, without its top directory ``resilient_serverless-<version>/``."""
    with tarfile.open(sdist) as archive:
        return {m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile()}


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """One virtualenv for the session: the wheel with its dependencies and every extra a user may
    ask for, so each extra's dependency list is proved complete by importing every module."""
    home = tmp_path_factory.mktemp("user")
    env_dir = home / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}[{USER_EXTRAS}]"],
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


def test_the_wheel_carries_the_license_and_type_markers_and_no_tests_or_bench(wheel: Path) -> None:
    # GIVEN the wheel built from the repo
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        license_text = archive.read(license_file).decode()
    # THEN it ships the Apache-2.0 text and a py.typed marker per package root
    assert license_text == (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert {"resilient_serverless/components/py.typed", "resilient_serverless/handlers/py.typed"} <= set(names)
    # AND nothing of the tests, the benchmarks or the reference stacks
    top_level = sorted({n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")})
    assert top_level == ["resilient_serverless"]
    assert [n for n in names if "/tests/" in n or "/bench/" in n or "/environments/" in n] == []
    # AND none of the reference application's handlers: they are the repository's app/, not the library
    assert [n for n in names if n.rsplit("/", 1)[-1] in ("orders.py", "ingest.py") or n.startswith("app/")] == []


def test_the_wheel_metadata_is_spdx_licensed_classified_and_publishes_only_user_extras(wheel: Path) -> None:
    meta = wheel_metadata(wheel)
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["License"] is None  # the deprecated free-text field setuptools warns about
    classifiers = meta.get_all("Classifier", [])
    assert "Typing :: Typed" in classifiers
    # PEP 639: the license is the expression; a license classifier beside it fails the upload
    assert [c for c in classifiers if c.startswith("License ::")] == []
    assert "pulumi" in meta["Keywords"].split(",")
    # no project URLs while the repository has no public address (pyproject.toml says why)
    assert meta.get_all("Project-URL") is None
    # the maintainers' tools are dependency groups, never extras a user can install
    assert sorted(meta.get_all("Provides-Extra", [])) == USER_EXTRAS.split(",")
    runtime = [r.split(";")[0] for r in meta.get_all("Requires-Dist", []) if "extra ==" not in r]
    assert any(r.startswith("botocore") for r in runtime), runtime
    assert not any(r.startswith("boto3") for r in runtime), runtime


def test_the_sdist_holds_the_package_sources_and_the_documents_and_nothing_else(sdist: Path) -> None:
    # GIVEN the sdist built from the whole checkout
    members = sdist_members(sdist)
    egg_info = {m for m in members if m.startswith("resilient_serverless.egg-info/")}
    sources = {
        f"{root}/{path.relative_to(ROOT / root).as_posix()}"
        for root in INSTALLED_ROOTS
        for path in (ROOT / root).rglob("*")
        if path.is_file() and not SKIPPED_DIRS & set(path.parts) and path.suffix not in (".pyc", ".pyo")
    }
    # THEN it holds the sources of components/ and handlers/, the build files and README,
    # LICENSE and CHANGELOG: no tests, no bench, no reference deployment
    assert sorted(members - egg_info - sources) == sorted(SDIST_FILES)
    assert sorted(sources - members) == []


def test_the_wheel_built_from_the_sdist_is_the_wheel_built_from_the_repo(
    sdist: Path, wheel: Path, tmp_path: Path
) -> None:
    # GIVEN the sdist, built into a wheel as pip does when no wheel is published
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(sdist)],
        check=True,
        capture_output=True,
    )
    (from_sdist,) = tmp_path.glob("resilient_serverless-*.whl")
    # THEN it holds the same files as the wheel built from the repo: the sdist misses nothing
    with zipfile.ZipFile(from_sdist) as a, zipfile.ZipFile(wheel) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())


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


SCHEMA_SNAPSHOT = ROOT / "tests" / "components" / "provider" / "snapshots" / "component_package_schema.json"


def test_the_installed_package_serves_the_component_schema_of_the_snapshot(installed: Installed) -> None:
    # GIVEN the wheel installed: the facades ship with it, so a PulumiPlugin.yaml anywhere can
    # point at `python -m resilient_serverless.components.provider`
    result = subprocess.run(
        [installed.python, "-m", "resilient_serverless.components.provider", "--schema"],
        check=False,
        capture_output=True,
        text=True,
        cwd=installed.python.parents[2],
        env=installed.env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # THEN Pulumi's analyzer infers, from the installed sources, the schema of the snapshot
    served = json.loads(result.stdout)
    assert served.pop("version") == wheel_version(installed)
    assert served == json.loads(SCHEMA_SNAPSHOT.read_text())


def wheel_version(installed: Installed) -> str:
    probe = "import importlib.metadata as m; print(m.version('resilient-serverless'))"
    return subprocess.run(
        [installed.python, "-c", probe], check=True, capture_output=True, text=True, env=installed.env
    ).stdout.strip()


def test_a_users_own_settings_refuse_a_bad_stack_value_naming_the_key(installed: Installed) -> None:
    # GIVEN a user's program whose two keys are declared with the installed settings machinery,
    # and a stack file with a value out of range (its dev stack plans clean above)
    project = CONSUMERS / "own_settings"
    # WHEN the installed CLI plans that stack
    result = subprocess.run(
        [installed.cli, "plan", "--stack", "bad", "--project-dir", str(project)],
        check=False,
        capture_output=True,
        text=True,
        cwd=installed.python.parents[2],
        env=installed.env,
    )
    # THEN it refuses the value before any resource, naming the key, its value and the range
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "resilient-serverless: stack 'bad' settings (own_settings:*): "
        "workerTimeoutSeconds=1000 is outside 1 to 900 seconds (Lambda timeout)"
    )
    # AND the installed command keeps the project's Pulumi.yaml in step with the declaration
    check = subprocess.run(
        [installed.python, "-m", "resilient_serverless.components.settings", "check", "--spec", "shop_settings:SPEC"],
        check=False,
        capture_output=True,
        text=True,
        cwd=project,
        env=installed.env,
    )
    assert (check.returncode, check.stderr) == (0, "")
