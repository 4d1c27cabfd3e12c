"""The ``om-graph`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _serve(args) -> int:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from om_graph.app import create_app
    from om_graph.observability.logs import configure_logging
    from om_graph.runtime import PROCESS_GC_ENV
    from om_graph.schema.limits import MAX_BODY_BYTES
    from om_graph.settings import Settings

    for name, value in PROCESS_GC_ENV.items():
        os.environ.setdefault(name, value)
    settings = Settings.from_env()
    configure_logging(settings.log_format, args.log_level)
    print(
        f"om-graph: {settings.mode} mode, {'scaled' if settings.scaled else 'embedded'}, database {settings.database_url}, "
        f"GraphQL at http://{args.host}:{args.port}/graphql",
        flush=True,
    )
    # JSON: uvicorn's loggers propagate to the root's JSON handler instead of its own text config.
    log_config = LOGGING_CONFIG if settings.log_format == "text" else None
    # A websocket message is held to the same bound as an HTTP body (uvicorn's default is 16 MiB).
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
        ws_max_size=MAX_BODY_BYTES,
    )
    return 0


def _worker(args) -> int:
    """Run dramatiq worker processes consuming the Redis queue (scaled mode)."""
    if not os.environ.get("OM_GRAPH_REDIS_URL"):
        print("om-graph worker needs OM_GRAPH_REDIS_URL (embedded mode runs workers inside the server)", file=sys.stderr)
        return 2
    from om_graph.runtime import PROCESS_GC_ENV
    from om_graph.worker.broker import WORKER_ENV

    for name, value in {**WORKER_ENV, **PROCESS_GC_ENV}.items():
        os.environ.setdefault(name, value)
    if args.metrics_port:  # read by each worker process's Settings
        os.environ["OM_GRAPH_WORKER_METRICS_PORT"] = str(args.metrics_port)
        os.environ["OM_GRAPH_WORKER_METRICS_HOST"] = args.metrics_host
    cmd = [
        sys.executable,
        "-m",
        "dramatiq",
        "om_graph.worker.boot",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
    ]
    os.execv(sys.executable, cmd)
    return 0  # not reached


def _db_upgrade(_args) -> int:
    from om_graph.core.kernel.db import make_engine
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
    from om_graph.plugins.manager import (
        build_plugin_manager,
        collect_registry,
        describe_plugins,
    )
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
    print(
        f"{len(registry.offerings)} offerings, {len(registry.specifications)} specifications, "
        f"{len(registry.handlers)} task handlers"
    )
    return 0


def _new_pack(args) -> int:
    from om_graph.plugins.scaffold import render_pack

    target = Path(args.directory or args.name)
    try:
        written = render_pack(args.name, target)
    except (ValueError, FileExistsError) as exc:
        print(f"om-graph new-pack: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    print(f"next: pip install -e '{target}[test]' && om-graph plugins && (cd {target} && pytest)")
    return 0


def _import(args) -> int:
    from om_graph.core.access.actor import Actor
    from om_graph.core.kernel.ports import NullJobSink
    from om_graph.runtime import Runtime
    from om_graph.settings import Settings
    from om_graph.tmf.bulk_import import Importer

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    # Embedded mode: no worker runs in this process, so its jobs are not kept (in memory, for
    # nobody): the server's reconciler dispatches the imported orders. Scaled: they go to Redis.
    runtime = Runtime(settings, jobs=NullJobSink() if settings.redis_url is None else None)
    runtime.prepare_database()
    actor = Actor(f"import:{args.partner}", frozenset({"service_account"}))
    report = Path(args.report) if args.report else path.with_name(path.name + ".report.jsonl")
    summary = Importer(runtime.services, actor, dry_run=args.dry_run).run(path, report, progress=not args.quiet)
    for line in summary.lines(args.dry_run):
        print(line)
    return 1 if summary.failed else 0


def _tokens():
    from functools import partial

    from om_graph.core.access.auth import TokenService
    from om_graph.core.kernel.db import make_engine, make_session_factory
    from om_graph.core.kernel.ports import NullEventSink, NullJobSink
    from om_graph.core.kernel.uow import UnitOfWork
    from om_graph.migrations import upgrade
    from om_graph.settings import Settings

    engine = make_engine(Settings.from_env().database_url)
    upgrade(engine)
    return TokenService(partial(UnitOfWork, make_session_factory(engine), NullJobSink(), NullEventSink()))


def _token_create(args) -> int:
    from datetime import timedelta

    from om_graph.core.kernel.errors import ValidationFailed

    try:
        issued = _tokens().issue(
            args.subject,
            args.role,
            account_id=args.account,
            name=args.name or "",
            expires_in=timedelta(days=args.expires_days) if args.expires_days > 0 else None,
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            print(f"error: {error.field}: {error.message}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "id": issued.id,
                "token": issued.token,
                "subject": issued.subject,
                "roles": issued.roles,
                "accountId": issued.account_id,
                "expiresAt": issued.expires_at.isoformat() if issued.expires_at else None,
            },
            indent=2,
        )
    )
    print("store the token now: only its hash is kept", file=sys.stderr)
    return 0


def _token_list(_args) -> int:
    for row in _tokens().list():
        state = "revoked" if row.revoked_at else "active"
        print(
            f"{row.id:5}  {row.prefix}…  {row.subject:30} {','.join(row.roles):40} account={row.account_id or '-':16} "
            f"expires={row.expires_at or 'never'}  {state}{'  DEMO' if row.demo else ''}"
        )
    return 0


def _token_revoke(args) -> int:
    tokens = _tokens()
    ids = [row.id for row in tokens.list() if row.demo and not row.revoked_at] if args.demo else args.ids
    revoked = [i for i in ids if tokens.revoke(i)]
    print(f"revoked {len(revoked)} token(s): {revoked}")
    return 0 if revoked or args.demo else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="om-graph", description="Order management backend.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server (uvicorn)")
    serve.add_argument("--host", default=os.environ.get("OM_GRAPH_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("OM_GRAPH_PORT", "8000")))
    serve.add_argument("--log-level", default=os.environ.get("OM_GRAPH_LOG_LEVEL", "info"))
    serve.set_defaults(func=_serve)
    worker = sub.add_parser("worker", help="run dramatiq worker processes (scaled mode)")
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=4)
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("OM_GRAPH_WORKER_METRICS_PORT") or 0),
        help="serve each worker process's Prometheus metrics from this port on (P, P+1, …)",
    )
    worker.add_argument("--metrics-host", default=os.environ.get("OM_GRAPH_WORKER_METRICS_HOST", "127.0.0.1"))
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
    new_pack = sub.add_parser("new-pack", help="write a working pack skeleton (pyproject, plugin, a test)")
    new_pack.add_argument("name", help="the distribution name, e.g. acme-fibre (module acme_fibre)")
    new_pack.add_argument("--directory", help="where to write it (default: ./NAME)")
    new_pack.set_defaults(func=_new_pack)
    imports = sub.add_parser("import", help="import orders: TMF622 JSON lines or a CSV of order lines (resumable)")
    imports.add_argument("file", help="a .jsonl (one TMF622 ProductOrder per line) or .csv (one order line per row)")
    imports.add_argument("--partner", default="import", help="whose externalIds these are (a partner's token subject)")
    imports.add_argument("--dry-run", action="store_true", help="validate and price every order, write nothing")
    imports.add_argument("--report", help="where the bad records go (default: FILE.report.jsonl)")
    imports.add_argument("--quiet", action="store_true", help="no progress bar")
    imports.set_defaults(func=_import)
    token = sub.add_parser("token", help="API tokens: create, list, revoke")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="issue a token (printed once)")
    create.add_argument("--subject", required=True, help="who the token is for (user or integration name)")
    create.add_argument("--role", action="append", required=True, help="a role; repeat for several")
    create.add_argument("--account", help="customer account (customer tokens)")
    create.add_argument("--name", help="a label")
    create.add_argument("--expires-days", type=int, default=90, help="0 for no expiry")
    create.set_defaults(func=_token_create)
    token_sub.add_parser("list", help="list tokens (never the secrets)").set_defaults(func=_token_list)
    revoke = token_sub.add_parser("revoke", help="revoke tokens by id, or every demo token")
    revoke.add_argument("ids", nargs="*", type=int)
    revoke.add_argument("--demo", action="store_true")
    revoke.set_defaults(func=_token_revoke)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
