"""The policy pack's entry point: the Pulumi CLI runs it and talks to the server it starts.

Everything it builds comes from ``resilient_serverless.components.policy`` (tested offline);
only ``PolicyPack(...)``, which starts a gRPC server and blocks, lives here.
"""

from pathlib import Path

from pulumi_policy import PolicyPack
from resilient_serverless.components.policy import PACK_NAME, load_pack_settings, policies

PolicyPack(
    name=PACK_NAME,
    policies=policies(load_pack_settings(Path(__file__).with_name("settings.yaml"))),
    description="Resilience of AWS serverless systems: the rules of resilient-serverless's offline plan",
)
