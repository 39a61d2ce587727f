"""This project's stack settings, declared once: the program reads them, and
``python -m resilient_serverless.components.settings write --spec shop_settings:SPEC`` writes the
config block of Pulumi.yaml from them (README: "Typed stack settings for your own stacks")."""

from resilient_serverless.components.settings import Setting, StackSettingsSpec, choice, int_range

SPEC = StackSettingsSpec(
    [
        Setting(
            "workerTimeoutSeconds",
            int,
            60,
            "Timeout of the report worker (seconds)",
            int_range(1, 900, unit="seconds", why="Lambda timeout"),
        ),
        Setting("logLevel", str, "INFO", "Log level of the worker", choice("DEBUG", "INFO", "WARN", "ERROR")),
    ]
)
