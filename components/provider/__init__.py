"""The components for Pulumi programs in any language: a component package (``PulumiPlugin.yaml``
at the repository root) whose schema Pulumi's analyzer infers from the facade types here.

The Python API stays as it is; these facades accept only what a schema can carry (text, numbers,
booleans, lists, maps and nested objects: no unions, no callables, no component instances) and
build the Python components from it. ``schema()`` is what ``pulumi package add`` generates SDKs
from; ``main()`` serves the package when Pulumi runs the plugin.
"""

from .facade import COMPONENTS, PACKAGE, main, schema

__all__ = ["COMPONENTS", "PACKAGE", "main", "schema"]
