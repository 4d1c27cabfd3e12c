"""The direction of imports: the core imports no outer layer, contexts import only the contexts
declared before them (``om_graph.core.CONTEXTS``), and the kernel imports no context."""

from __future__ import annotations

import ast
import pathlib

import om_graph.core
from om_graph.core import CONTEXTS

CORE = pathlib.Path(om_graph.core.__file__).parent
TOP_LEVEL = {"models.py", "services.py", "__init__.py"}  # the aggregate, the wiring, the declaration


def _imports(path: pathlib.Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):  # function-level and TYPE_CHECKING imports count too
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if node.module == "om_graph.core"]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name == "om_graph" or name.startswith("om_graph.")]


def _context_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["om_graph", "core"] else None


def test_every_core_package_is_a_declared_context_with_a_docstring():
    packages = {p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(CONTEXTS)
    for name in CONTEXTS:
        assert ast.get_docstring(ast.parse((CORE / name / "__init__.py").read_text())), f"{name} says what it owns"
    assert {p.name for p in CORE.glob("*.py")} == TOP_LEVEL


def test_core_imports_only_core_and_contexts_only_earlier_contexts():
    wrong = []
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(CORE)
        own = relative.parts[0] if len(relative.parts) > 1 else None
        for line, module in _imports(path):
            where = f"core/{relative}:{line} imports {module}"
            target = _context_of(module)
            if not module.startswith("om_graph.core"):
                wrong.append(f"{where} (the core imports no outer layer)")
            elif own is None or target is None or target == own:
                continue
            elif target not in CONTEXTS:
                wrong.append(f"{where} (top-level core modules are for the outer layers only)")
            elif CONTEXTS.index(target) > CONTEXTS.index(own):
                wrong.append(f"{where} ({own} comes before {target})")
    assert not wrong, "\n".join(wrong)


def _imports_rollup(path: pathlib.Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("om_graph.core.fulfilment.rollup") or (
                node.module == "om_graph.core.fulfilment" and any(a.name == "rollup" for a in node.names)
            ):
                return True
        elif isinstance(node, ast.Import) and any(a.name.startswith("om_graph.core.fulfilment.rollup") for a in node.names):
            return True
    return False


def test_only_the_plan_session_runs_the_roll_up():
    """Nobody rolls up by hand: the plan session runs it once, when it closes."""
    root = CORE.parent
    importers = [path.relative_to(root).as_posix() for path in sorted(root.rglob("*.py")) if _imports_rollup(path)]
    assert importers == ["core/fulfilment/session.py"]


OUTER_LIBRARIES = {"strawberry", "starlette", "dramatiq", "redis", "uvicorn"}


def test_the_core_imports_no_web_or_broker_library():
    wrong = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            wrong += [
                f"core/{path.relative_to(CORE)}:{node.lineno} imports {n}" for n in names if n.split(".")[0] in OUTER_LIBRARIES
            ]
    assert not wrong, "\n".join(wrong)
