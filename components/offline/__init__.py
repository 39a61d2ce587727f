"""The offline engine: run a Pulumi program under mocks that answer like AWS and capture the
graph of what it registered. The plan, the rules, the policy pack and the test kit
(``components.testing``, which re-exports this) all read that one graph.

    graph = run_stack("dev", ".")       # the project's real __main__.py and stack file
    graph.of_type("aws:sqs/queue:Queue")

Layers: ``graph`` (the captured resources and their queries) and ``project`` (Pulumi.yaml and the
stack files) import nothing of this package; ``mocks`` answers for AWS; ``capture`` runs a
program with them.
"""

from .capture import RecordingMonitor, record_waiver, run_program, run_stack
from .graph import CapturedResource, Graph, normalize
from .mocks import AwsMocks, render_policy_document
from .project import (
    OFFLINE_SECRET,
    ProjectFileError,
    ProjectFiles,
    UnknownStackError,
    load_project,
    read_config_file,
)

__all__ = [
    "OFFLINE_SECRET",
    "AwsMocks",
    "CapturedResource",
    "Graph",
    "ProjectFileError",
    "ProjectFiles",
    "RecordingMonitor",
    "UnknownStackError",
    "load_project",
    "normalize",
    "read_config_file",
    "record_waiver",
    "render_policy_document",
    "run_program",
    "run_stack",
]
