"""The component package for other Pulumi languages: Pulumi's own analyzer infers the schema
from the facades in-process (as ``pulumi package add`` does), the schema is the checked-in
snapshot, everything in it is described, and each facade builds the Python component itself.

Regenerate the snapshot after a deliberate change to the facades:
``UPDATE_SCHEMA_SNAPSHOT=1 .venv/bin/python -m pytest tests/components/provider/test_schema.py``
(then review the diff: it is the change every SDK sees).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider
from resilient_serverless.components.provider import COMPONENTS, PACKAGE, schema
from resilient_serverless.components.testing import Graph, run_program

ROOT = Path(__file__).resolve().parents[3]
SNAPSHOT = Path(__file__).parent / "snapshots" / "component_package_schema.json"
FIVE = ("ResilientFunction", "ThrottledApi", "PriorityQueuePair", "AsyncJobWorkflow", "WebSocketNotifier")


def without_version(inferred: dict[str, Any]) -> dict[str, Any]:
    # the version follows pyproject.toml; the snapshot pins the shape
    return {k: v for k, v in inferred.items() if k != "version"}


@pytest.fixture(scope="module")
def inferred() -> dict[str, Any]:
    return schema()


def test_the_analyzer_infers_the_checked_in_schema(inferred: dict[str, Any]) -> None:
    # GIVEN the schema Pulumi's analyzer infers from the facades
    current = json.dumps(without_version(inferred), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SCHEMA_SNAPSHOT"):
        SNAPSHOT.write_text(current)
    # THEN it is the snapshot every generated SDK is built from
    assert current == SNAPSHOT.read_text(), "the schema changed: UPDATE_SCHEMA_SNAPSHOT=1 regenerates the snapshot"


def test_the_schema_offers_the_five_components_under_their_python_names(inferred: dict[str, Any]) -> None:
    assert inferred["name"] == PACKAGE
    assert sorted(inferred["resources"]) == sorted(f"{PACKAGE}:index:{name}" for name in FIVE)
    assert all(resource["isComponent"] for resource in inferred["resources"].values())


def undescribed(inferred: dict[str, Any]) -> list[str]:
    missing = []
    for token, resource in inferred["resources"].items():
        if not resource.get("description"):
            missing.append(token)
        for kind in ("inputProperties", "properties"):
            missing += [f"{token}.{kind}.{k}" for k, p in resource.get(kind, {}).items() if not p.get("description")]
    for token, type_ in inferred.get("types", {}).items():
        if not type_.get("description"):
            missing.append(token)
        missing += [f"{token}.{k}" for k, p in type_.get("properties", {}).items() if not p.get("description")]
    return missing


def test_every_component_input_output_and_type_is_described(inferred: dict[str, Any]) -> None:
    assert undescribed(inferred) == []
    # AND every component has inputs and outputs to describe
    for token, resource in inferred["resources"].items():
        assert resource["inputProperties"] and resource["properties"], token


def test_descriptions_carry_no_source_indentation(inferred: dict[str, Any]) -> None:
    # the analyzer takes docstrings as written: a wrapped one shows its indentation in every SDK
    assert re.findall(r'"description": "[^"]*\\n {4}', json.dumps(inferred)) == []


def test_no_input_is_a_union_a_callable_or_a_component_instance(inferred: dict[str, Any]) -> None:
    # a union becomes oneOf; an instance of another resource becomes a $ref to /resources/
    text = json.dumps(inferred)
    assert "oneOf" not in text
    assert '"$ref": "#/resources/' not in text
    assert "transform" not in text


# --- the facades build the Python components ----------------------------------------------------


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("app")
    (directory / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    return str(directory)


def construct(component: str, inputs: dict[str, Any]) -> Graph:
    """Inputs as an SDK sends them (camelCase), mapped by the provider as in ``construct``."""
    provider = ComponentProvider(COMPONENTS, PACKAGE)
    facade = next(c for c in COMPONENTS if c.__name__ == component)
    mapped = provider.map_inputs(inputs, provider._component_defs[component])

    def program() -> None:
        built = facade(component.lower(), mapped, None)
        for output in provider._component_defs[component].outputs_mapping.values():
            pulumi.export(output, getattr(built, output))

    return run_program(program, project="shop", stack="dev")


def test_a_facade_returns_the_python_component_so_the_tree_has_no_wrapper(code: str) -> None:
    # WHEN a ResilientFunction is constructed from SDK inputs
    graph = construct(
        "ResilientFunction",
        {"handler": "app.lambda_handler", "code": code, "timeout": 5, "environment": {"TABLE": "orders"}},
    )
    # THEN the stack holds one component of that type, the function's children directly under it
    (component,) = graph.of_type(f"{PACKAGE}:index:ResilientFunction")
    assert graph.parent_of(component) is None or graph.parent_of(component).type == "pulumi:pulumi:Stack"
    function = graph.one("aws:lambda/function:Function")
    assert function.parent == component.urn
    assert function.inputs["timeout"] == 5
    assert function.inputs["environment"]["variables"]["TABLE"] == "orders"
    assert graph.exports["function_arn"].startswith("arn:aws:lambda:")


def test_an_api_route_function_and_queue_url_become_a_function_and_a_queue_target(code: str) -> None:
    graph = construct(
        "ThrottledApi",
        {
            "routes": [
                {"method": "GET", "path": "/orders/{id}", "function": {"handler": "app.lambda_handler", "code": code}},
                {
                    "method": "POST",
                    "path": "/orders",
                    "queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/inbox",
                },
            ],
            "throttle": {"rate": 20, "burst": 40},
        },
    )
    (api,) = graph.of_type(f"{PACKAGE}:index:ThrottledApi")
    (function,) = graph.of_type(f"{PACKAGE}:index:ResilientFunction")
    assert function.name == "throttledapi-get-orders-id"
    assert graph.exports["url"]
    assert api.name == "throttledapi"


def test_a_workflow_brings_its_worker_its_api_and_its_push_channel(code: str) -> None:
    graph = construct(
        "AsyncJobWorkflow",
        {"worker": {"handler": "app.lambda_handler", "code": code, "settings": {"timeout": 60}}, "push": True},
    )
    assert [r.name for r in graph.of_type(f"{PACKAGE}:index:AsyncJobWorkflow")] == ["asyncjobworkflow"]
    assert [r.name for r in graph.of_type(f"{PACKAGE}:index:ThrottledApi")] == ["asyncjobworkflow-api"]
    assert [r.name for r in graph.of_type(f"{PACKAGE}:index:WebSocketNotifier")] == ["asyncjobworkflow-push"]
    assert graph.exports["api_url"] and graph.exports["push_url"]


def test_a_queue_pair_and_a_notifier_build_from_plain_inputs(code: str) -> None:
    pair = construct("PriorityQueuePair", {"handler": "app.lambda_handler", "code": code, "consumer": {"timeout": 20}})
    assert pair.exports["high_url"] and pair.exports["low_url"]
    notifier = construct("WebSocketNotifier", {"connectAuth": "iam"})
    assert notifier.exports["url"].startswith("wss://")


def test_bad_facade_input_is_the_python_components_one_config_error(code: str) -> None:
    from resilient_serverless.components import ConfigError

    with pytest.raises(ConfigError) as raised:
        construct("ResilientFunction", {"handler": "app.lambda_handler", "code": code, "timeout": 901})
    assert "timeout=901" in str(raised.value)


def test_a_relative_code_path_is_refused_naming_each_where_it_is() -> None:
    from resilient_serverless.components import ConfigError

    # GIVEN code paths as a YAML program would write them without ${pulumi.cwd}
    inputs = {
        "routes": [
            {"method": "GET", "path": "/a", "function": {"handler": "app.lambda_handler", "code": "./app"}},
            {"method": "GET", "path": "/b", "function": {"handler": "app.lambda_handler", "code": "/abs/app"}},
        ]
    }
    # THEN the API refuses them before any resource: the plugin would look in its own directory
    with pytest.raises(ConfigError) as raised:
        construct("ThrottledApi", inputs)
    assert str(raised.value) == (
        "ThrottledApi 'throttledapi': routes[0].function.code='./app' must be an absolute path: the package "
        "runs in its own directory, not your program's (YAML: ${pulumi.cwd}/app; TypeScript: path.resolve('app'))"
    )


# --- the README's YAML program ----------------------------------------------------------------


def readme_yaml_program() -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text()
    (block,) = re.findall(r"```yaml\n(# Pulumi\.yaml of a YAML program.*?)```", readme, re.S)
    return dict(yaml.safe_load(block))


def test_the_readme_yaml_program_uses_only_inputs_the_schema_declares(inferred: dict[str, Any]) -> None:
    program = readme_yaml_program()
    assert program["runtime"] == "yaml" and PACKAGE in program["packages"]
    used = [r for r in program["resources"].values() if r["type"].startswith(f"{PACKAGE}:")]
    assert len(used) >= 3
    for resource in used:
        declared = inferred["resources"][resource["type"]]
        assert "code: ./" not in yaml.safe_dump(resource), "code paths are absolute: ${pulumi.cwd}/..."
        assert sorted(set(resource["properties"]) - set(declared["inputProperties"])) == [], resource["type"]
        assert sorted(set(declared.get("requiredInputs", [])) - set(resource["properties"])) == [], resource["type"]
