"""schema/plain_fields.py answers exactly as graphql-core does: the same data, in the same key
order, and the same errors (messages, paths), for plain leaf fields and everything around them."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum

import pytest
import strawberry
from strawberry.extensions import FieldExtension, SchemaExtension

from om_graph.schema.execution import PerEventMemoExecutionContext
from om_graph.schema.plain_fields import PlainLeafFields, leaf_plan


class _Fast(PerEventMemoExecutionContext, PlainLeafFields):
    pass


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class _Deny(FieldExtension):
    def resolve(self, next_, source, info, **kwargs):
        raise PermissionError("not allowed: Item.secret")


@strawberry.type
class Money:
    amount: str
    currency: str


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    count: int
    colour: Colour
    note: str | None
    at: datetime | None
    price: Money | None
    secret: str = strawberry.field(extensions=[_Deny()])

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


def _item(i: int, **over) -> Item:
    values = dict(
        id=str(i),
        name=f"item{i}",
        count=i,
        colour=Colour.RED if i % 2 else Colour.BLUE,
        note=None if i % 2 else "even",
        at=datetime(2024, 1, i + 1),
        price=Money(amount=f"{i}.00", currency="EUR"),
        secret="s",
    )
    values.update(over)
    return Item(**values)


BROKEN = {
    "none_in_non_null": _item(1, name=None),  # null in a String!
    "bad_enum": _item(2, colour="green"),
    "bad_int": _item(3, count="three"),
    "not_an_item": object(),
}


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [_item(i) for i in range(4)]

    @strawberry.field
    def item(self, kind: str) -> Item | None:
        return BROKEN[kind]

    @strawberry.field
    def strict(self, kind: str) -> Item:
        return BROKEN[kind]

    @strawberry.field
    async def later(self) -> list[Item]:
        return [_item(i) for i in range(2)]


def _schemas(extensions=()):
    return (
        strawberry.Schema(query=Query, execution_context_class=PerEventMemoExecutionContext, extensions=list(extensions)),
        strawberry.Schema(query=Query, execution_context_class=_Fast, extensions=list(extensions)),
    )


def _answer(result) -> str:
    errors = [(e.message, e.path) for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, default=str)  # key order included


QUERIES = [
    "{ items { id name count colour note at price { amount currency } } }",
    "{ items { __typename a: name name b: count shout(times: 2) colour } }",
    "{ items { ...F ... on Item { note count } } } fragment F on Item { name colour }",
    "{ items { name @skip(if: true) count @include(if: false) colour id } }",
    "{ items { name secret count } }",
    '{ item(kind: "none_in_non_null") { id name count } }',
    '{ item(kind: "bad_enum") { id colour name } }',
    '{ item(kind: "bad_int") { count name } }',
    '{ item(kind: "not_an_item") { name } }',
    '{ strict(kind: "none_in_non_null") { name } items { name } }',
    "{ later { name count at } items { id } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_same_answer_as_graphql_core(query):
    plain, fast = _schemas()
    expected = await plain.execute(query)
    got = await fast.execute(query)
    assert _answer(got) == _answer(expected)


class _Counting(SchemaExtension):
    calls = 0

    def resolve(self, _next, root, info, *args, **kwargs):
        _Counting.calls += 1
        return _next(root, info, *args, **kwargs)


async def test_a_resolve_hook_still_sees_every_field():
    """A schema extension with a ``resolve`` hook (graphql-core middleware) turns the inline path off."""
    plain, fast = _schemas([_Counting])
    query = "{ items { name count colour } }"
    _Counting.calls = 0
    expected = await plain.execute(query)
    seen = _Counting.calls
    _Counting.calls = 0
    got = await fast.execute(query)
    assert _Counting.calls == seen == 1 + 4 * 3
    assert _answer(got) == _answer(expected)


def test_only_plain_leaf_fields_take_the_inline_path():
    _, fast = _schemas()
    item = fast._schema.type_map["Item"]
    plain = {name for name, field in item.fields.items() if leaf_plan(field) is not None}
    assert plain == {"id", "name", "count", "colour", "note", "at"}  # not price (object), secret, shout


def test_the_real_schema_keeps_permission_checked_fields_on_graphql_cores_path():
    from om_graph.schema.build import build_schema

    type_map = build_schema()._schema.type_map
    order, task = type_map["Order"].fields, type_map["Task"].fields
    assert leaf_plan(order["state"]) is not None and leaf_plan(task["attempts"]) is not None
    for guarded in (task["completedBy"], task["errorCode"], order["id"], task["id"]):
        assert leaf_plan(guarded) is None  # RequirePermission, and relay's id resolver
