"""Configuration from the environment (OM_GRAPH_*). See the README's Configuration table."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


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
    retry_backoff_ms: int = 1000
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
    def from_env(cls, **overrides) -> Settings:
        embedded = _env("EMBEDDED_WORKERS")
        values = dict(
            database_url=_env("DATABASE_URL", cls.database_url),
            redis_url=_env("REDIS_URL"),
            redis_namespace=_env("REDIS_NAMESPACE", cls.redis_namespace),
            disabled_plugins=tuple(p.strip() for p in (_env("DISABLED_PLUGINS", "") or "").split(",") if p.strip()),
            embedded_workers=None if embedded is None else embedded.lower() in ("1", "true", "yes", "on"),
            worker_threads=int(_env("WORKER_THREADS", str(cls.worker_threads))),
            task_lease_seconds=float(_env("TASK_LEASE_SECONDS", str(cls.task_lease_seconds))),
            redispatch_after_seconds=float(_env("REDISPATCH_SECONDS", str(cls.redispatch_after_seconds))),
            reconcile_interval_seconds=float(_env("RECONCILE_INTERVAL", str(cls.reconcile_interval_seconds))),
            retry_backoff_ms=int(_env("RETRY_BACKOFF_MS", str(cls.retry_backoff_ms))),
            broker_heartbeat_ms=int(_env("BROKER_HEARTBEAT_MS", str(cls.broker_heartbeat_ms))),
            auto_migrate=_bool("AUTO_MIGRATE", True),
            extra_plugins=_import_plugins(_env("PLUGINS", "") or ""),
            mode=_env("MODE", cls.mode),
            introspection=None if _env("INTROSPECTION") is None else _bool("INTROSPECTION", False),
            graphiql=None if _env("GRAPHIQL") is None else _bool("GRAPHIQL", False),
            demo_tokens_file=_env("DEMO_TOKENS_FILE", cls.demo_tokens_file),
            token_cache_seconds=float(_env("TOKEN_CACHE_SECONDS", str(cls.token_cache_seconds))),
            response_cache_mb=int(_env("RESPONSE_CACHE_MB", str(cls.response_cache_mb))),
            jwt_issuer=_env("JWT_ISSUER"),
            jwt_audience=_env("JWT_AUDIENCE"),
            jwt_keys=_env("JWT_KEYS"),
            jwt_algorithms=tuple(a.strip() for a in (_env("JWT_ALGORITHMS", "RS256") or "").split(",") if a.strip()),
            jwt_roles_claim=_env("JWT_ROLES_CLAIM", cls.jwt_roles_claim),
            jwt_account_claim=_env("JWT_ACCOUNT_CLAIM", cls.jwt_account_claim),
            log_format=(_env("LOG_FORMAT", cls.log_format) or "").lower(),
            log_level=_env("LOG_LEVEL", cls.log_level),
            metrics_token=_env("METRICS_TOKEN"),
            worker_metrics_host=_env("WORKER_METRICS_HOST", cls.worker_metrics_host),
            worker_metrics_port=None if _env("WORKER_METRICS_PORT") is None else int(_env("WORKER_METRICS_PORT")),
        )
        values.update(overrides)
        if values["mode"] not in ("demo", "production"):
            raise ValueError(f"OM_GRAPH_MODE must be demo or production, not {values['mode']!r}")
        if values["log_format"] not in ("text", "json"):
            raise ValueError(f"OM_GRAPH_LOG_FORMAT must be text or json, not {values['log_format']!r}")
        return cls(**values)
