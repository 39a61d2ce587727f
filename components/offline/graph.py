"""What a program registered: every resource (type, name, inputs, outputs, parent, dependencies)
and the queries the plan, the rules, the policy pack and tests ask of it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CapturedResource", "Graph", "normalize"]


def normalize(value: Any) -> Any:
    """Under mocks numbers arrive as floats; give whole numbers back as ints, recursively."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    return value


@dataclass(frozen=True)
class CapturedResource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None
    dependencies: tuple[str, ...]
    custom: bool
    retain_on_delete: bool = False  # kept in the cloud when its stack is destroyed

    @property
    def is_component(self) -> bool:
        return not self.custom

    def __repr__(self) -> str:
        return f"<{self.type} {self.name}>"


@dataclass
class Graph:
    """What a program registered, in registration order, with query helpers."""

    resources: list[CapturedResource]
    exports: dict[str, Any] = field(default_factory=dict)
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack: str = ""
    project: str = ""
    # rule id -> reason: the rules the program waived (``rules.waive``); ``rules.check`` reads them
    waivers: dict[str, str] = field(default_factory=dict)
    _index: _Index | None = field(default=None, init=False, repr=False, compare=False)

    def __iter__(self) -> Iterator[CapturedResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def _indexed(self) -> _Index:
        """The lookups by URN, type and parent, built once: the plan and the rules query the graph
        once per resource, and a scan per query made the plan grow with the square of the program.
        Rebuilt when ``resources`` is replaced or grows (tests build graphs by hand)."""
        if self._index is None or not self._index.covers(self.resources):
            self._index = _Index(self.resources)
        return self._index

    def by_urn(self, urn: str) -> CapturedResource:
        found = self._indexed().by_urn.get(urn)
        if found is None:
            raise KeyError(urn)
        return found

    def of_type(self, type_: str) -> list[CapturedResource]:
        """Resources of a type token (``aws:sqs/queue:Queue``) or a component class name."""
        return list(self._indexed().by_type.get(type_, ()))

    def named(self, name: str) -> CapturedResource:
        return self.one(name=name)

    def one(self, type_: str | None = None, name: str | None = None) -> CapturedResource:
        """The single resource matching type and/or name; an AssertionError lists the candidates."""
        pool = self.of_type(type_) if type_ else self.resources
        found = [r for r in pool if name is None or r.name == name]
        if len(found) != 1:
            listing = ", ".join(f"{r.type}:{r.name}" for r in pool[:20])
            raise AssertionError(
                f"expected one resource (type={type_!r}, name={name!r}), found {len(found)}; candidates: {listing}"
            )
        return found[0]

    def children_of(self, parent: CapturedResource | str, type_: str | None = None) -> list[CapturedResource]:
        urn = parent.urn if isinstance(parent, CapturedResource) else parent
        kids = self._indexed().by_parent.get(urn, ())
        return [r for r in kids if type_ is None or r.type == type_ or r.type.endswith(f":{type_}")]

    def descendants_of(self, parent: CapturedResource | str) -> list[CapturedResource]:
        out: list[CapturedResource] = []
        for child in self.children_of(parent):
            out.append(child)
            out.extend(self.descendants_of(child))
        return out

    def roots(self) -> list[CapturedResource]:
        urns = self._indexed().by_urn
        return [r for r in self.resources if r.parent not in urns]

    def parent_of(self, resource: CapturedResource) -> CapturedResource | None:
        if resource.parent is None:
            return None
        try:
            return self.by_urn(resource.parent)
        except KeyError:
            return None

    def outputs_of(self, component: CapturedResource) -> dict[str, Any]:
        return self.component_outputs.get(component.urn, {})


class _Index:
    """A graph's resources by URN (the first registered, as a scan finds it), by type (the full
    token and each ``:``-separated tail of it, so ``Queue`` and ``sqs/queue:Queue`` find
    ``aws:sqs/queue:Queue``) and by parent URN; each list in registration order."""

    def __init__(self, resources: list[CapturedResource]) -> None:
        self._key = self._key_of(resources)
        self.by_urn: dict[str, CapturedResource] = {}
        self.by_type: dict[str, list[CapturedResource]] = {}
        self.by_parent: dict[str | None, list[CapturedResource]] = {}
        for r in resources:
            self.by_urn.setdefault(r.urn, r)
            self.by_parent.setdefault(r.parent, []).append(r)
            self.by_type.setdefault(r.type, []).append(r)
            tail = r.type
            while ":" in tail:
                tail = tail.split(":", 1)[1]
                self.by_type.setdefault(tail, []).append(r)

    @staticmethod
    def _key_of(resources: list[CapturedResource]) -> tuple[int, ...]:
        if not resources:
            return (id(resources), 0)
        return (id(resources), len(resources), id(resources[0]), id(resources[-1]))

    def covers(self, resources: list[CapturedResource]) -> bool:
        return self._key == self._key_of(resources)
