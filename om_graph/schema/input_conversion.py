"""Input objects built by converters prepared once per type, instead of strawberry's generic
``convert_argument`` walk.

Strawberry converts an argument's input value (graphql-core's coerced dict, keyed by GraphQL
names) into the input dataclasses by inspecting every field's type on every request: for
``orderCreate``'s small input that walk was a quarter of the operation's execution. The types
marked with :func:`prepared_input` get strawberry's documented ``from_input`` hook instead, set
by :func:`install` once the schema is built (so every type is resolved, and the defaults the
schema publishes were built as before). It does the conversions strawberry does, in its order:

- ``None`` and ``UNSET`` stay themselves, at every level;
- a list of leaves (scalars, enums, not ``GlobalID``) is copied (graphql-core hands the same
  default list to every request that omits the field), any other list is converted item by item;
- a ``GlobalID`` is decoded, an undecodable one raises strawberry's ``InvalidGlobalIDError``;
- other scalars and enum values are passed as graphql-core coerced them;
- an input object gets ``None`` for each field without a default, then each field present in
  the value, converted, and is built with the class strawberry passes.

Anything else in a marked type's tree (``Maybe``, another integration's ``from_input``, an input
type not marked) is refused when the schema is built: mark it, or leave the type to strawberry.
tests/test_input_conversion.py compares both conversions on the schema's input types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.relay.types import GlobalID, GlobalIDValueError, InvalidGlobalIDError
from strawberry.scalars import is_scalar
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

T = TypeVar("T", bound=type)
Converter = Callable[[Any], Any]
Builder = Callable[[type, Mapping[str, Any], Any], Any]  # strawberry's from_input signature

_MARKED: list[type] = []


def prepared_input(cls: T) -> T:
    """Mark a ``@strawberry.input`` class to be built by a prepared converter (see :func:`install`)."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    if not definition.is_input or definition.from_input is not None:
        raise TypeError(f"{cls.__name__}: only a plain @strawberry.input type can be prepared")
    _MARKED.append(cls)
    return cls


def _identity(value: Any) -> Any:
    return value


def _copy(value: Any) -> Any:
    return list(value)


def _global_id(value: Any) -> Any:
    try:
        return GlobalID.from_id(value)
    except GlobalIDValueError as error:  # strawberry's message, like the built-in scalars
        raise InvalidGlobalIDError(f'Value cannot represent a GlobalID: "{value}".') from error


class _Compiler:
    def __init__(self, registry: Mapping, config: Any, marked: list[type]):
        self.registry = registry
        self.config = config
        self.marked = set(marked)
        self.builders: dict[type, Builder] = {}

    def _is_leaf(self, type_: Any) -> bool:
        if is_scalar(type_, self.registry) or isinstance(type_, StrawberryEnumDefinition):
            return True
        if isinstance(type_, LazyType):
            return self._is_leaf(type_.resolve_type())
        return False

    def value(self, type_: Any, where: str) -> Converter:
        """A converter for a value of ``type_``; None and UNSET are kept."""
        inner = self._not_null(type_, where)
        if inner is _identity:
            return inner

        def convert(value: Any) -> Any:
            if value is None or value is UNSET:
                return value
            return inner(value)

        return convert

    def _not_null(self, type_: Any, where: str) -> Converter:
        if isinstance(type_, StrawberryMaybe):
            raise TypeError(f"{where}: Maybe is left to strawberry; do not prepare this type")
        if isinstance(type_, StrawberryOptional):
            return self._not_null(type_.of_type, where)
        if isinstance(type_, StrawberryList):
            item_type = type_.of_type
            plain = item_type.of_type if isinstance(item_type, StrawberryOptional) else item_type
            if plain is not GlobalID and self._is_leaf(plain):
                return _copy
            item = self.value(item_type, where)
            return lambda value: [item(x) for x in value]
        if type_ is GlobalID:
            return _global_id
        if self._is_leaf(type_) or has_enum_definition(type_):
            return _identity
        if isinstance(type_, LazyType):
            return self._not_null(type_.resolve_type(), where)
        if has_object_definition(type_) and type_ in self.marked:
            builders = self.builders  # filled for every marked type before the first request
            return lambda value: builders[type_](type_, value, None)
        raise TypeError(f"{where}: {type_!r} is not prepared (mark its input type with prepared_input)")

    def object(self, cls: type) -> Builder:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        implicit_none = {
            f.python_name: None for f in definition.fields if f.default_value is MISSING and f.default_factory is MISSING
        }
        fields = [
            (
                self.config.name_converter.from_field(f),
                f.python_name,
                self.value(f.resolve_type(type_definition=definition), f"{cls.__name__}.{f.python_name}"),
            )
            for f in definition.fields
        ]

        def build(target: type, value: Mapping[str, Any], _context: Any) -> Any:
            kwargs = dict(implicit_none)
            for graphql_name, python_name, convert in fields:
                if graphql_name in value:
                    kwargs[python_name] = convert(value[graphql_name])
            return target(**kwargs)

        return build


def install(schema: Any) -> None:
    """Give every marked input type its prepared ``from_input`` (once the schema is built)."""
    compiler = _Compiler(schema.schema_converter.scalar_registry, schema.config, _MARKED)
    for cls in _MARKED:
        compiler.builders[cls] = compiler.object(cls)
    for cls in _MARKED:
        cls.__strawberry_definition__.from_input = compiler.builders[cls]  # type: ignore[attr-defined]
