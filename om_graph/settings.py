"""Configuration from the environment (OM_GRAPH_*). See the README's Configuration table."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import UnionType
from typing import Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints, overload


@overload
def _env(name: str) -> str | None: ...
@overload
def _env(name: str, default: str) -> str: ...
def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"OM_GRAPH_{name}")
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.lower() in ("1", "true", "yes", "on")


def _import_plugins(spec: str) -> tuple[object, ...]:
    """OM_GRAPH_PLUGINS: dotted module names registered as plugins without packaging them."""
    import importlib

    return tuple(importlib.import_module(name.strip()) for name in spec.split(",") if name.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./om_graph.db"
    redis_url: str | None = None
    redis_namespace: str = "om_graph"
    disabled_plugins: tuple[str, ...] = ()
    load_entrypoints: bool = True
    embedded_workers: bool | None = None
    worker_threads: int = 4
    task_lease_seconds: float = 60.0
    redispatch_after_seconds: float = 30.0
    reconcile_interval_seconds: float = 5.0
    # The jeopardy pass (core/fulfilment/jeopardy.py), run by the reconciler: open tasks read per
    # batch, orders written per transaction, and the least time between two full passes.
    jeopardy_batch: int = 500
    jeopardy_write_group: int = 5
    jeopardy_interval_seconds: float = 60.0
    retry_backoff_ms: int = 1000
    # The TMF622 event hub (core/notification/hub.py): how often a runner fans out and sends, the
    # attempts of a delivery before it is dead, the back-off between them (doubling, capped), a
    # POST's timeout, and the server's public URL that the events' hrefs start with.
    hub_interval_seconds: float = 2.0
    hub_max_attempts: int = 8
    hub_backoff_seconds: float = 2.0
    hub_backoff_cap_seconds: float = 600.0
    hub_timeout_seconds: float = 10.0
    hub_base_url: str = ""
    broker_heartbeat_ms: int = 5000
    auto_migrate: bool = True
    extra_plugins: tuple[object, ...] = field(default=(), compare=False)
    mode: str = "demo"  # "production" refuses demo credentials and closes introspection/GraphiQL
    introspection: bool | None = None
    graphiql: bool | None = None
    demo_tokens_file: str = "demo-tokens.json"
    token_cache_seconds: float = 10.0
    response_cache_mb: int = 32  # order-detail responses kept per server process; 0 turns the cache off
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_keys: str | None = None
    jwt_algorithms: tuple[str, ...] = ("RS256",)
    jwt_roles_claim: str = "roles"
    jwt_account_claim: str = "account_id"
    log_format: str = "text"  # "json": one JSON object per line (docs/operations.md, Logs)
    log_level: str = "info"
    metrics_token: str | None = None  # set: GET /metrics needs "Authorization: Bearer <token>"
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int | None = None  # om-graph worker --metrics-port: each process serves /metrics
    # Garbage collector of a long-running process (om-graph serve / worker turn these on; see
    # docs/operations.md, Sizing): freeze what start-up built, and the generation-0 threshold.
    gc_freeze: bool = False
    gc_threshold: int | None = None  # None: the interpreter's (700)

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def introspection_enabled(self) -> bool:
        return (not self.production) if self.introspection is None else self.introspection

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.production) if self.graphiql is None else self.graphiql

    @property
    def scaled(self) -> bool:
        return self.redis_url is not None

    @property
    def run_workers_in_process(self) -> bool:
        return (not self.scaled) if self.embedded_workers is None else self.embedded_workers

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        embedded = _env("EMBEDDED_WORKERS")
        metrics_port = _env("WORKER_METRICS_PORT")
        gc_threshold = _env("GC_THRESHOLD")
        settings = cls(
            database_url=_env("DATABASE_URL", cls.database_url),
            redis_url=_env("REDIS_URL"),
            redis_namespace=_env("REDIS_NAMESPACE", cls.redis_namespace),
            disabled_plugins=tuple(p.strip() for p in _env("DISABLED_PLUGINS", "").split(",") if p.strip()),
            embedded_workers=None if embedded is None else embedded.lower() in ("1", "true", "yes", "on"),
            worker_threads=int(_env("WORKER_THREADS", str(cls.worker_threads))),
            task_lease_seconds=float(_env("TASK_LEASE_SECONDS", str(cls.task_lease_seconds))),
            redispatch_after_seconds=float(_env("REDISPATCH_SECONDS", str(cls.redispatch_after_seconds))),
            reconcile_interval_seconds=float(_env("RECONCILE_INTERVAL", str(cls.reconcile_interval_seconds))),
            jeopardy_batch=int(_env("JEOPARDY_BATCH", str(cls.jeopardy_batch))),
            jeopardy_write_group=int(_env("JEOPARDY_WRITE_GROUP", str(cls.jeopardy_write_group))),
            jeopardy_interval_seconds=float(_env("JEOPARDY_INTERVAL", str(cls.jeopardy_interval_seconds))),
            retry_backoff_ms=int(_env("RETRY_BACKOFF_MS", str(cls.retry_backoff_ms))),
            hub_interval_seconds=float(_env("HUB_INTERVAL", str(cls.hub_interval_seconds))),
            hub_max_attempts=int(_env("HUB_MAX_ATTEMPTS", str(cls.hub_max_attempts))),
            hub_backoff_seconds=float(_env("HUB_BACKOFF_SECONDS", str(cls.hub_backoff_seconds))),
            hub_backoff_cap_seconds=float(_env("HUB_BACKOFF_CAP_SECONDS", str(cls.hub_backoff_cap_seconds))),
            hub_timeout_seconds=float(_env("HUB_TIMEOUT_SECONDS", str(cls.hub_timeout_seconds))),
            hub_base_url=_env("HUB_BASE_URL", cls.hub_base_url).rstrip("/"),
            broker_heartbeat_ms=int(_env("BROKER_HEARTBEAT_MS", str(cls.broker_heartbeat_ms))),
            auto_migrate=_bool("AUTO_MIGRATE", True),
            extra_plugins=_import_plugins(_env("PLUGINS", "")),
            mode=_env("MODE", cls.mode),
            introspection=None if _env("INTROSPECTION") is None else _bool("INTROSPECTION", False),
            graphiql=None if _env("GRAPHIQL") is None else _bool("GRAPHIQL", False),
            demo_tokens_file=_env("DEMO_TOKENS_FILE", cls.demo_tokens_file),
            token_cache_seconds=float(_env("TOKEN_CACHE_SECONDS", str(cls.token_cache_seconds))),
            response_cache_mb=int(_env("RESPONSE_CACHE_MB", str(cls.response_cache_mb))),
            jwt_issuer=_env("JWT_ISSUER"),
            jwt_audience=_env("JWT_AUDIENCE"),
            jwt_keys=_env("JWT_KEYS"),
            jwt_algorithms=tuple(a.strip() for a in _env("JWT_ALGORITHMS", "RS256").split(",") if a.strip()),
            jwt_roles_claim=_env("JWT_ROLES_CLAIM", cls.jwt_roles_claim),
            jwt_account_claim=_env("JWT_ACCOUNT_CLAIM", cls.jwt_account_claim),
            log_format=_env("LOG_FORMAT", cls.log_format).lower(),
            log_level=_env("LOG_LEVEL", cls.log_level),
            metrics_token=_env("METRICS_TOKEN"),
            worker_metrics_host=_env("WORKER_METRICS_HOST", cls.worker_metrics_host),
            worker_metrics_port=None if metrics_port is None else int(metrics_port),
            gc_freeze=_bool("GC_FREEZE", cls.gc_freeze),
            gc_threshold=None if gc_threshold in (None, "0") else int(gc_threshold),
        )
        settings = replace(settings, **overrides)
        if settings.mode not in ("demo", "production"):
            raise ValueError(f"OM_GRAPH_MODE must be demo or production, not {settings.mode!r}")
        if settings.log_format not in ("text", "json"):
            raise ValueError(f"OM_GRAPH_LOG_FORMAT must be text or json, not {settings.log_format!r}")
        return settings


# --- pack settings ---------------------------------------------------------------------------------

PACK_PREFIX = "OM_GRAPH_PACK_"


class PackSettings:
    """Base of a pack's settings: subclass it as a frozen dataclass and name its ``section``.

    Each field is read from ``OM_GRAPH_PACK_<SECTION>_<FIELD>`` (upper case); fields without a
    default are required. Supported types: str, int, float, bool, Decimal, tuple[str, ...]
    (comma-separated), and any of them ``| None``.
    """

    section: ClassVar[str]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The section read from ``environ`` (default: the process environment), validated:
        an unknown key, a value of the wrong type or a missing required field raises
        :class:`PackSettingsError` naming the variable."""
        environ = os.environ if environ is None else environ
        if not dataclasses.is_dataclass(cls) or not getattr(cls, "section", ""):
            raise PackSettingsError(f"{cls.__qualname__}: pack settings must be a dataclass with a section name")
        prefix = f"{PACK_PREFIX}{cls.section.upper()}_"
        fields = {f.name.upper(): f for f in dataclasses.fields(cls)}
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for variable, raw in environ.items():
            if not variable.startswith(prefix):
                continue
            key = variable[len(prefix) :]
            found = fields.get(key)
            if found is None:
                known = ", ".join(prefix + name for name in fields) or "none"
                raise PackSettingsError(f"{variable}: unknown setting of pack section {cls.section!r} (known: {known})")
            values[found.name] = _convert(variable, raw, hints[found.name])
        missing = [
            prefix + f.name.upper()
            for f in dataclasses.fields(cls)
            if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise PackSettingsError(f"pack section {cls.section!r}: required setting(s) {', '.join(missing)} not set")
        return cls(**values)


class PackSettingsError(ValueError):
    """A pack's settings section is invalid (raised at startup)."""


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _convert(variable: str, raw: str, hint: Any) -> Any:
    options = [a for a in get_args(hint) if a is not type(None)] if get_origin(hint) in (Union, UnionType) else [hint]
    if len(options) != 1:
        raise PackSettingsError(f"{variable}: unsupported setting type {hint!r}")
    kind = options[0]
    if raw == "" and len(get_args(hint)) > 1:
        return None
    try:
        if kind is bool:
            if raw.lower() not in _TRUE + _FALSE:
                raise ValueError
            return raw.lower() in _TRUE
        if kind in (str, int, float, Decimal):
            return kind(raw)
        if get_origin(kind) is tuple:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except (ValueError, ArithmeticError):
        raise PackSettingsError(f"{variable}: expected {getattr(kind, '__name__', kind)}, got {raw!r}") from None
    raise PackSettingsError(f"{variable}: unsupported setting type {hint!r}")
