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


def test_the_commands_turn_it_on_unless_told_otherwise(monkeypatch):
    assert PROCESS_GC_ENV == {"OM_GRAPH_GC_FREEZE": "true", "OM_GRAPH_GC_THRESHOLD": "50000"}
    for name, value in PROCESS_GC_ENV.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.gc_freeze and settings.gc_threshold == 50000
