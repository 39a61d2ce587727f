"""The packages of a graph's functions: the zip each function resource's ``code`` names (a
directory zipped as Pulumi zips a FileArchive of one), and what the graph says about each function."""

from __future__ import annotations

from pathlib import Path

from ..capture import CapturedResource, Graph
from .functions import FunctionSpec

__all__ = ["code_path", "function_specs", "zip_directory"]


def code_path(function: CapturedResource, project_dir: Path | None = None, work_dir: Path | None = None) -> Path:
    """The zip a function's ``code`` names. A relative path is the program's (Pulumi runs it with
    the project directory as cwd); a directory is zipped as Pulumi zips a FileArchive of one."""
    code = function.inputs.get("code")
    path = getattr(code, "path", None) or (code.get("path") if isinstance(code, dict) else None)
    if not path:
        raise ValueError(f"{function.urn}: code={code!r} is not a package file (FileArchive of a .zip)")
    found = Path(path)
    if not found.is_absolute() and project_dir is not None:
        found = Path(project_dir) / found
    if found.is_dir() and work_dir is not None:
        return zip_directory(found, work_dir)
    return found


def zip_directory(directory: Path, work_dir: Path) -> Path:
    import hashlib
    import zipfile

    target = work_dir / "packages" / f"{hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]}.zip"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in directory.rglob("*") if p.is_file()):
                archive.write(file, file.relative_to(directory).as_posix())
    return target


def function_specs(
    graph: Graph, project_dir: Path | None = None, work_dir: Path | None = None
) -> dict[str, FunctionSpec]:
    specs = {}
    for function in graph.of_type("aws:lambda/function:Function"):
        inputs = function.inputs
        reserved = inputs.get("reservedConcurrentExecutions")
        specs[function.outputs["name"]] = FunctionSpec(
            name=function.outputs["name"],
            arn=function.outputs["arn"],
            handler=inputs["handler"],
            package=code_path(function, project_dir, work_dir),
            role_arn=inputs["role"],
            timeout_s=int(inputs.get("timeout", 3)),
            memory_mb=int(inputs.get("memorySize", 128)),
            environment=dict(((inputs.get("environment") or {}).get("variables")) or {}),
            reserved_concurrency=None if reserved in (None, -1) else int(reserved),
            runtime=inputs.get("runtime", "python3.12"),
        )
    return specs
