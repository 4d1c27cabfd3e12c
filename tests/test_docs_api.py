"""docs/api.md stays true to the schema: every ```graphql example is a valid operation, the
examples cover every root field, and example variables are JSON the operation accepts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values

from om_graph.schema import build_schema

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    previous: Block | None  # the fenced block before this one
    gap: str  # the markdown between the previous block's closing fence and this opening fence

    @property
    def follows_graphql(self) -> bool:
        return self.previous is not None and self.previous.lang == "graphql" and not self.gap.strip()

    def describe(self) -> str:
        return f"docs/api.md line {self.line} (```{self.lang}):\n{self.text}"


def read_blocks(markdown: str) -> list[Block]:
    """Fenced code blocks in document order (``` or longer fences, language from the info string)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    gap: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            gap.append(lines[i])
            i += 1
            continue
        fence, start = opening["fence"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and not re.match(rf"^[ \t]*{fence}`*[ \t]*$", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence (or the end of the file)
        info = opening["info"].strip().split()
        blocks.append(
            Block(
                lang=info[0].lower() if info else "",
                text="\n".join(body),
                line=start + 1,
                previous=blocks[-1] if blocks else None,
                gap="\n".join(gap),
            )
        )
        gap = []
    return blocks


BLOCKS = read_blocks(DOC.read_text(encoding="utf-8")) if DOC.exists() else []
GRAPHQL = [b for b in BLOCKS if b.lang == "graphql"]
VARIABLES = [b for b in BLOCKS if b.lang == "json" and b.follows_graphql]


def _ids(blocks: list[Block]) -> list[str]:
    return [f"line-{b.line}" for b in blocks]


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def parse_valid(block: Block, schema: GraphQLSchema) -> DocumentNode:
    try:
        document = parse(block.text)
    except Exception as exc:  # GraphQLSyntaxError
        pytest.fail(f"{exc}\nin {block.describe()}", pytrace=False)
    errors = validate(schema, document)
    if errors:
        messages = "\n".join(f"- {e.message}" for e in errors)
        pytest.fail(f"invalid against the schema:\n{messages}\nin {block.describe()}", pytrace=False)
    return document


def test_doc_has_examples():
    assert DOC.exists(), f"{DOC} is missing"
    assert GRAPHQL, "docs/api.md has no ```graphql blocks"


@pytest.mark.parametrize("block", GRAPHQL, ids=_ids(GRAPHQL))
def test_graphql_example_is_valid(block, schema):
    parse_valid(block, schema)


def test_every_root_field_has_an_example(schema):
    roots = {t.name: t for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t is not None}
    used: set[tuple[str, str]] = set()
    type_info = TypeInfo(schema)

    class RootFields(Visitor):
        def enter_field(self, node, *_):
            parent = type_info.get_parent_type()
            if parent is not None and parent.name in roots:
                used.add((parent.name, node.name.value))

    for block in GRAPHQL:
        try:
            document = parse(block.text)
        except Exception:
            continue  # reported by test_graphql_example_is_valid
        visit(document, TypeInfoVisitor(type_info, RootFields()))
    missing = sorted(f"{root}.{name}" for root, t in roots.items() for name in t.fields if (root, name) not in used)
    assert not missing, f"root fields without an example in docs/api.md: {', '.join(missing)}"


@pytest.mark.parametrize("block", VARIABLES, ids=_ids(VARIABLES))
def test_variables_are_json_the_operation_accepts(block, schema):
    try:
        variables = json.loads(block.text)
    except json.JSONDecodeError as exc:
        pytest.fail(f"not JSON: {exc}\nin {block.describe()}", pytrace=False)
    assert isinstance(variables, dict), f"variables must be a JSON object\nin {block.describe()}"
    operations = [d for d in parse_valid(block.previous, schema).definitions if isinstance(d, OperationDefinitionNode)]
    declared = {v.variable.name.value for op in operations for v in op.variable_definitions or ()}
    unknown = sorted(set(variables) - declared)
    assert not unknown, f"variables not declared by the operation: {unknown}\nin {block.describe()}"
    for op in operations:
        result = get_variable_values(schema, op.variable_definitions or (), variables)
        if isinstance(result, list):  # a list of GraphQLErrors
            messages = "\n".join(f"- {e.message}" for e in result)
            pytest.fail(f"variables rejected:\n{messages}\nin {block.describe()}", pytrace=False)


@pytest.mark.parametrize("block", GRAPHQL, ids=_ids(GRAPHQL))
def test_operation_with_variables_is_followed_by_them(block, schema):
    operations = [d for d in parse_valid(block, schema).definitions if isinstance(d, OperationDefinitionNode)]
    if any(op.variable_definitions for op in operations):
        assert any(v.previous is block for v in VARIABLES), (
            f"an operation with variables needs a ```json variables block right after it\nin {block.describe()}"
        )


def test_every_json_block_parses():
    bad = []
    for block in BLOCKS:
        if block.lang == "json":
            try:
                json.loads(block.text)
            except json.JSONDecodeError as exc:
                bad.append(f"{exc}\nin {block.describe()}")
    assert not bad, "\n\n".join(bad)
