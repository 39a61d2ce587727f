"""The test kit's name for the offline engine's capture (``components.offline``), kept for the
programs and tests that import it from here."""

from ..offline.capture import RecordingMonitor, run_program, run_stack
from ..offline.graph import CapturedResource, Graph, normalize
from ..offline.project import (
    OFFLINE_SECRET,
    ProjectFileError,
    ProjectFiles,
    UnknownStackError,
    load_project,
    read_config_file,
)

__all__ = [
    "OFFLINE_SECRET",
    "CapturedResource",
    "Graph",
    "ProjectFileError",
    "ProjectFiles",
    "RecordingMonitor",
    "UnknownStackError",
    "load_project",
    "normalize",
    "read_config_file",
    "run_program",
    "run_stack",
]
