"""A product fulfilled by two automatic steps only (worker-kill test, benchmarks)."""

from om_graph.api import hookimpl
from tests.fixture_pack import AUTO_ONLY


@hookimpl
def om_register_catalog():
    return AUTO_ONLY
