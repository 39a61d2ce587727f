"""Bench rows for tracing and packaging: cold start of each tracing choice and of a packaged handler against
the floor; package build time of the reference handlers, cold and cached."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def cold_start_ms(module: str, lambda_env: dict[str, str], *, task_root: Path = ROOT) -> float:
    """What ``bench/coldstart/probe.py`` measures for ``module`` (ms), in a fresh process set up as Lambda's."""
    # The probe runs from the task root, first on the path, as Lambda imports /var/task
    path = str(ROOT) if task_root == ROOT else f"{task_root}{os.pathsep}{ROOT}"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": path, **lambda_env}
    env["LAMBDA_TASK_ROOT"] = str(task_root)
    out = subprocess.run(
        [sys.executable, "-m", "bench.coldstart.probe", module],
        cwd=task_root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def _reference_package(cache: Path) -> Any:
    from resilient_serverless.components.packaging import package_function

    return package_function(ROOT / "app", package_name="app", cache_dir=cache)


def tracing_and_package_rows(row: Any, lambda_env: dict[str, str], runs: int = 9) -> list[Any]:
    with tempfile.TemporaryDirectory() as work:
        task_root = Path(work) / "task"
        with zipfile.ZipFile(_reference_package(Path(work) / "cache").zip_path) as archive:
            archive.extractall(task_root)
        probes = {
            "floor": ("bench.coldstart.floor", ROOT),
            "xray": ("bench.coldstart.ours", ROOT),
            "otel": ("bench.coldstart.ours_otel", ROOT),
            "packaged": ("app.handlers.orders", task_root),
        }
        for module, root in probes.values():  # warm the file cache once each; not counted
            cold_start_ms(module, lambda_env, task_root=root)
        samples: dict[str, list[float]] = {k: [] for k in probes}
        for _ in range(runs):  # interleaved, so drift hits all alike
            for name, (module, root) in probes.items():
                samples[name].append(cold_start_ms(module, lambda_env, task_root=root))
    median = {k: statistics.median(v) for k, v in samples.items()}
    floor = median["floor"]
    rows = [
        row(f"cold start, tracing xray (daemon provider; median of {runs})", f"{median['xray']:.0f} ms", "-", None),
        row(f"cold start, tracing otel (OTel SDK provider; median of {runs})", f"{median['otel']:.0f} ms", "-", None),
        row(
            "cold start: tracing xray / floor",
            f"{median['xray'] / floor:.2f}x",
            "<= 1.25x",
            median["xray"] / floor <= 1.25,
        ),
        row("cold start: tracing otel / floor", f"{median['otel'] / floor:.2f}x", "-", None),
        row(
            f"cold start, packaged orders handler from its zip (median of {runs})",
            f"{median['packaged']:.0f} ms",
            "-",
            None,
        ),
        row(
            "cold start: packaged orders handler / floor",
            f"{median['packaged'] / floor:.2f}x",
            "<= 1.5x",
            median["packaged"] / floor <= 1.5,
        ),
    ]
    return rows + package_build_rows(row)


def package_build_rows(row: Any, runs: int = 5) -> list[Any]:
    cold, cached = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as work:
            start = time.perf_counter()
            _reference_package(Path(work))
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            _reference_package(Path(work))
            cached.append(time.perf_counter() - start)
    cold_ms, cached_ms = statistics.median(cold) * 1000, statistics.median(cached) * 1000
    return [
        row(
            f"package build, reference handlers, cold (median of {runs})",
            f"{cold_ms:.0f} ms",
            "< 1000 ms",
            cold_ms < 1000,
        ),
        row(
            f"package build, reference handlers, cached (median of {runs})",
            f"{cached_ms:.1f} ms",
            "< 50 ms",
            cached_ms < 50,
        ),
    ]
