"""What the HTTP middleware cannot see from outside strawberry: which root field a request ran,
how it ended, who asked and which order it is about.

``OperationObservability`` (a schema extension) puts ``(operation, outcome)`` into the ASGI
scope for ``observability.http`` to count, and sets the actor and order id for the logs.
Labels stay bounded: ``operation`` is the first root field of an operation that passed
validation (so a field of the schema, or ``__schema``/``__type``/``__typename``), ``(invalid)``
for a document that did not parse or validate, never a client-chosen operation name.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    GraphQLError,
    ObjectValueNode,
    OperationDefinitionNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalID

from om_graph.core.kernel.ids import key_number
from om_graph.observability.context import ACTOR, ORDER_ID
from om_graph.schema.errors import is_expected

SCOPE_KEY = "om_graph.operation"
INVALID = "(invalid)"
NO_OPERATION = "(none)"  # no GraphQL operation ran: the GraphiQL page, a request refused before parsing
CACHED_ORDER_READ = ("order", "ok")  # what AuthenticatedGraphQL records for a response-cache hit


class OperationObservability(SchemaExtension):
    _operation: str | None = None  # the root field's name, once on_execute has seen it

    def on_operation(self):
        context = self.execution_context.context
        actor = getattr(context, "actor", None)
        if actor is not None:
            ACTOR.set(actor.id)
        self._operation = None
        yield
        request = getattr(context, "request", None)
        scope = getattr(request, "scope", None)
        if scope is not None and scope.get("type") == "http":
            scope[SCOPE_KEY] = (self._operation or INVALID, self._outcome())

    def on_execute(self):
        # Runs only for a document that parsed and validated.
        ctx = self.execution_context
        field = _root_field(_operation(ctx.graphql_document, ctx.operation_name))
        if field is not None:
            self._operation = field.name.value
            order_id = _order_id(field, ctx.variables or {}) if self._operation.startswith("order") else None
            if order_id is not None:
                ORDER_ID.set(_database_id(order_id))
        yield

    def _outcome(self) -> str:
        # pre_execution_errors holds the execution's errors too, as they were before MaskErrors
        # replaced the unexpected ones in the result.
        errors: list[GraphQLError] = self.execution_context.pre_execution_errors or []
        if not errors:
            return "ok"
        if self._operation is None:
            return "rejected"
        if any((e.extensions or {}).get("code") == "UNAUTHENTICATED" for e in errors):
            return "unauthenticated"
        return "rejected" if all(is_expected(e) for e in errors) else "error"


def _operation(document, name: str | None) -> OperationDefinitionNode | None:
    if document is None:
        return None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name and definition.name.value == name)
        ):
            return definition
    return None


def _root_field(operation: OperationDefinitionNode | None) -> FieldNode | None:
    if operation is None:
        return None
    fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    named = [f for f in fields if f.name.value != "__typename"]
    return (named or fields)[0] if fields else None


def _order_id(field: FieldNode, variables: dict):
    """The order an ``order…`` root field is about: its ``id``/``orderId`` argument or the
    ``id``/``orderId`` of its ``input`` object, literal or from a variable."""

    def value(node):
        if isinstance(node, VariableNode):
            return variables.get(node.name.value)
        return getattr(node, "value", None)

    for argument in field.arguments or ():
        name = argument.name.value
        if name in ("id", "orderId"):
            return value(argument.value)
        if name == "input":
            if isinstance(argument.value, ObjectValueNode):
                for item in argument.value.fields or ():
                    if item.name.value in ("id", "orderId"):
                        return value(item.value)
            else:
                given = value(argument.value)
                if isinstance(given, dict):
                    return given.get("id", given.get("orderId"))
    return None


def _database_id(given):
    """The order's row id, as workers log it, from a relay id ("Order:42" in base64)."""
    try:
        global_id = GlobalID.from_id(given)
    except Exception:
        return given
    number = key_number(global_id.node_id) if global_id.type_name == "Order" else None
    return given if number is None else number


def observe_operations(schema) -> None:
    """Add the extension to a built schema (once: ``build_schema`` is cached per process)."""
    if OperationObservability not in schema.extensions:
        schema.extensions = (*schema.extensions, OperationObservability)
