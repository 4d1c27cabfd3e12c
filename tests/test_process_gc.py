"""The garbage-collector settings of long-running processes (issue 11): off for a library user or
a test, on for ``om-graph serve``/``worker`` unless the environment says otherwise."""

from __future__ import annotations

import gc

import pytest

from om_graph.runtime import PROCESS_GC_ENV, tune_gc
from om_graph.settings import Settings


@pytest.fixture
def restore_gc():
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_off_by_default_and_read_from_the_environment(monkeypatch):
    assert Settings.from_env().gc_freeze is False and Settings.from_env().gc_threshold is None
    monkeypatch.setenv("OM_GRAPH_GC_FREEZE", "true")
    monkeypatch.setenv("OM_GRAPH_GC_THRESHOLD", "50000")
    assert (Settings.from_env().gc_freeze, Settings.from_env().gc_threshold) == (True, 50000)
    monkeypatch.setenv("OM_GRAPH_GC_THRESHOLD", "0")  # 0: the interpreter's own
    assert Settings.from_env().gc_threshold is None


def test_tune_gc_sets_generation_zero_and_freezes_what_is_alive(restore_gc):
    _, second, third = gc.get_threshold()
    tune_gc(Settings(gc_threshold=12345, gc_freeze=True))
    assert gc.get_threshold() == (12345, second, third)
    assert gc.get_freeze_count() > 0


def _settings_serve_builds(monkeypatch, tmp_path) -> Settings:
    """The Settings ``om-graph serve`` builds its app with (uvicorn, logging and the app stubbed out)."""
    import uvicorn

    import om_graph.app
    import om_graph.observability.logs
    from om_graph import cli

    built: list[Settings] = []
    monkeypatch.setattr(om_graph.app, "create_app", lambda settings: built.append(settings))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    monkeypatch.setattr(om_graph.observability.logs, "configure_logging", lambda *a, **kw: None)
    monkeypatch.setenv("OM_GRAPH_DATABASE_URL", f"sqlite:///{tmp_path / 'om.db'}")
    assert cli.main(["serve"]) == 0
    return built[0]


def test_serve_turns_it_on_unless_the_environment_says_otherwise(monkeypatch, tmp_path):
    for name in PROCESS_GC_ENV:  # set, then removed: monkeypatch restores what serve's setdefault writes
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    settings = _settings_serve_builds(monkeypatch, tmp_path)
    assert (settings.gc_freeze, settings.gc_threshold) == (True, 50000)
    monkeypatch.setenv("OM_GRAPH_GC_FREEZE", "false")
    monkeypatch.setenv("OM_GRAPH_GC_THRESHOLD", "0")
    settings = _settings_serve_builds(monkeypatch, tmp_path)
    assert (settings.gc_freeze, settings.gc_threshold) == (False, None)
