"""Keep a project's ``Pulumi.yaml`` config block in step with its settings declaration.

    python -m resilient_serverless.components.settings check --spec settings:SPEC [--project-dir DIR]
    python -m resilient_serverless.components.settings write --spec settings:SPEC [--project-dir DIR]

``--spec`` names the ``StackSettingsSpec`` as ``module:attribute``, imported with the project
directory first on the path. ``check`` exits 1 and names each difference; ``write`` rewrites the
block (the rest of the file as it is).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import StackSettingsSpec


def load_spec(reference: str, project_dir: Path) -> StackSettingsSpec:
    module_name, _, attribute = reference.partition(":")
    sys.path.insert(0, str(project_dir.resolve()))
    spec = getattr(importlib.import_module(module_name), attribute or "SPEC")
    if not isinstance(spec, StackSettingsSpec):
        raise SystemExit(f"{reference} is a {type(spec).__name__}, not a StackSettingsSpec")
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resilient_serverless.components.settings")
    parser.add_argument("action", choices=("check", "write"))
    parser.add_argument("--spec", required=True, help="module:attribute of the StackSettingsSpec")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="holding Pulumi.yaml (default: .)")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec, args.project_dir)
    project_file = args.project_dir / "Pulumi.yaml"
    if args.action == "write":
        changed = spec.write_project_file(project_file)
        print(f"{project_file}: config block {'written' if changed else 'already in step'} ({len(spec.specs)} keys)")
        return 0
    problems = spec.check_project_file(project_file)
    for problem in problems:
        print(f"{project_file}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
