"""The list and read conventions of TMF630 that partners' tools rely on.

- ``fields=a,b.c``: attribute selection. Only the named attributes are returned (dotted paths
  select inside objects and arrays of objects), plus what is always there: ``id``, ``href`` and
  ``@type`` (and, for orders, ``orderDate`` and ``state``: the resource says which).
- Attribute filtering: every other query parameter is a filter, ANDed: ``state=inProgress``
  (equality; ``a,b`` means either), ``orderDate.gt=2026-01-01T00:00:00Z`` (``gt``, ``gte``,
  ``lt``, ``lte`` for dates and numbers). A resource declares what can be filtered
  (:class:`Filterable`): anything else is a 400 naming the attributes that can, never ignored.
- ``offset``/``limit``: the page; a list answers with ``X-Total-Count`` (matching the filters)
  and ``X-Result-Count`` (in this page).

Lists read from the database pass the criteria to the core read (the ``Filterable``'s field is a
core field). Small in-memory lists (the catalog) are filtered over their mapped TMF resources by
:func:`matching`, where the ``Filterable``'s field is the attribute's path in the resource.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse

from om_graph.core.kernel.criteria import Criterion
from om_graph.tmf.errors import TmfError
from om_graph.tmf.values import number

MAX_LIMIT = 100
DEFAULT_LIMIT = 100
RESERVED = ("fields", "offset", "limit", "sort")
OPERATORS = ("gt", "gte", "lt", "lte")
INVALID_QUERY = "INVALID_QUERY"


@dataclass(frozen=True)
class Filterable:
    """A TMF attribute a list can be filtered on: the core field it maps to and how a value reads."""

    field: str
    parse: Callable[[str], Any] = str
    ordered: bool = False  # gt/gte/lt/lte allowed


@dataclass(frozen=True)
class ListQuery:
    fields: frozenset[str] | None
    offset: int
    limit: int
    criteria: tuple[Criterion, ...]


def parse_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an ISO 8601 date-time") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def id_value(value: str) -> int:
    """A filter value that is one of our ids."""
    found = number(value)
    if found is None:
        raise ValueError("not an id of this server")
    return found


def parse_fields(params: QueryParams) -> frozenset[str] | None:
    given = params.getlist("fields")
    if not given:
        return None
    if len(given) > 1:
        raise TmfError(400, INVALID_QUERY, "fields: give it once, the attributes separated by commas")
    raw = given[0]
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    return names or None  # fields= selects nothing in particular: everything


def _int(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    given = params.getlist(name)
    if not given:
        return default
    if len(given) > 1:
        raise TmfError(400, INVALID_QUERY, f"{name}: given {len(given)} times")
    raw = given[0]
    try:
        value = int(raw)
    except ValueError:
        raise TmfError(400, INVALID_QUERY, f"{name}: not an integer: {raw!r}") from None
    if not low <= value <= high:
        raise TmfError(400, INVALID_QUERY, f"{name}: must be between {low} and {high}")
    return value


def parse_list(params: QueryParams, filterable: Mapping[str, Filterable]) -> ListQuery:
    criteria = []
    for key, raw in params.multi_items():
        if key in RESERVED:
            continue
        name, _, op = key.rpartition(".") if key.rsplit(".", 1)[-1] in OPERATORS else (key, "", "eq")
        spec = filterable.get(name)
        if spec is None:
            allowed = ", ".join(sorted(filterable)) or "none"
            raise TmfError(400, INVALID_QUERY, f"cannot filter on {name!r}: the attributes that can be filtered are {allowed}")
        if op != "eq" and not spec.ordered:
            raise TmfError(400, INVALID_QUERY, f"{name}: only equality filters (a,b for either)")
        try:
            values = tuple(spec.parse(v) for v in (raw.split(",") if op == "eq" else [raw]))
        except (ValueError, KeyError) as bad:
            raise TmfError(400, INVALID_QUERY, f"{key}: {bad.args[0] if bad.args else 'not a valid value'}: {raw!r}") from None
        criteria.append(Criterion(spec.field, op, values))
    return ListQuery(
        parse_fields(params),
        _int(params, "offset", 0, 0, 10_000_000),
        _int(params, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT),  # 0: only the counts
        tuple(criteria),
    )


def select(resource: Mapping[str, Any], fields: Iterable[str] | None, always: Sequence[str]) -> dict[str, Any]:
    """``resource`` with only the ``fields`` (dotted paths) and the ``always`` attributes."""
    if fields is None:
        return dict(resource)
    tree: dict[str, Any] = {}
    for path in (*fields, *always):
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if child is None:  # the whole attribute is selected already
                break
            node = child
        else:
            node[parts[-1]] = None
    return _pick(resource, tree)


def _pick(value: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [_pick(item, tree) for item in value]
    if not isinstance(value, Mapping):
        return value
    return {key: _pick(value[key], sub) for key, sub in tree.items() if key in value}


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def matching(
    resources: Iterable[Mapping[str, Any]], criteria: Sequence[Criterion], filterable: Mapping[str, Filterable]
) -> list[Mapping[str, Any]]:
    """The mapped ``resources`` that meet every criterion (parsed by :func:`parse_list` with
    ``filterable``, whose fields are dotted paths into a resource). A path through an array
    matches when any element does; a string in the resource is read with the filter's own
    ``parse``, so both sides compare alike (a date-time as a datetime, a case-folded name).
    ``eq`` matches any of its values (``None`` among them: the attribute is absent)."""
    parsers = {spec.field: spec.parse for spec in filterable.values()}

    def holds(resource: Mapping[str, Any], criterion: Criterion) -> bool:
        parse = parsers.get(criterion.field, str)
        found = []
        for value in _values_at(resource, criterion.field.split(".")):
            try:
                found.append(parse(value) if isinstance(value, str) else value)
            except (ValueError, KeyError):
                continue
        if criterion.op == "eq":
            return any(v in criterion.values for v in found) or (None in criterion.values and not found)
        compare, bound = _COMPARE[criterion.op], criterion.values[0]
        try:
            return any(v is not None and compare(v, bound) for v in found)
        except TypeError:  # an attribute of another type than the filter's
            return False

    return [r for r in resources if all(holds(r, c) for c in criteria)]


def _values_at(value: Any, path: Sequence[str]) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _values_at(item, path)
    elif not path:
        if value is not None:
            yield value
    elif isinstance(value, Mapping) and path[0] in value:
        yield from _values_at(value[path[0]], path[1:])


def list_response(items: list[dict[str, Any]], total: int) -> JSONResponse:
    # 200 even for a part of the list (not TMF630's 206): the v4 documents declare only 200.
    return JSONResponse(items, headers={"X-Total-Count": str(total), "X-Result-Count": str(len(items))})
