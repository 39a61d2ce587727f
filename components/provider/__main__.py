"""Entry point of the component package: Pulumi runs it (``PulumiPlugin.yaml``'s ``main``) to read
the schema and construct components. ``--schema`` prints the schema instead (what an SDK is
generated from), without the engine."""

import json
import sys

from resilient_serverless.components.provider import main, schema

if __name__ == "__main__":
    if sys.argv[1:] == ["--schema"]:
        print(json.dumps(schema(), indent=2, sort_keys=True))
    else:
        main()
