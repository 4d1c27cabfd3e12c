"""The per-operation extension (schema/pipeline.py): documents parsed and validated once per
query text, the token limit, the introspection gate after a cached validation (the depth and
alias limits: tests/test_input_limits.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from om_graph.schema import build_schema, pipeline
from om_graph.schema.limits import MAX_TOKENS


def _execute(query: str, allow_introspection: bool = True):
    context = SimpleNamespace(allow_introspection=allow_introspection, actor=None, request=None)
    return asyncio.run(build_schema().execute(query, context_value=context))


def test_a_text_is_parsed_and_validated_once():
    query = "query CachedOnce { __typename }"
    first = _execute(query)
    parsed, validated = pipeline._parse.cache_info(), pipeline._validate.cache_info()
    second = _execute(query)
    assert first.errors is None and second.errors is None
    assert pipeline._parse.cache_info().hits == parsed.hits + 1
    assert pipeline._validate.cache_info().hits == validated.hits + 1
    assert pipeline._parse.cache_info().maxsize == pipeline.DOCUMENT_CACHE_SIZE


def test_the_token_limit_holds_and_a_failed_parse_is_not_cached():
    query = "{ " + "__typename " * MAX_TOKENS + "}"
    for _ in range(2):
        result = _execute(query)
        assert result.errors and "token" in result.errors[0].message.lower()
    assert pipeline._parse.cache_info().currsize <= pipeline.DOCUMENT_CACHE_SIZE


def test_a_cached_validation_does_not_bypass_the_introspection_gate():
    query = "query Gate { __schema { queryType { name } } }"
    assert _execute(query, allow_introspection=True).errors is None
    refused = _execute(query, allow_introspection=False)
    assert refused.errors and refused.errors[0].extensions["code"] == "INTROSPECTION_DISABLED"
    assert _execute(query, allow_introspection=True).errors is None


def _stage(*extensions):
    from om_graph.schema.pipeline import ExtensionsRunner

    return ExtensionsRunner(execution_context=None, extensions=list(extensions)).operation()


def test_hooks_run_like_strawberrys_exit_stack():
    """Entered in order, left in reverse; an exception is thrown into each hook, which may
    suppress it or raise another (what contextlib.ExitStack does for strawberry)."""
    import pytest
    from strawberry.extensions import SchemaExtension

    seen = []

    def make(name, on_error=None):
        class Hook(SchemaExtension):
            def on_operation(self):
                seen.append(f"enter {name}")
                try:
                    yield
                except Exception as exc:
                    seen.append(f"{name} saw {exc}")
                    if on_error == "raise other":
                        raise KeyError(name) from exc
                    if on_error != "suppress":
                        raise
                seen.append(f"leave {name}")

        return Hook()

    with _stage(make("a"), make("b")):
        seen.append("body")
    assert seen == ["enter a", "enter b", "body", "leave b", "leave a"]

    seen.clear()
    with pytest.raises(ValueError, match="boom"), _stage(make("a"), make("b")):
        raise ValueError("boom")
    assert seen == ["enter a", "enter b", "b saw boom", "a saw boom"]

    seen.clear()
    with _stage(make("a"), make("b", "suppress")):
        raise ValueError("boom")
    assert seen == ["enter a", "enter b", "b saw boom", "leave b", "leave a"]

    seen.clear()
    with pytest.raises(KeyError), _stage(make("a"), make("b", "raise other")):
        raise ValueError("boom")
    assert seen == ["enter a", "enter b", "b saw boom", "a saw 'b'"]

    seen.clear()
    with _stage(make("a", "suppress"), make("b", "raise other")):
        raise ValueError("boom")
    assert seen == ["enter a", "enter b", "b saw boom", "a saw 'b'", "leave a"]


def test_an_async_hook_uses_strawberrys_own_stage():
    from strawberry.extensions import SchemaExtension
    from strawberry.extensions.context import OperationContextManager

    class AsyncHook(SchemaExtension):
        async def on_operation(self):
            yield

    assert isinstance(_stage(AsyncHook()), OperationContextManager)
