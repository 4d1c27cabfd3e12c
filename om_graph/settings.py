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
        )
        values.update(overrides)
        return cls(**values)
