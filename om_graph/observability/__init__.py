"""Operability: health and readiness, Prometheus metrics, OpenTelemetry tracing, structured logs.

Wired in by ``om_graph.app`` (server), ``om_graph.runtime`` (engine, broker) and the worker
entry module; ``docs/operations.md`` documents what each process exposes.
"""
