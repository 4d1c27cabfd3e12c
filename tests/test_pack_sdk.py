"""The pack SDK: om_graph.api is the one module packs import, typed pack settings, and the
skeleton from ``om-graph new-pack`` and the docs' minimal pack install, register and pass their
own tests with the om_graph.testing fixtures."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

import om_graph.api as api
from om_graph.api import Pack, PackSettings, PluginConfigurationError, hookimpl
from om_graph.plugins.manager import build_plugin_manager, collect_registry, pack_settings
from om_graph.plugins.scaffold import render_pack

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
CORE_MODULES = ("om_graph/core/catalog/definitions.py", "om_graph/core/catalog/extensions.py")


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def _om_graph_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "om_graph"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "om_graph":
            found |= {f"{node.module}.{a.name}" if node.module == "om_graph" else node.module for a in node.names}
    return found


def docs_files() -> dict[str, str]:
    """The minimal pack's files: each ``<!-- file: path -->`` line and the fenced block after it."""
    return dict(re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", DOCS.read_text(), flags=re.S))


def _allowed(path: Path, imported: set[str]) -> set[str]:
    allowed = {"om_graph.api"} | ({"om_graph.testing"} if "tests" in path.parts else set())
    return imported - allowed


@pytest.mark.parametrize("module", CORE_MODULES)
def test_api_exports_every_public_name_of_the_core_definitions(module):
    missing = sorted(_top_level_names(ROOT / module) - set(api.__all__))
    assert not missing, f"om_graph.api lacks {missing} (public in {module})"
    assert all(hasattr(api, name) for name in api.__all__)


def test_shipped_packs_skeleton_and_docs_pack_import_only_the_api(tmp_path):
    render_pack("scan-pack", tmp_path / "skeleton")
    for name, text in docs_files().items():
        (tmp_path / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / name).write_text(text)
    sources = [
        *(ROOT / "plugins_tsm").rglob("*.py"),
        *(ROOT / "plugins_tpsm").rglob("*.py"),
        *(ROOT / "tests" / f"fixture_{name}pack.py" for name in ("", "auto_", "hang_")),
        *tmp_path.rglob("*.py"),
    ]
    assert len(sources) > 30
    offenders = {str(p): sorted(bad) for p in sources if (bad := _allowed(p, _om_graph_imports(p)))}
    assert not offenders


# --- settings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaSettings(PackSettings):
    section = "alpha"
    word: str = "hi"
    retries: int = 2
    fast: bool = False


@dataclass(frozen=True)
class BetaSettings(PackSettings):
    section = "beta"
    limit: float  # required


class SettingsPack(Pack):
    @hookimpl
    def om_register_task_handlers(self, settings):
        return [api.TaskHandler(f"{self.name}.h", do=lambda ctx: None, max_attempts=getattr(settings, "retries", 1))]


ALPHA = SettingsPack(name="alpha", settings=AlphaSettings)
BETA = SettingsPack(name="beta", settings=BetaSettings)


def _pm(*plugins, **env):
    return build_plugin_manager(load_entrypoints=False, extra_plugins=plugins, environ=env)


def test_each_pack_gets_its_own_settings_from_its_section():
    pm = _pm(ALPHA, BETA, OM_GRAPH_PACK_ALPHA_RETRIES="5", OM_GRAPH_PACK_ALPHA_FAST="yes", OM_GRAPH_PACK_BETA_LIMIT="1.5")
    assert pack_settings(pm) == {"pack:alpha": AlphaSettings(retries=5, fast=True), "pack:beta": BetaSettings(limit=1.5)}
    handlers = collect_registry(pm).handlers
    assert handlers["alpha.h"].max_attempts == 5 and handlers["beta.h"].max_attempts == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OM_GRAPH_PACK_ALPHA_RETRYS": "5", "OM_GRAPH_PACK_BETA_LIMIT": "1"}, "OM_GRAPH_PACK_ALPHA_RETRYS: unknown setting"),
        (
            {"OM_GRAPH_PACK_ALPHA_RETRIES": "many", "OM_GRAPH_PACK_BETA_LIMIT": "1"},
            "OM_GRAPH_PACK_ALPHA_RETRIES: expected int, got 'many'",
        ),
        ({"OM_GRAPH_PACK_ALPHA_FAST": "perhaps", "OM_GRAPH_PACK_BETA_LIMIT": "1"}, "OM_GRAPH_PACK_ALPHA_FAST: expected bool"),
        ({"OM_GRAPH_PACK_BETA_LIMIT": "wide"}, "OM_GRAPH_PACK_BETA_LIMIT: expected float"),
        ({}, "required setting.*OM_GRAPH_PACK_BETA_LIMIT"),
    ],
)
def test_invalid_settings_stop_startup_naming_the_variable(env, message):
    with pytest.raises(PluginConfigurationError, match=message):
        _pm(ALPHA, BETA, **env)


def test_a_hook_naming_settings_needs_a_settings_class():
    with pytest.raises(PluginConfigurationError, match="takes settings but the pack declares none"):
        _pm(SettingsPack(name="bare"))


# --- skeleton and docs pack, installed into a fresh venv ----------------------------------------


def _venv(tmp_path: Path) -> Path:
    """A venv that sees this interpreter's packages (om-graph and its dependencies), no network."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    )
    host = sysconfig.get_paths()["purelib"]
    (Path(site.stdout.strip()) / "om_graph_host.pth").write_text(f"import site; site.addsitedir({host!r})\n")
    return python


def _install_register_and_test(python: Path, project: Path, entry_point: str) -> None:
    """Install the pack with its test extra and its dependencies resolved (no index: om-graph and the
    testing extra's packages come from this environment, so a range om-graph does not meet fails)."""
    run = dict(capture_output=True, text=True, timeout=300)
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-build-isolation", "-e", f"{project}[test]"], env=offline, **run
    )
    output = installed.stdout + installed.stderr
    assert installed.returncode == 0, output
    assert "Requirement already satisfied: om-graph" in output, output
    assert re.search(r"Requirement already satisfied: httpx\S* .*\(from om-graph", output), output  # the testing extra
    assert "does not provide the extra" not in output, output
    assert re.search(r"^Installing collected packages: [\w-]+$", output, flags=re.M), output  # the pack alone
    listed = subprocess.run([python, "-m", "om_graph.cli", "plugins", "--json"], **run)
    assert listed.returncode == 0, listed.stderr
    assert entry_point in listed.stdout
    tested = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, **run)
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
    assert " passed" in tested.stdout


@pytest.mark.slow
def test_new_pack_skeleton_installs_registers_and_passes_its_tests(tmp_path):
    created = subprocess.run(
        [sys.executable, "-m", "om_graph.cli", "new-pack", "acme-widgets", "--directory", str(tmp_path / "acme-widgets")],
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    pyproject = (tmp_path / "acme-widgets" / "pyproject.toml").read_text()
    assert 'dependencies = ["om-graph>=0.1,<0.2"]' in pyproject and "[project.entry-points.om_graph]" in pyproject
    assert 'test = ["om-graph[testing]>=0.1,<0.2"]' in pyproject
    _install_register_and_test(_venv(tmp_path), tmp_path / "acme-widgets", '"name": "acme_widgets"')


@pytest.mark.slow
def test_the_docs_minimal_pack_builds_and_passes(tmp_path):
    files = docs_files()
    assert {"pyproject.toml", "src/hello_pack/plugin.py", "tests/test_hello.py"} <= set(files)
    for name, text in files.items():
        (tmp_path / "hello-pack" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "hello-pack" / name).write_text(text)
    _install_register_and_test(_venv(tmp_path), tmp_path / "hello-pack", '"name": "hello"')
