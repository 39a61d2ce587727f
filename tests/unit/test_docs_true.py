"""Every test file, folder or fixture the code and the docs cite exists: a citation that outlives a
move or a rename sends the reader to nothing."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import ROOT

# Where a reader is sent to a test: the code's comments and docstrings, the docs, the build files.
CITING = (
    "components",
    "handlers",
    "environments",
    "bench",
    "README.md",
    "docs",
    "tests/README.md",
    "Makefile",
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
)
# A cited path: tests/ then path characters (a glob's * included), less a sentence's full stop.
PATH = re.compile(r"tests/[\w/.*-]*")
CITED_KINDS = (".py", ".json", ".yaml", "/")


def citations(text: str) -> list[str]:
    """The test files (``.py``, ``.json``, ``.yaml``) and folders (ending ``/``) a text cites."""
    return [path for match in PATH.findall(text) if (path := match.rstrip(".")).endswith(CITED_KINDS)]


def citing_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in CITING:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in {".py", ".md"} and "__pycache__" not in p.parts)
    return files


def missing_citations(root: Path) -> list[str]:
    """``file:line: path`` for each cited test path that names nothing in the tree."""
    missing = []
    for path in citing_files(root):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for cited in citations(line):
                if not any(root.glob(cited.rstrip("/"))):
                    missing.append(f"{path.relative_to(root)}:{number}: {cited}")
    return missing


def test_every_cited_test_path_exists() -> None:
    assert missing_citations(ROOT) == []


def test_the_citations_are_found_where_the_docs_make_them() -> None:
    """The check reads what it should: the README's citations of test files are among those found
    (a pattern that matched nothing would pass the test above on any tree)."""
    cited = {c for p in citing_files(ROOT) for c in citations(p.read_text())}
    assert {"tests/test_install.py", "tests/e2e/test_consumers.py", "tests/events/auth_*.json"} <= cited


def test_a_citation_of_a_file_that_is_not_there_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_here.py").write_text("")
    (tmp_path / "README.md").write_text("see `tests/test_here.py`\nand tests/unit/test_gone.py.\n")
    assert missing_citations(tmp_path) == ["README.md:2: tests/unit/test_gone.py"]


def _stacks_setting(key: str) -> list[str]:
    """The stacks whose file sets ``resilient-serverless:<key>`` to true, as the CLI reads them."""
    stacks = []
    for path in sorted((ROOT / "environments").glob("Pulumi.*.yaml")):
        config = yaml.safe_load(path.read_text())["config"]
        if config.get(f"resilient-serverless:{key}") is True:
            stacks.append(path.name.split(".")[1])
    return stacks


def _readme_row(key: str) -> str:
    (row,) = (line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith(f"| `{key}` |"))
    return row


ALL_STACKS = ("dev", "staging", "prod", "local")


def test_the_readme_names_the_stacks_that_own_the_api_gateway_account_role_as_their_files_set_it() -> None:
    owners, elsewhere = (
        _stacks_setting("apiGatewayAccountRole"),
        _stacks_setting("apiGatewayAccountRoleManagedElsewhere"),
    )
    assert (owners, elsewhere) == (["dev", "local"], ["prod", "staging"])
    for key, named in (("apiGatewayAccountRole", owners), ("apiGatewayAccountRoleManagedElsewhere", elsewhere)):
        row = _readme_row(key)
        assert [s for s in ALL_STACKS if f"`{s}`" in row] == [s for s in ALL_STACKS if s in named], row


def test_pulumi_yaml_names_the_stacks_that_own_the_api_gateway_account_role_as_their_files_set_it() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    description = declared["apiGatewayAccountRole"]["description"]
    named = [s for s in ALL_STACKS if re.search(rf"\b{s}\b", description)]
    assert named == [s for s in ALL_STACKS if s in _stacks_setting("apiGatewayAccountRole")], description


def test_the_readme_and_the_xray_provider_give_one_figure_for_the_x_ray_sdks_cold_start() -> None:
    figure = re.compile(r"X-Ray SDK[^.]*?about (\d+) ms")
    readme = figure.findall((ROOT / "README.md").read_text())
    provider = figure.findall((ROOT / "handlers" / "resilience" / "xray.py").read_text())
    assert readme and provider
    assert set(readme) == set(provider), (readme, provider)


def missing_test_modules(root: Path) -> list[str]:
    """``file:line: module`` for each ``tests.`` module that code outside tests/ imports and that
    is not there (the bench reuses test helpers)."""
    missing = []
    for path in citing_files(root):
        if path.suffix != ".py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for module in re.findall(r"^\s*from (tests\.[\w.]+) import", line):
                relative = Path(*module.split("."))
                if not ((root / relative).with_suffix(".py").exists() or (root / relative / "__init__.py").exists()):
                    missing.append(f"{path.relative_to(root)}:{number}: {module}")
    return missing


def test_every_test_module_imported_outside_the_tests_exists() -> None:
    assert missing_test_modules(ROOT) == []


def test_an_import_of_a_test_module_that_is_not_there_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "b.py").write_text("def f():\n    from tests.unit.gone import World\n")
    assert missing_test_modules(tmp_path) == ["bench/b.py:2: tests.unit.gone"]
