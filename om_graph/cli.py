"""The ``om-graph`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _serve(args) -> int:
    import uvicorn

    from om_graph.app import create_app
    from om_graph.settings import Settings

    settings = Settings.from_env()
    print(
        f"om-graph: {'scaled' if settings.scaled else 'embedded'} mode, database {settings.database_url}, "
        f"GraphQL at http://{args.host}:{args.port}/graphql",
        flush=True,
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _worker(args) -> int:
    """Run dramatiq worker processes consuming the Redis queue (scaled mode)."""
    if not os.environ.get("OM_GRAPH_REDIS_URL"):
        print("om-graph worker needs OM_GRAPH_REDIS_URL (embedded mode runs workers inside the server)", file=sys.stderr)
        return 2
    cmd = [
        sys.executable, "-m", "dramatiq", "om_graph.worker.boot",
        "--processes", str(args.processes), "--threads", str(args.threads),
    ]
    os.execv(sys.executable, cmd)
    return 0  # not reached


def _db_upgrade(_args) -> int:
    from om_graph.core.db import make_engine
    from om_graph.migrations import upgrade
    from om_graph.settings import Settings

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    print(f"database at head: {settings.database_url}")
    return 0


def _export_schema(args) -> int:
    from om_graph.schema import build_schema

    text = str(build_schema()) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _plugins(args) -> int:
    from om_graph.plugins.manager import build_plugin_manager, collect_registry, describe_plugins
    from om_graph.settings import Settings

    settings = Settings.from_env()
    pm = build_plugin_manager(blocked=settings.disabled_plugins)
    rows = describe_plugins(pm)
    registry = collect_registry(pm)
    if args.json:
        print(json.dumps({"plugins": rows, "offerings": sorted(registry.offerings)}, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']}  ({row['distribution']})")
        for hook in row["hooks"]:
            print(f"    {hook}")
    print(f"{len(registry.offerings)} offerings, {len(registry.specifications)} specifications, "
          f"{len(registry.handlers)} task handlers")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="om-graph", description="Order management backend.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server (uvicorn)")
    serve.add_argument("--host", default=os.environ.get("OM_GRAPH_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("OM_GRAPH_PORT", "8000")))
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="run dramatiq worker processes (scaled mode)")
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=4)
    worker.set_defaults(func=_worker)
    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations up to head").set_defaults(func=_db_upgrade)
    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o")
    export.set_defaults(func=_export_schema)
    plugins = sub.add_parser("plugins", help="installed packs and the hooks they implement")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=_plugins)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
