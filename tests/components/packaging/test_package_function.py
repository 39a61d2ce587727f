"""package_function: a user's project with one pure-Python and one binary dependency, built for
both architectures from a local wheelhouse (no network), deterministic, cached, checked."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest
from resilient_serverless.components.defaults import FUNCTION_RUNTIME
from resilient_serverless.components.packaging import FORMAT_VERSION, FunctionPackage, package_function, pip_platforms
from resilient_serverless.components.validation import ConfigError

from tests.conftest import ROOT

# The wheels the tests make are tagged for the default runtime (the one packages are built for).
PYVER = FUNCTION_RUNTIME.removeprefix("python").replace(".", "")
CP = f"cp{PYVER}"


def _wheel(wheelhouse: Path, name: str, tag: str, files: dict[str, bytes], requires: tuple[str, ...] = ()) -> None:
    """Write a minimal, valid wheel (METADATA, WHEEL, RECORD) for ``name`` 1.0 tagged ``tag``."""
    dist_info = f"{name}-1.0.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    pure = tag.endswith("none-any")
    wheel_meta = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {str(pure).lower()}\nTag: {tag}\n"
    entries = {**files, f"{dist_info}/METADATA": metadata.encode(), f"{dist_info}/WHEEL": wheel_meta.encode()}
    record = ""
    for path, data in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    record += f"{dist_info}/RECORD,,\n"
    with zipfile.ZipFile(wheelhouse / f"{name}-1.0-{tag}.whl", "w") as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist_info}/RECORD", record)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``puretext`` (py3-none-any) and ``fastcalc`` (manylinux2014 wheels of the default runtime for
    both architectures, each with its own compiled module), ``fastcalc`` depending on ``puretext``."""
    house = tmp_path_factory.mktemp("wheelhouse")
    _wheel(house, "puretext", "py3-none-any", {"puretext/__init__.py": b"def shout(s):\n    return s.upper()\n"})
    for arch in ("x86_64", "aarch64"):
        _wheel(
            house,
            "fastcalc",
            f"{CP}-{CP}-manylinux2014_{arch}",
            {
                "fastcalc/__init__.py": b"from ._speed import add\n",
                f"fastcalc/_speed.cpython-{PYVER}-{arch}-linux-gnu.so": f"ELF for {arch}".encode(),
            },
            requires=("puretext",),
        )
    return house


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project as another team would lay it out, with a stale __pycache__ in it."""
    src = tmp_path / "shop" / "src"
    (src / "orders").mkdir(parents=True)
    (src / "orders" / "__init__.py").write_text("")
    (src / "orders" / "api.py").write_text(
        "from resilient_serverless.handlers.resilience.observability import logger\n\n\n"
        "def handle(event, context):\n    return {'ok': True}\n"
    )
    (src / "orders" / "__pycache__").mkdir()
    (src / "orders" / "__pycache__" / f"api.cpython-{PYVER}.pyc").write_bytes(b"stale")
    (src / "orders" / "api.pyc").write_bytes(b"stale")
    (tmp_path / "shop" / "requirements.txt").write_text("fastcalc==1.0  # pulls puretext\n")
    return tmp_path / "shop"


def _build(project: Path, wheelhouse: Path, cache: Path, **kwargs: object) -> FunctionPackage:
    options: dict[str, object] = {
        "requirements": project / "requirements.txt",
        "cache_dir": cache,
        "pip_args": ["--no-index", "--find-links", str(wheelhouse)],
        **kwargs,
    }
    return package_function(project / "src", **options)


def _names(package: FunctionPackage) -> list[str]:
    with zipfile.ZipFile(package.zip_path) as archive:
        return archive.namelist()


@pytest.mark.parametrize(("architecture", "machine"), [("arm64", "aarch64"), ("x86_64", "x86_64")])
def test_package_holds_code_library_and_the_wheels_for_the_architecture(
    project: Path, wheelhouse: Path, tmp_path: Path, architecture: str, machine: str
) -> None:
    # GIVEN a project with a binary dependency published for both architectures
    # WHEN it is packaged for one of them
    package = _build(project, wheelhouse, tmp_path / "cache", architecture=architecture)
    names = _names(package)
    # THEN the package has the user's code, the library, both dependencies and that architecture's binary
    assert "orders/api.py" in names
    assert "resilient_serverless/handlers/resilience/xray.py" in names
    assert "puretext/__init__.py" in names
    assert [n for n in names if n.endswith(".so")] == [f"fastcalc/_speed.cpython-{PYVER}-{machine}-linux-gnu.so"]
    assert package.read(f"fastcalc/_speed.cpython-{PYVER}-{machine}-linux-gnu.so") == f"ELF for {machine}".encode()


def test_package_has_no_bytecode_sorted_entries_fixed_times_and_modes(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    package = _build(project, wheelhouse, tmp_path / "cache")
    with zipfile.ZipFile(package.zip_path) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert not [n for n in names if n.startswith("bin/")]


def test_two_builds_are_byte_identical(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    # GIVEN two builds of the same inputs in separate caches (so neither reuses the other)
    first = _build(project, wheelhouse, tmp_path / "one")
    (project / "src" / "orders" / "__pycache__" / f"api.cpython-{PYVER}.pyc").write_bytes(b"changed by a test run")
    second = _build(project, wheelhouse, tmp_path / "two")
    # THEN the zips are the same bytes (a test run's bytecode does not change the code hash)
    assert first.zip_path != second.zip_path
    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()


def test_an_unchanged_build_is_reused_and_a_change_rebuilds(
    project: Path, wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = _build(project, wheelhouse, cache)
    # WHEN nothing changed, pip is not run again
    from resilient_serverless.components import packaging

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran for an unchanged build")

    monkeypatch.setattr(packaging.subprocess, "run", no_pip)
    again = _build(project, wheelhouse, cache)
    assert again.zip_path == first.zip_path
    # WHEN the code changes, the package changes (the installed requirements are reused)
    (project / "src" / "orders" / "api.py").write_text("def handle(event, context):\n    return 1\n")
    changed = _build(project, wheelhouse, cache)
    assert changed.zip_path != first.zip_path
    assert changed.read("orders/api.py").endswith(b"return 1\n")


def test_a_dependency_without_a_wheel_for_the_platform_is_named(
    project: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    (project / "requirements.txt").write_text("puretext\nslowonly==2.0\n")
    with pytest.raises(ConfigError) as raised:
        _build(project, wheelhouse, tmp_path / "cache", architecture="arm64")
    assert str(raised.value) == (
        f"package {str(project / 'src')!r}: requirement 'slowonly==2.0' has no binary wheel for "
        f"manylinux2014_aarch64 (up to manylinux_2_34_aarch64), {CP} (arm64): pick a version that "
        "publishes one, or another package"
    )


def test_pip_is_given_every_manylinux_platform_up_to_amazon_linux_2023() -> None:
    platforms = pip_platforms("arm64")
    assert platforms[0] == "manylinux2014_aarch64"
    assert platforms[1] == "manylinux_2_34_aarch64"
    assert platforms[-1] == "manylinux_2_17_aarch64"
    assert pip_platforms("x86_64")[0] == "manylinux2014_x86_64"


def test_powertools_comes_from_the_layer_unless_bundled(project: Path, wheelhouse: Path, tmp_path: Path) -> None:
    _wheel(wheelhouse, "aws_lambda_powertools", "py3-none-any", {"aws_lambda_powertools/__init__.py": b""})
    (project / "requirements.txt").write_text("aws_lambda_powertools==1.0\npuretext\n")
    layered = _build(project, wheelhouse, tmp_path / "cache")
    assert not [n for n in _names(layered) if n.startswith("aws_lambda_powertools")]
    assert layered.bundles_powertools is False
    bundled = package_function(project / "src", powertools="bundle", cache_dir=tmp_path / "cache")
    assert "aws_lambda_powertools/tracing/tracer.py" in _names(bundled)
    assert "typing_extensions.py" in _names(bundled)
    assert bundled.bundles_powertools is True


def test_no_requirements_builds_without_pip(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from resilient_serverless.components import packaging

    monkeypatch.setattr(packaging, "_install", None)  # calling it would raise TypeError
    package = package_function(project / "src", cache_dir=tmp_path / "cache", library=False, package_name="app")
    assert _names(package) == ["app/orders/__init__.py", "app/orders/api.py"]


def test_a_handler_the_package_does_not_define_is_refused_naming_module_and_function(
    project: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as raised:
        package_function(
            project / "src",
            cache_dir=tmp_path / "cache",
            handlers=["orders.api.handle", "orders.api.lambda_handler", "orders.missing.handle"],
        )
    assert raised.value.problems == [
        "handler='orders.api.lambda_handler': module 'orders.api' (orders/api.py) defines no function 'lambda_handler'",
        f"handler='orders.missing.handle': module 'orders.missing' is not in the package built from "
        f"{str(project / 'src')!r} (looked for orders/missing.py or orders/missing/__init__.py)",
    ]


def test_bad_options_are_refused_with_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        package_function(tmp_path / "nowhere", architecture="arm", runtime="python3.9", powertools="vendored")
    assert raised.value.problems == [
        "architecture='arm' is not one of 'arm64', 'x86_64'",
        "runtime='python3.9' is not one of 'python3.12', 'python3.13'",
        "powertools='vendored' is not one of 'layer', 'bundle'",
        f"source={str(tmp_path / 'nowhere')!r} is not a directory",
    ]


def test_format_version_is_part_of_the_cache_key(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resilient_serverless.components import packaging

    first = package_function(project / "src", cache_dir=tmp_path / "cache")
    monkeypatch.setattr(packaging, "FORMAT_VERSION", FORMAT_VERSION + "-next")
    assert package_function(project / "src", cache_dir=tmp_path / "cache").zip_path != first.zip_path


def test_components_check_their_handler_against_the_package_before_creating_anything(
    project: Path, tmp_path: Path
) -> None:
    # GIVEN a package and components whose handler names a function it does not define
    from resilient_serverless.components import PriorityQueuePair, ResilientFunction
    from resilient_serverless.components.testing import run_program

    package = package_function(project / "src", cache_dir=tmp_path / "cache")
    created: list[str] = []

    def function_program() -> None:
        ResilientFunction("orders", {"handler": "orders.api.lambda_handler", "code": package})

    def queue_program() -> None:
        PriorityQueuePair("inbox", {"handler": "orders.apis.handle", "code": package})

    # WHEN each program runs THEN one ConfigError names the handler, the module and the function
    for program, expected in (
        (
            function_program,
            "ResilientFunction 'orders': handler='orders.api.lambda_handler': module 'orders.api' "
            "(orders/api.py) defines no function 'lambda_handler'",
        ),
        (
            queue_program,
            f"PriorityQueuePair 'inbox': handler='orders.apis.handle': module 'orders.apis' is not in the "
            f"package built from {str(project / 'src')!r} (looked for orders/apis.py or orders/apis/__init__.py)",
        ),
    ):
        with pytest.raises(ConfigError) as raised:
            created = [r.name for r in run_program(program).resources]
        assert str(raised.value) == expected
    assert created == []


def test_a_function_on_a_bundled_package_does_not_add_powertools_twice(project: Path, tmp_path: Path) -> None:
    from resilient_serverless.components import ResilientFunction
    from resilient_serverless.components.testing import run_program

    package = package_function(project / "src", cache_dir=tmp_path / "cache", powertools="bundle")

    def program() -> None:
        ResilientFunction("orders", {"handler": "orders.api.handle", "code": package, "powertools": "bundle"})

    function = run_program(program).one("aws:lambda/function:Function")
    assert function.inputs["code"].path == str(package.zip_path), function.urn
    assert not function.inputs.get("layers"), function.urn


def test_reference_deployment_code_is_a_clean_package_stable_across_test_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the real __main__.py, and a __pycache__ that a test run leaves in handlers/
    from resilient_serverless.components.testing import run_stack

    root = ROOT
    monkeypatch.setenv("RESILIENT_SERVERLESS_CACHE", str(tmp_path / "cache"))
    before = {fn.inputs["code"].path for fn in run_stack("prod", root).of_type("aws:lambda/function:Function")}
    stale = root / "app" / "handlers" / "__pycache__" / f"zz_left_by_a_test_run.cpython-{PYVER}.pyc"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"bytecode")
    try:
        after = {fn.inputs["code"].path for fn in run_stack("prod", root).of_type("aws:lambda/function:Function")}
    finally:
        stale.unlink()
    # THEN every function ships one of the same two zips (the reference application's, the library
    # handlers'), before and after, and they hold no bytecode
    assert len(before) == 2
    assert before == after
    names: set[str] = set()
    for path in before:
        with zipfile.ZipFile(path) as archive:
            names |= set(archive.namelist())
    assert "app/handlers/orders.py" in names
    assert "resilient_serverless/handlers/resilience/xray.py" in names
    assert "handlers/jobs/worker.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_defaults_are_arm64_the_default_runtime_layer_library_and_the_user_cache(
    project: Path, wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Default: arm64, the default runtime's wheels, Powertools from the layer, library included
    package = package_function(
        project / "src",
        requirements=["fastcalc"],
        cache_dir=tmp_path / "cache",
        pip_args=["--no-index", "--find-links", str(wheelhouse)],
    )
    names = _names(package)
    assert f"fastcalc/_speed.cpython-{PYVER}-aarch64-linux-gnu.so" in names
    assert "resilient_serverless/handlers/resilience/backoff.py" in names
    assert package.bundles_powertools is False
    # Default cache: $RESILIENT_SERVERLESS_CACHE, else $XDG_CACHE_HOME, else ~/.cache
    from resilient_serverless.components.packaging import default_cache_dir

    monkeypatch.setenv("RESILIENT_SERVERLESS_CACHE", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("RESILIENT_SERVERLESS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "resilient-serverless" / "packages"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "resilient-serverless" / "packages"


def test_the_library_ships_without_the_reference_handlers() -> None:
    from resilient_serverless.components.packaging import library_files

    names = set(library_files())
    assert "resilient_serverless/handlers/resilience/otel.py" in names
    assert "resilient_serverless/handlers/orders.py" not in names
    assert not [n for n in names if n.endswith(".pyc")]


@pytest.mark.parametrize(
    ("tag", "accepted"),
    [
        (f"{CP}-{CP}-manylinux_2_28_aarch64", True),  # newer manylinux, still loads on Amazon Linux 2023
        (f"{CP}-abi3-manylinux_2_34_aarch64", True),  # glibc 2.34 is Amazon Linux 2023's own
        (f"{CP}-{CP}-manylinux_2_35_aarch64", False),  # needs a newer glibc than the runtime has
        (f"{CP}-{CP}-musllinux_1_2_aarch64", False),  # another C library
        ("cp311-cp311-manylinux2014_aarch64", False),  # another Python
    ],
)
def test_only_wheels_that_load_on_the_runtime_are_accepted(
    project: Path, tmp_path: Path, tag: str, accepted: bool
) -> None:
    house = tmp_path / "house"
    house.mkdir()
    _wheel(house, "tagged", tag, {"tagged/__init__.py": b""})
    build = lambda: package_function(  # noqa: E731
        project / "src",
        requirements=["tagged"],
        cache_dir=tmp_path / "cache",
        pip_args=["--no-index", "--find-links", str(house)],
    )
    if accepted:
        assert "tagged/__init__.py" in _names(build())
    else:
        with pytest.raises(ConfigError, match="requirement 'tagged' has no binary wheel for manylinux2014_aarch64"):
            build()


# --- the components that run the library's own handlers package them -------------------------------
def _job_and_push_functions(code: object = None, **function_args: object) -> dict[str, object]:
    """AsyncJobWorkflow and WebSocketNotifier as a user writes them: only the worker is the user's."""
    import pulumi
    from resilient_serverless.components import AsyncJobWorkflow, ResilientFunction, WebSocketNotifier
    from resilient_serverless.components.testing import run_program

    made: dict[str, object] = {}

    def program() -> None:
        worker = ResilientFunction(
            "renderer",
            {
                "handler": "reports.render",
                "code": pulumi.AssetArchive({"reports.py": pulumi.StringAsset("def render(e, c):\n    return e\n")}),
                "invocation": "async",
                "timeout": 60,
            },
        )
        extra = {"code": code} if code is not None else {}
        push = WebSocketNotifier("push", {**extra, "function": dict(function_args)})
        jobs = AsyncJobWorkflow("jobs", {"worker": worker, "push": push, **extra, "functions": dict(function_args)})
        made.update({f"jobs.{r}": f for r, f in jobs.functions.items()})
        made.update({f"push.{r}": f for r, f in push.functions.items()})

    run_program(program)
    return made


def test_job_and_push_functions_run_the_librarys_own_handlers_when_no_code_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a job workflow and a push channel given no code
    monkeypatch.setenv("RESILIENT_SERVERLESS_CACHE", str(tmp_path / "cache"))
    functions = _job_and_push_functions()
    # THEN every one of their functions runs from one package that holds its handler
    packages = {f.settings.code.zip_path for f in functions.values()}  # type: ignore[attr-defined]
    assert len(packages) == 1
    for role, fn in functions.items():
        settings = fn.settings  # type: ignore[attr-defined]
        assert isinstance(settings.code, FunctionPackage), role
        assert settings.code.handler_problem(settings.handler) is None, role
    package = next(iter(functions.values())).settings.code  # type: ignore[attr-defined]
    assert {"handlers/jobs/submit.py", "handlers/push/routes.py", "handlers/resilience/backoff.py"} <= package.names


def test_the_librarys_handler_package_is_deterministic_and_follows_the_functions_options(tmp_path: Path) -> None:
    from resilient_serverless.components.packaging import library_handlers_package

    # GIVEN two builds of the same options in two caches, and one for x86_64 with Powertools bundled
    first = library_handlers_package(cache_dir=tmp_path / "a")
    second = library_handlers_package(cache_dir=tmp_path / "b")
    bundled = library_handlers_package(architecture="x86_64", powertools="bundle", cache_dir=tmp_path / "a")
    # THEN the same bytes, and the other options make another package that bundles Powertools
    assert first.zip_path.read_bytes() == second.zip_path.read_bytes()
    assert bundled.zip_path != first.zip_path
    assert bundled.bundles_powertools and not first.bundles_powertools
    assert not any(name.startswith("resilient_serverless/") for name in first.names)


def test_a_given_code_without_the_librarys_handlers_is_refused_before_any_child(project: Path, tmp_path: Path) -> None:
    # GIVEN the user's own package passed as code, as the README's snippet once suggested
    code = package_function(project, cache_dir=tmp_path / "cache")
    # WHEN a push channel or a job workflow is made with it THEN one ConfigError names what is missing
    with pytest.raises(ConfigError) as raised:
        _job_and_push_functions(code)
    assert str(raised.value) == (
        "WebSocketNotifier 'push': code must hold the library's handlers as a top-level 'handlers' package (leave "
        "code out and WebSocketNotifier packages its own): handler='handlers.push.routes.lambda_handler': module "
        f"'handlers.push.routes' is not in the package built from {str(project)!r} (looked for "
        "handlers/push/routes.py or handlers/push/routes/__init__.py)"
    )


# --- a directory as code is checked as a package is ---------------------------------------------------
@pytest.fixture
def app(tmp_path: Path) -> Path:
    """``./app`` holding ``thumbs.py``: zipped as it is, its contents are the package root."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "thumbs.py").write_text("def lambda_handler(event, context):\n    return event\n")
    return tmp_path / "app"


def _function_with(handler: str, code: object) -> list[str]:
    import pulumi
    from resilient_serverless.components import ResilientFunction
    from resilient_serverless.components.testing import run_program

    created: list[str] = []

    def program() -> None:
        ResilientFunction("thumbs", {"handler": handler, "code": code})
        created.append("function")

    graph = run_program(program)
    assert isinstance(code, str | pulumi.Archive)
    return created + [r.type for r in graph if r.custom]


@pytest.mark.parametrize("as_archive", [False, True], ids=["path", "FileArchive"])
def test_a_handler_whose_module_is_not_in_the_code_directory_is_refused_before_any_child(
    app: Path, as_archive: bool
) -> None:
    import pulumi

    # GIVEN ./app holding thumbs.py, and a handler that names the directory as a package
    code: object = pulumi.FileArchive(str(app)) if as_archive else str(app)
    # WHEN a function is made of them THEN one ConfigError names the handler, the code and the files
    with pytest.raises(ConfigError) as raised:
        _function_with("app.thumbs.lambda_handler", code)
    assert str(raised.value) == (
        f"ResilientFunction 'thumbs': handler='app.thumbs.lambda_handler': module 'app.thumbs' is not under "
        f"code={str(app)!r}, whose contents are the package root (looked for {app}/app/thumbs.py or "
        f"{app}/app/thumbs/__init__.py)"
    )


def test_a_handler_the_code_directory_does_not_define_is_refused(app: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _function_with("thumbs.handle", str(app))
    assert str(raised.value) == (
        f"ResilientFunction 'thumbs': handler='thumbs.handle': module 'thumbs' ({app}/thumbs.py) defines no "
        "function 'handle'"
    )


@pytest.mark.parametrize(("handler", "parent"), [("thumbs.lambda_handler", False), ("app.thumbs.lambda_handler", True)])
def test_a_handler_found_under_the_code_directory_is_accepted(app: Path, handler: str, parent: bool) -> None:
    created = _function_with(handler, str(app.parent if parent else app))
    assert "function" in created and "aws:lambda/function:Function" in created
