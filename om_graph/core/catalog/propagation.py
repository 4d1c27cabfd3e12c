"""Attribute propagation (DOMAIN.md row 8): the catalog's :class:`AttributeMapping` rows, checked
at startup (known specifications and characteristics, no cycle) and followed transitively.

:func:`targets` is pure: given values a source specification now holds, what each target
specification's characteristic gets, by mode. core/fulfilment/propagation.py applies it to a
line's domain orders and the line when a task records its outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from om_graph.core.catalog.definitions import AttributeMapping, CatalogContribution, SpecificationDef
from om_graph.core.kernel.graphs import find_cycle

MODES = ("default", "set", "validate")


@dataclass(frozen=True)
class Propagated:
    target_spec: str
    characteristic: str
    value: Any
    mode: str
    source: tuple[str, str]  # (spec, characteristic) it came from


def index(catalogs: Iterable[CatalogContribution]) -> dict[tuple[str, str], list[AttributeMapping]]:
    by_source: dict[tuple[str, str], list[AttributeMapping]] = defaultdict(list)
    for catalog in catalogs:
        for mapping in catalog.attribute_mappings:
            by_source[(mapping.source_spec, mapping.source_characteristic)].append(mapping)
    return dict(by_source)


def mapping_problems(catalogs: Iterable[CatalogContribution], specifications: Mapping[str, SpecificationDef]) -> list[str]:
    """Unknown specifications or characteristics, unknown modes, and cycles (naming them)."""
    catalogs = list(catalogs)
    problems: list[str] = []
    graph: dict[str, list[str]] = defaultdict(list)
    for catalog in catalogs:
        for m in catalog.attribute_mappings:
            where = (
                f"pack {catalog.pack!r}: attribute mapping {m.source_spec}.{m.source_characteristic} -> "
                f"{m.target_spec}.{m.target_characteristic}"
            )
            for spec_key, name in ((m.source_spec, m.source_characteristic), (m.target_spec, m.target_characteristic)):
                spec = specifications.get(spec_key)
                if spec is None:
                    problems.append(f"{where}: unknown specification {spec_key!r}")
                elif name not in {c.name for c in spec.characteristics}:
                    problems.append(f"{where}: specification {spec_key!r} has no characteristic {name!r}")
            if m.mode not in MODES:
                problems.append(f"{where}: unknown mode {m.mode!r} (one of {', '.join(MODES)})")
            if m.mode != "validate":  # a check moves no value: it cannot feed a loop
                graph[f"{m.source_spec}.{m.source_characteristic}"].append(f"{m.target_spec}.{m.target_characteristic}")
    cycle = find_cycle(graph)
    if cycle:
        problems.append("attribute mappings form a cycle: " + " -> ".join(cycle))
    return problems


def targets(
    by_source: Mapping[tuple[str, str], list[AttributeMapping]], source_spec: str, values: Mapping[str, Any]
) -> list[Propagated]:
    """What ``values`` (now held by a ``source_spec`` domain order or line) give their targets,
    followed transitively through ``default``/``set`` mappings (acyclic: the registry checked)."""
    found: list[Propagated] = []
    frontier = [(source_spec, name, value) for name, value in values.items() if value is not None]
    while frontier:
        spec, name, value = frontier.pop(0)
        for m in by_source.get((spec, name), ()):
            found.append(Propagated(m.target_spec, m.target_characteristic, value, m.mode, (spec, name)))
            if m.mode != "validate":
                frontier.append((m.target_spec, m.target_characteristic, value))
    return found
