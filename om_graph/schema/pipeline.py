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

import inspect
from collections.abc import Callable, Generator, Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
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

    def _process_result(self, result: object) -> None:
        # MaskErrors tests ``isinstance(result, <a runtime-checkable Protocol>)``, which walks
        # the protocol's attributes on every call; its only member is ``errors``.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

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


# -- running the extensions' hooks --------------------------------------------------------------
#
# Strawberry builds, per operation and per hook (operation, parsing, validation, execution), a
# context manager that inspects every extension, wraps each generator hook in a
# ``contextlib.contextmanager`` (a functools.wraps each) and enters them on an ExitStack:
# ~120 µs of an operation here. The runner below enters generator hooks directly, with the
# ExitStack's semantics (entered in order, left in reverse, an exception thrown into each, a
# hook may suppress it or raise another). A hook that is not a generator function (an async
# one, a plain callable) makes that stage use strawberry's own context manager.

_DEFAULT_HOOKS = {name: getattr(SchemaExtension, name) for name in ("on_operation", "on_parse", "on_validate", "on_execute")}
_HOOKS: dict[tuple[type, str], object] = {}
_STRAWBERRY = object()  # this hook needs strawberry's context manager


def _hook(cls: type, name: str) -> object:
    key = (cls, name)
    found = _HOOKS.get(key)
    if found is None:
        fn = getattr(cls, name)
        if fn is _DEFAULT_HOOKS[name]:
            found = False  # not implemented
        elif inspect.isgeneratorfunction(fn):
            found = fn
        else:
            found = _STRAWBERRY
        _HOOKS[key] = found
    return found


class _Stage:
    """One stage's hooks (all synchronous generators), entered as a context manager, sync or async."""

    __slots__ = ("_active", "_hooks")

    def __init__(self, hooks: list[tuple[Callable, SchemaExtension]]):
        self._hooks = hooks
        self._active: list[Generator] = []

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        return self.__exit__(exc_type, exc, tb)

    def __enter__(self) -> None:
        for fn, extension in self._hooks:
            generator = fn(extension)
            try:
                next(generator)
            except StopIteration:
                raise RuntimeError("generator didn't yield") from None
            self._active.append(generator)

    def __exit__(self, exc_type, exc, tb) -> bool:
        pending: BaseException | None = exc
        for generator in reversed(self._active):
            if pending is None:
                try:
                    next(generator)
                except StopIteration:
                    continue
                except BaseException as raised:
                    pending = raised
                else:
                    pending = RuntimeError("generator didn't stop")
            else:
                try:
                    generator.throw(pending)
                except StopIteration as stopped:
                    if stopped is not pending:
                        pending = None  # the hook suppressed it
                except BaseException as raised:
                    pending = raised  # the same exception, or one raised instead
                else:
                    pending = RuntimeError("generator didn't stop after throw()")
        self._active = []
        if pending is None:
            return exc is not None
        if pending is exc:
            return False
        raise pending


class ExtensionsRunner(SchemaExtensionsRunner):
    def _stage(self, name: str, strawberry_stage: Callable[[], object]):
        hooks: list[tuple[Callable, SchemaExtension]] = []
        for extension in self.extensions:
            fn = _hook(type(extension), name)
            if fn is _STRAWBERRY:
                return strawberry_stage()
            if callable(fn):
                hooks.append((fn, extension))
        return _Stage(hooks)

    def operation(self):
        return self._stage("on_operation", super().operation)

    def parsing(self):
        return self._stage("on_parse", super().parsing)

    def validation(self):
        return self._stage("on_validate", super().validation)

    def executing(self):
        return self._stage("on_execute", super().executing)
