"""Every test file, folder or fixture the code and the docs cite exists: a citation that outlives a
move or a rename sends the reader to nothing."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

# Where a reader is sent to a test: the code's comments and docstrings, and the docs.
CITING = ("components", "handlers", "README.md", "docs", "tests/README.md")
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
