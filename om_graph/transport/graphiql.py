"""The GraphiQL page, with its scripts and styles served by om-graph itself from the package
(``om_graph/static/graphiql/``, vendored by ``om_graph/static/vendor-graphiql.sh``), so the IDE
works on a network that cannot reach a CDN. The page references no other host."""

from __future__ import annotations

import html
from functools import cache
from importlib import resources

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphiql-assets"


@cache
def _template() -> str:
    return resources.files("om_graph").joinpath("static/graphiql.html").read_text(encoding="utf-8")


def page(root_path: str = "") -> str:
    """The page's HTML; asset URLs are absolute paths on this server, below ``root_path`` when
    om-graph is mounted under a prefix."""
    return _template().replace("{{ASSETS}}", html.escape(root_path.rstrip("/") + ASSETS_PATH, quote=True))


def assets_mount() -> Mount:
    return Mount(ASSETS_PATH, app=StaticFiles(packages=[("om_graph", "static/graphiql")]), name="graphiql-assets")
