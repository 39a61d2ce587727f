"""The package list, derived from the source tree.

The repo keeps DESIGN.md's top-level layout; installed, ``components/`` and ``handlers/``
become ``resilient_serverless.components`` and ``resilient_serverless.handlers`` (a namespace
parent). pyproject.toml can map directories but only list packages by hand, and a hand-kept list
once left ``handlers.jobs`` out of the wheel: every directory under the two roots (caches aside)
is a package here, found at build time. ``tests/test_install.py`` compares the wheel with the tree.
"""

from setuptools import find_namespace_packages, setup

ROOTS = {"components": "resilient_serverless.components", "handlers": "resilient_serverless.handlers"}
SKIPPED = ("__pycache__", "*.__pycache__", "*.egg-info")


def installed_packages() -> list[str]:
    found = find_namespace_packages(include=[*ROOTS, *(f"{root}.*" for root in ROOTS)], exclude=SKIPPED)
    return sorted(f"resilient_serverless.{name}" for name in found)


setup(packages=installed_packages(), package_dir={name: root for root, name in ROOTS.items()})
