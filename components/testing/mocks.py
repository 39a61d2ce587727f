"""The test kit's name for the offline engine's AWS mocks (``components.offline.mocks``), kept for
the programs and tests that import it from here."""

from ..offline.mocks import AwsMocks, CallFn, OutputFn, render_policy_document

__all__ = ["AwsMocks", "CallFn", "OutputFn", "render_policy_document"]
