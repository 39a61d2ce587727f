"""``resilient-serverless run``: bad input answers on one line with exit 2, before any server."""

from __future__ import annotations

import pytest
from resilient_serverless.components.cli import main

from .conftest import ROOT


@pytest.mark.usefixtures("own_run")
def test_run_with_an_unknown_stack_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a stack name the project has no file for; WHEN run is asked to serve it
    code = main(["run", "--stack", "nope", "--project-dir", str(ROOT)])
    # THEN it exits 2 and says why on one line, naming the known stacks
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "unknown stack 'nope'" in err[0] and "dev, local, prod, staging" in err[0], err
