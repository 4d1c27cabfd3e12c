"""Typed error codes: each context's enum, their union in the GraphQL schema, and the codes the
code base actually raises."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

from om_graph.core.kernel.errors import DomainError, FieldError, NotFound, ValidationFailed
from om_graph.schema import build_schema
from om_graph.schema.errors import ERROR_CODES
from om_graph.transport.errors import CODES

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("om_graph",)
# Pack-side code: the simulated-system helpers packs call give codes of the pack's own.
PACK_SIDE = ("om_graph/plugins/simulated.py",)
KNOWN = {member.value for enum in ERROR_CODES for member in enum}


def _raised_codes() -> list[tuple[str, str, bool]]:
    """(code, where, is_literal) for every code given as ``code=…`` to a call, as the third
    argument of ``ValidationFailed.single``, ``FieldError`` or a state machine's ``Guard``, as an
    exception class's ``code``, or as the ``"code"`` of a dict literal (GraphQL error extensions,
    HTTP error bodies)."""
    found = []
    for path in sorted(p for d in SCANNED for p in (ROOT / d).rglob("*.py") if str(p.relative_to(ROOT)) not in PACK_SIDE):
        tree = ast.parse(path.read_text(), str(path))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            given: list[ast.expr] = []
            if isinstance(node, ast.Call):
                given += [kw.value for kw in node.keywords if kw.arg == "code"]
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name in ("single", "FieldError", "Guard") and len(node.args) >= 3:
                    given.append(node.args[2])
            elif isinstance(node, ast.Dict):
                given += [v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and k.value == "code"]
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    targets = (
                        stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
                    )
                    if any(isinstance(t, ast.Name) and t.id == "code" for t in targets) and stmt.value is not None:
                        given.append(stmt.value)
            for value in given:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.append((value.value, f"{where}:{value.lineno}", True))
                elif (
                    isinstance(value, ast.Attribute)
                    and isinstance(value.value, ast.Name)
                    and value.value.id.endswith("ErrorCode")
                ):
                    found.append((value.attr, f"{where}:{value.lineno}", False))
    return found


def test_the_scan_sees_the_codes_raised():
    codes = {code for code, _, _ in _raised_codes()}
    # One from each way a code is given: a class attribute, code=, the third argument of single,
    # FieldError and Guard.
    assert {"UNAUTHENTICATED", "HANDLER_ERROR", "CURRENCY_MISMATCH", "UNKNOWN_OFFERING", "NOT_DRAFT"} <= codes
    # And a dict's "code": GraphQL error extensions, the transport's own error bodies.
    assert {"RESUME_REQUIRED", "PAYLOAD_TOO_LARGE", "INTERNAL_SERVER_ERROR", "FORBIDDEN"} <= codes


def test_the_transport_answers_with_codes_of_the_enums():
    assert {code.value for code in CODES.values()} <= KNOWN


def test_every_code_raised_in_core_and_schema_is_a_member_of_a_contexts_enum():
    unknown = sorted({f"{code} ({where})" for code, where, _ in _raised_codes() if code not in KNOWN})
    assert not unknown, f"codes missing from the contexts' error_codes enums: {unknown}"


LITERAL_ALLOWED: set[tuple[str, str]] = set()  # none: every code is an enum member


def test_codes_are_given_as_enum_members_not_string_literals():
    literals = sorted(
        f"{code} ({where})"
        for code, where, literal in _raised_codes()
        if literal and (where.split(":")[0], code) not in LITERAL_ALLOWED
    )
    assert not literals, f"{len(literals)} codes given as string literals: {literals}"


def test_no_code_is_in_two_contexts_enums():
    names = [member.name for enum in ERROR_CODES for member in enum]
    assert len(names) == len(set(names))


def test_the_graphql_error_code_enum_is_the_union_of_the_contexts_enums():
    enum = build_schema()._schema.type_map["ErrorCode"]
    assert set(enum.values) == {member.name for enum_ in ERROR_CODES for member in enum_}
    assert {name: value.value for name, value in enum.values.items()} == {m.name: m.value for e in ERROR_CODES for m in e}


def test_an_enum_code_is_the_string_clients_see():
    code = next(iter(ERROR_CODES[0]))
    assert issubclass(type(code), StrEnum) and code == code.value
    assert FieldError("f", "m", code).code == code.value
    assert ValidationFailed.single("f", "m", code).errors[0].code == code.value
    assert DomainError("m", code=code).code == code.value
    assert NotFound("m").errors[0].code == "NOT_FOUND"
