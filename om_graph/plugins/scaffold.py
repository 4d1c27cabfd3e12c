"""``om-graph new-pack NAME``: writes a pack skeleton from the template in ``om_graph/templates/pack``.

Template files end in ``.tmpl`` (so linters leave them alone) and use ``string.Template``
placeholders: ``${name}`` (the distribution name), ``${module}`` (the import name, also the
entry point and the settings section) and ``${section}`` (the section in upper case). A path
segment ``__module__`` becomes the module name.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "pack"
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


def module_name(name: str) -> str:
    return name.replace("-", "_")


def render_pack(name: str, target: Path) -> list[Path]:
    """Write the skeleton of pack ``name`` into ``target`` (which must not exist or be empty)."""
    if not _NAME.match(name):
        raise ValueError(f"pack name {name!r}: use lower-case letters, digits and single dashes, starting with a letter")
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty")
    module = module_name(name)
    values = {"name": name, "module": module, "section": module.upper()}
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        path = target / Path(*(module if part == "__module__" else part for part in relative.parts))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(source.read_text()).substitute(values))
        written.append(path)
    return written
