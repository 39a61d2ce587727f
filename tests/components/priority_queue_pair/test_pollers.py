"""PriorityQueuePair ``pollers``: provisioned mode on the consumer mappings, within AWS's SQS
ranges, never with maximum concurrency, and its always-on floor priced in the plan's cost table."""

from __future__ import annotations

from typing import Any

import pytest
from resilient_serverless.components import ConfigError, rules
from resilient_serverless.components.plan.cost import cost_table, load_prices

from .test_defaults_and_bad_input import MAPPING, build


def test_pollers_put_every_consumer_mapping_in_provisioned_mode_without_maximum_concurrency() -> None:
    # GIVEN a pair with provisioned pollers WHEN it is built
    graph = build(pollers={"min": 2, "max": 50})
    # THEN each mapping carries the poller bounds and no maximum concurrency (AWS refuses both)
    mappings = {m.name: m for m in graph.of_type(MAPPING)}
    assert set(mappings) == {"inbox-high-mapping", "inbox-low-mapping"}
    for m in mappings.values():
        assert m.inputs["provisionedPollerConfig"] == {"minimumPollers": 2, "maximumPollers": 50}, m.urn
        assert "scalingConfig" not in m.inputs, m.urn


def test_maximum_pollers_bound_the_consumers_for_the_concurrency_rules() -> None:
    # GIVEN a pair in provisioned mode (no maximum concurrency, which AWS refuses beside pollers)
    graph = build(pollers={"min": 2, "max": 50})
    # WHEN the rules that require a bound on each consumer run THEN the pollers are that bound
    findings = [f for f in rules.check(graph) if f.rule in ("sqs-mapping-isolated", "lambda-bounded-concurrency")]
    assert findings == []
    mapping = graph.one(MAPPING, "inbox-high-mapping")
    assert rules.mapping_concurrency_bound(mapping) == 500  # 50 pollers x about 10 invocations each


def test_without_pollers_the_mappings_scale_in_standard_mode() -> None:
    # GIVEN a pair without pollers WHEN built THEN standard scaling with the per-role maximum concurrency
    mapping = build().one(MAPPING, "inbox-high-mapping")
    assert "provisionedPollerConfig" not in mapping.inputs, mapping.urn
    assert mapping.inputs["scalingConfig"] == {"maximumConcurrency": 10}, mapping.urn


@pytest.mark.parametrize(
    ("pollers", "extra", "problems"),
    [
        (
            {"min": 1, "max": 2001},
            {},
            [
                "pollers.min=1 is outside 2 to 200 (SQS provisioned mode MinimumPollers)",
                "pollers.max=2001 is outside 2 to 2000 (SQS provisioned mode MaximumPollers)",
            ],
        ),
        ({"min": 20, "max": 10}, {}, ["pollers.min=20 must be at most pollers.max=10"]),
        (
            {"min": 2, "max": 10},
            {"max_concurrency": {"high": 20}},
            [
                "max_concurrency={'high': 20} cannot be combined with pollers: AWS refuses maximum concurrency on "
                "a mapping in provisioned mode (pollers.max bounds the consumers)"
            ],
        ),
        (
            {"min": 2, "group": "g"},
            {},
            [
                "unknown pollers key 'group' (valid pollers keys: max, min)",
                "pollers needs max (both min and max: the pollers kept ready and the most it may scale to)",
            ],
        ),
        ({"min": 2.5, "max": 10}, {}, ["pollers.min=2.5 must be a whole number from 2 to 200"]),
    ],
)
def test_bad_pollers_are_refused_before_any_resource(
    pollers: dict[str, Any], extra: dict[str, Any], problems: list[str]
) -> None:
    # GIVEN pollers outside AWS's ranges, inverted, or with maximum concurrency WHEN the pair is built
    with pytest.raises(ConfigError) as raised:
        build(pollers=pollers, **extra)
    # THEN one error names each problem
    assert raised.value.problems == problems


def test_the_cost_table_prices_the_minimum_pollers_every_hour() -> None:
    # GIVEN a pair with 3 pollers kept ready on each of its two mappings
    graph = build(pollers={"min": 3, "max": 100})
    # WHEN the plan's cost table is built
    rows = {r["item"]: r for r in cost_table(graph, "us-east-1")["rows"]}
    # THEN each mapping's floor is a row: 3 pollers x 730 h at the table's poller-unit price
    price = load_prices()["regions"]["us-east-1"]["lambda_event_poller_unit_hour"]
    for name in ("inbox-high-mapping", "inbox-low-mapping"):
        row = rows[f"provisioned pollers {name}"]
        assert (row["quantity"], row["unit"], row["monthly_usd"]) == (2190, "poller-hours", round(2190 * price, 2))
    assert not any(
        item.startswith("provisioned pollers") for item in (r["item"] for r in cost_table(build(), "us-east-1")["rows"])
    )
