"""The one schema extension every operation runs through: the document cache, the document
limits, the introspection gate and the masking of unexpected errors.

It does what six strawberry extensions did (``AddValidationRules`` and ``MaxTokensLimiter`` for
the limits, ``ParserCache``, ``ValidationCache``, ``IntrospectionGate``, ``MaskErrors``), in the
same order, in one instance per request: strawberry builds every extension and a context
manager for each of its hooks per operation, which cost more than the work they do
(~170 µs of a ~630 µs ``orderCreate`` execution on the 2-core benchmark host).

The document cache is keyed by the query text (a str, whose hash Python keeps): a document is
parsed once per distinct text, and validated once per distinct text and set of rules (the rules
are the same objects for every request, see ``limits.LIMIT_RULES``). Strawberry's
``ValidationCache`` keyed its cache by the parsed document, which graphql-core hashes by walking
it (~20 µs for ``orderCreate``'s) on every request. Both caches are bounded LRUs, so distinct
texts sent to a public endpoint cannot grow memory without limit; a text that does not parse is
not cached (the parser raises again). Whether a document asks for introspection is cached with
its validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import MaskErrors
from strawberry.schema.schema import validate_document

from om_graph.schema import errors as errors_module
from om_graph.schema.errors import RequestErrorCode
from om_graph.schema.limits import LIMIT_RULES, MAX_TOKENS, asks_for_introspection

DOCUMENT_CACHE_SIZE = 512
_LIMIT_RULES = tuple(LIMIT_RULES)


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _parse(query: str) -> DocumentNode:
    return parse(query, max_tokens=MAX_TOKENS)


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _validate(schema: GraphQLSchema, query: str, rules: tuple) -> tuple[list[GraphQLError], bool]:
    """The validation errors of the text's document, and whether it asks for introspection."""
    document = _parse(query)
    return validate_document(schema, document, rules), asks_for_introspection(document)


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def _validate_document(schema: GraphQLSchema, document: DocumentNode, rules: tuple) -> tuple[list[GraphQLError], bool]:
    return validate_document(schema, document, rules), asks_for_introspection(document)


def _should_mask(error: GraphQLError) -> bool:
    return not errors_module.is_expected(error)


class RequestPipeline(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_should_mask, error_message="Unexpected error.")
        self._parsed: DocumentNode | None = None  # the document on_parse took from the cache

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = ctx.validation_rules + _LIMIT_RULES
        ctx.parse_options["max_tokens"] = MAX_TOKENS
        yield from super().on_operation()  # masks the result's unexpected errors at the end

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            ctx.graphql_document = self._parsed = _parse(ctx.query)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None:
            schema = ctx.schema._schema
            if document is self._parsed and ctx.query:
                errors, introspection = _validate(schema, ctx.query, ctx.validation_rules)
            else:  # a document strawberry was handed: cached by the document, as ValidationCache did
                errors, introspection = _validate_document(schema, document, ctx.validation_rules)
            ctx.pre_execution_errors = errors
            # After the (cached) validation, so a cached result cannot bypass the gate.
            if introspection and not getattr(ctx.context, "allow_introspection", True):
                ctx.pre_execution_errors = [
                    *errors,
                    GraphQLError(
                        "introspection is disabled on this server", extensions={"code": RequestErrorCode.INTROSPECTION_DISABLED}
                    ),
                ]
        yield
