"""The captured graph answers lookups from an index built once, with the answers a scan gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from resilient_serverless.components.offline import CapturedResource, Graph

TYPES = ("aws:sqs/queue:Queue", "aws:lambda/function:Function", "resilient-serverless:index:ResilientFunction")


def _resource(i: int, type_: str, parent: int | None) -> CapturedResource:
    return CapturedResource(
        urn=f"urn:{i}",
        type=type_,
        name=f"r{i}",
        inputs={},
        outputs={},
        parent=None if parent is None else f"urn:{parent}",
        dependencies=(),
        custom=not type_.startswith("resilient-serverless:"),
    )


@st.composite
def graphs(draw: Any) -> Graph:
    size = draw(st.integers(0, 12))
    resources = [
        _resource(i, draw(st.sampled_from(TYPES)), draw(st.one_of(st.none(), st.integers(0, max(i - 1, 0)))))
        for i in range(size)
    ]
    return Graph(resources)


def _scan_of_type(graph: Graph, type_: str) -> list[CapturedResource]:
    return [r for r in graph.resources if r.type == type_ or r.type.endswith(f":{type_}")]


@given(graphs(), st.sampled_from([*TYPES, "Queue", "sqs/queue:Queue", "queue:Queue", "index:ResilientFunction", ""]))
def test_of_type_answers_as_a_scan_does(graph: Graph, type_: str) -> None:
    assert graph.of_type(type_) == _scan_of_type(graph, type_)


@given(graphs())
def test_children_roots_and_urns_answer_as_a_scan_does(graph: Graph) -> None:
    urns = {r.urn for r in graph.resources}
    assert graph.roots() == [r for r in graph.resources if r.parent not in urns]
    for r in graph.resources:
        assert graph.children_of(r) == [c for c in graph.resources if c.parent == r.urn]
        assert graph.children_of(r.urn, "Function") == [
            c for c in graph.resources if c.parent == r.urn and c.type.endswith(":Function")
        ]
        assert graph.by_urn(r.urn) is next(x for x in graph.resources if x.urn == r.urn)


def test_a_graph_grown_after_a_lookup_answers_with_the_new_resource() -> None:
    graph = Graph([_resource(0, TYPES[0], None)])
    assert len(graph.of_type("Queue")) == 1
    graph.resources.append(_resource(1, TYPES[0], 0))
    assert [r.name for r in graph.of_type("Queue")] == ["r0", "r1"]
    assert [r.name for r in graph.children_of("urn:0")] == ["r1"]


class _CountingList(list[CapturedResource]):
    scans = 0

    def __iter__(self) -> Any:
        type(self).scans += 1
        return super().__iter__()


def test_lookups_read_the_resources_once_not_once_per_query() -> None:
    # GIVEN a graph of 200 resources whose list counts how often it is read through
    resources = _CountingList(_resource(i, TYPES[i % 3], i - 1 if i % 3 else None) for i in range(200))
    graph = Graph(resources)
    _CountingList.scans = 0
    # WHEN every resource is looked up by type, parent and URN, as the plan and the rules do
    for r in resources[:]:
        graph.of_type(r.type)
        graph.children_of(r)
        graph.by_urn(r.urn)
    # THEN the list was read once, to index it
    assert _CountingList.scans == 1
