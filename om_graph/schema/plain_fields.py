"""Completing plain leaf fields without graphql-core's per-field machinery.

Our output types are plain objects built once per request by the mappers (``schema/types``), so
most of an answer is leaf fields that strawberry resolves with ``getattr`` and graphql-core then
completes one by one: a resolve-info object, a path, the resolver chain, ``complete_value``'s type
dispatch and the scalar's or enum's ``coerce_output_value``, for every field of every object (an
order's detail has ~600 of them). ``PlainLeafFields.execute_fields`` does the same work for such a
field in a few steps: the attribute, then the leaf type's own ``coerce_output_value``.

A field takes this path only when strawberry itself would resolve it by plain attribute access
(no resolver, no field extension, no arguments: strawberry's ``_is_default`` basic resolver) and
its type is a scalar or enum, and only when no middleware (a schema extension's ``resolve`` hook)
is installed. Anything else — object and list fields, resolvers, permission-checked fields,
``__typename`` — and any value that would not complete cleanly (null in a non-null field, a value
the scalar refuses) goes to graphql-core's ``execute_fields``, which resolves it again and reports
the error exactly as before; the attributes are plain values, so reading one twice changes nothing.
The answer's keys keep the selection's order.

``schema/execution.py``'s executor derives from ``PlainLeafFields`` (itself strawberry's executor).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLNonNull, is_leaf_type
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_DEFINITION = "strawberry-definition"  # strawberry's GraphQLCoreConverter.DEFINITION_BACKREF
_SLOW = object()  # placeholder keeping a field's place in the answer until graphql-core fills it

# (response name, (attribute, coerce_output_value, non-null) or None for graphql-core's path, field details)
_Plan = list[tuple[str, tuple[str, Callable[[Any], Any], bool] | None, Any]]


def leaf_plan(field_def: Any) -> tuple[str, Callable[[Any], Any], bool] | None:
    """(attribute, coerce, non_null) for a scalar or enum field strawberry resolves by plain
    ``getattr`` with no arguments; None for every other field."""
    if field_def is None or field_def.args:
        return None
    resolve = field_def.resolve
    if resolve is None or getattr(resolve, "_is_default", False) is not True:
        return None
    definition = (field_def.extensions or {}).get(_DEFINITION)
    if definition is None or definition.base_resolver is not None or definition.extensions:
        return None
    if getattr(definition, "default_resolver", getattr) is not getattr:
        return None
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    if non_null:
        field_type = field_type.of_type
    if not is_leaf_type(field_type):
        return None
    return definition.python_name, field_type.coerce_output_value, non_null


class PlainLeafFields(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with plain leaf fields completed inline (see the module docstring)."""

    _plain_plans: dict[int, tuple[Any, _Plan]]

    def build_per_event_executor(self, payload: Any) -> Any:
        executor: Any = super().build_per_event_executor(payload)
        executor._plain_plans = {}  # a shallow copy would share (and grow) the operation's plans
        return executor

    def execute_fields(
        self, parent_type: Any, source_value: Any, path: Any, grouped_field_set: Any, position_context: Any
    ) -> Any:
        base: Any = super()  # graphql-core 3.3 executor internals (mypy sees strawberry's 3.2-compatible base)
        manager = self.middleware_manager
        if manager is not None and manager._middleware_resolvers is not None:
            return base.execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        rest: dict[str, Any] | None = None
        for response_name, leaf, field_details_list in self._plain_plan(parent_type, grouped_field_set):
            if leaf is not None:
                attribute, coerce, non_null = leaf
                try:
                    value = getattr(source_value, attribute)
                    coerced = None if value is None else coerce(value)
                except Exception:
                    coerced = value = _SLOW  # graphql-core's path raises the error, with its path
                if value is None:
                    if not non_null:
                        results[response_name] = None
                        continue
                elif coerced is not None and coerced is not Undefined and coerced is not _SLOW:
                    results[response_name] = coerced
                    continue
            results[response_name] = _SLOW
            if rest is None:
                rest = {}
            rest[response_name] = field_details_list
        if rest is None:
            return results
        completed = base.execute_fields(parent_type, source_value, path, rest, position_context)
        expected = len(rest)
        if self.is_awaitable(completed):

            async def merged() -> dict[str, Any]:
                return _merge(results, await completed, expected)

            return merged()
        return _merge(results, completed, expected)

    def _plain_plan(self, parent_type: Any, grouped_field_set: Any) -> _Plan:
        """Per operation and selection set (graphql-core memoises the sets, so a list's items share one)."""
        plans = self.__dict__.get("_plain_plans")
        if plans is None:
            plans = self._plain_plans = {}
        cached = plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        get_field = self.schema.get_field
        plan: _Plan = [
            (name, leaf_plan(get_field(parent_type, details[0].node.name.value)), details)
            for name, details in grouped_field_set.items()
        ]
        plans[id(grouped_field_set)] = (grouped_field_set, plan)  # kept alive: its id stays unique
        return plan


def _merge(results: dict[str, Any], completed: dict[str, Any], expected: int) -> dict[str, Any]:
    """The inline answers with graphql-core's, in the selection's order (a field it left out,
    one the schema does not have, is dropped as graphql-core drops it)."""
    results.update(completed)
    if len(completed) == expected:
        return results
    return {k: v for k, v in results.items() if v is not _SLOW}
