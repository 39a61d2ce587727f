"""The package installs into a fresh virtualenv outside the repo and imports under its name;
the same code imports as `components` and `handlers` from the repo root."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pip_install_into_a_fresh_venv_then_import(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(ROOT)], check=True, cwd=tmp_path)
    probe = (
        "from resilient_serverless.components import ResilientFunction, ConfigError, physical_name\n"
        "from resilient_serverless.components.testing import run_program, AwsMocks\n"
        "import resilient_serverless.handlers, resilient_serverless.handlers.resilience.backoff as b\n"
        "import resilient_serverless.components as c\n"
        "assert 'site-packages' in c.__file__, c.__file__\n"
        "print(ResilientFunction.__name__, b.full_jitter_delay(0, 0.1, 1.0, lambda: 1.0))\n"
    )
    result = subprocess.run([python, "-c", probe], check=False, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ResilientFunction", "0.1"]
    rules = subprocess.run(
        [env_dir / "bin" / "resilient-serverless", "rules"], check=True, cwd=tmp_path, capture_output=True, text=True
    ).stdout
    assert "lambda-explicit-timeout" in rules


def test_same_code_imports_as_components_and_handlers_from_the_repo_root() -> None:
    probe = "import components, handlers.resilience.breaker, components.naming as n; print(n.physical_name('sqs', 'a'))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, cwd=ROOT, capture_output=True, text=True).stdout
    assert out.strip() == "a"
