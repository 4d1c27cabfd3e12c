"""No state literal outside the tables: code names states through its machine's constants."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import om_graph
from om_graph.core.kernel.machine import StateMachine

ROOT = Path(om_graph.__file__).parent

# Strings equal to a state name that are not states (or cannot use the constants), with why.
ALLOWED = {
    ("cli.py", "active"): "an API token's status",
    ("cli.py", "revoked"): "an API token's status",
    ("core/catalog/models.py", "active"): "an offering's lifecycle status (not a machine)",
    ("core/catalog/sync.py", "active"): "an offering's lifecycle status (not a machine)",
    ("core/catalog/sync.py", "retired"): "an offering's lifecycle status (not the decision table version state)",
    # The stage column's default mirrors the migration's server default; ordering may not import lifecycle.
    ("core/ordering/models.py", "validation"): "the first stage (lifecycle.stages.STAGES.initial)",
    # The fallout queue's partial indexes name the open states; fallout_states imports the model, and
    # fulfilment/fallout.py asserts the two lists agree.
    **{
        ("core/fulfilment/models.py", state): "an open fallout state in the partial indexes' predicate"
        for state in ("open", "inProgress", "onHold", "awaitingInformation")
    },
    ("core/fulfilment/models.py", "cancelled"): "a decomposition wait's state (not a machine; states.py imports models)",
    # The open revision / cancellation request states of the one-at-a-time partial indexes;
    # change/states.py imports the models and asserts the lists equal the machines' open states.
    **{
        ("core/change/models.py", state): "an open revision or cancel request state in a partial index's predicate"
        for state in ("assessing", "pendingApproval", "inProgress", "acknowledged")
    },
    ("observability/endpoints.py", "ready"): "the readiness probe's answer",
    ("observability/graphql.py", "rejected"): "a request outcome label",
    ("observability/http.py", "rejected"): "a request outcome label",
    ("observability/metrics.py", "rejected"): "a request outcome label",
}


def _modules():
    for info in pkgutil.walk_packages([str(ROOT)], "om_graph."):
        # om_graph.worker.boot is the worker process's entry: importing it boots a runtime and its
        # background loops (which then outlive the test, logging into later ones).
        if ".migrations" in info.name or info.name.endswith("__main__") or info.name == "om_graph.worker.boot":
            continue
        try:
            yield importlib.import_module(info.name)
        except ImportError:  # optional extras (e.g. a broker client) not installed
            continue


def _machines_by_module():
    found: dict[str, list[StateMachine]] = {}
    for module in _modules():
        machines = [v for k, v in vars(module).items() if isinstance(v, StateMachine) and k.isupper()]
        if machines and module.__file__:
            found.setdefault(module.__file__, []).extend(machines)
    return found


def _string_constants(tree: ast.AST):
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


def test_no_state_literal_outside_the_machine_tables():
    by_module = _machines_by_module()
    # A module that defines a machine is a table; the others must use its constants.
    tables = {Path(path).resolve() for path in by_module}
    states = {s for machines in by_module.values() for m in machines for s in m.states}
    assert {"draft", "inProgress", "pending", "created", "approved", "revoked"} <= states  # the walk found the machines
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if path.resolve() in tables or rel.startswith("migrations/"):
            continue
        for node in _string_constants(ast.parse(path.read_text())):
            if node.value in states and (rel, node.value) not in ALLOWED:
                offenders.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert offenders == [], "state literals outside the tables (use the machine's constants):\n" + "\n".join(offenders)


def test_the_allowlist_has_no_stale_entries():
    present = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        present.update((rel, n.value) for n in _string_constants(ast.parse(path.read_text())))
    assert set(ALLOWED) <= present
