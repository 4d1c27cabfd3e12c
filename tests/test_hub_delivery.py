"""The hub's delivery engine (core/notification/hub.py) with fake ports, on SQLite and
PostgreSQL: fan-out exactly once (a runner that read a stale cursor writes nothing), only the
earliest open delivery of a listener and order is due, a dead one blocks its order (not others)
until retried, and skipping lets the order go on."""

from __future__ import annotations

import pytest

from om_graph.core.access.actor import SYSTEM_ACTOR, Actor
from om_graph.core.kernel.db import make_engine, make_session_factory
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.events import ORDER_CREATE, ORDER_STATE_CHANGE
from om_graph.core.notification import hub as hub_module
from om_graph.core.notification import ports
from om_graph.core.notification.hub import HubService
from om_graph.core.notification.ports import HubSettings
from om_graph.core.notification.states import DeliveryStates
from om_graph.core.services import Services
from om_graph.migrations import upgrade
from om_graph.plugins.manager import build_plugin_manager, collect_registry
from om_graph.tmf.tmf622.order_mapping import to_order_input
from tests import fixture_auto_pack, fixture_pack
from tests.test_jeopardy import NullEventSink, RecordingJobSink
from tests.test_tmf_product_order import order_body

AGENT = Actor("partner", frozenset({"service_account"}))


@pytest.fixture
def services(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    registry = collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=[fixture_pack, fixture_auto_pack]))
    svc = Services(make_session_factory(engine), registry, RecordingJobSink(), NullEventSink())
    svc.load_catalog()
    svc.hub = HubService(svc.uow, HubSettings(max_attempts=2, backoff_seconds=0, backoff_cap_seconds=0))
    yield svc
    engine.dispose()


def render(events):
    return {e.id: {"eventId": str(e.id), "eventType": e.event_type, "order": e.order_id} for e in events}


class Port:
    def __init__(self):
        self.sent: list[dict] = []
        self.failing: set[int] = set()  # order ids whose deliveries fail

    def __call__(self, url, body, headers):
        import json

        event = json.loads(body)
        if event["order"] in self.failing:
            return 500
        self.sent.append(event)
        return 204


def submitted_order(services) -> int:
    data, _ = to_order_input(order_body(), None, None)
    return services.orders.create(AGENT, data, submit=True).id


def test_fan_out_is_exactly_once_and_a_stale_runner_writes_nothing(services):
    services.hub.register(AGENT, "http://127.0.0.1:9/x")
    [stale] = services.hub.listeners(SYSTEM_ACTOR)
    submitted_order(services)
    assert services.hub.fan_out(render) == 2  # create, acknowledged
    assert services.hub.fan_out(render) == 0
    with pytest.raises(hub_module._Moved):  # a runner that read the cursor before the first moved it
        services.hub._fan_out_listener(stale, render, {})
    assert len(services.hub.deliveries(SYSTEM_ACTOR)) == 2


def test_a_dead_delivery_blocks_only_its_order_until_retried(services):
    services.hub.register(AGENT, "http://127.0.0.1:9/x", query=f"eventType={ORDER_CREATE},{ORDER_STATE_CHANGE}")
    first, second = submitted_order(services), submitted_order(services)
    port = Port()
    port.failing = {first}
    for _ in range(3):
        services.hub.run_once(render, port)
    assert [(e["order"], e["eventType"]) for e in port.sent] == [(second, ORDER_CREATE), (second, ORDER_STATE_CHANGE)]
    [dead] = services.hub.deliveries(SYSTEM_ACTOR, states=[DeliveryStates.DEAD])
    assert (dead.order_id, dead.event_type, dead.attempts, dead.last_error) == (first, ORDER_CREATE, 2, "HTTP 500")
    [waiting] = services.hub.deliveries(SYSTEM_ACTOR, states=[DeliveryStates.PENDING])
    assert (waiting.order_id, waiting.attempts) == (first, 0)  # never tried: it waits behind the dead one
    assert services.hub.due() == []

    port.failing = set()
    services.hub.retry(SYSTEM_ACTOR, dead.id)
    services.hub.run_once(render, port)
    assert [(e["order"], e["eventType"]) for e in port.sent[2:]] == [(first, ORDER_CREATE), (first, ORDER_STATE_CHANGE)]


def test_skipping_a_dead_delivery_lets_its_order_go_on(services):
    services.hub.register(AGENT, "http://127.0.0.1:9/x")
    order = submitted_order(services)
    port = Port()
    port.failing = {order}
    services.hub.run_once(render, port)
    services.hub.run_once(render, port)
    [dead] = services.hub.deliveries(SYSTEM_ACTOR, states=[DeliveryStates.DEAD])
    port.failing = set()
    assert services.hub.skip(SYSTEM_ACTOR, dead.id).state == DeliveryStates.SKIPPED
    services.hub.run_once(render, port)
    assert [e["eventType"] for e in port.sent] == [ORDER_STATE_CHANGE]


def test_the_listener_query_is_checked():
    assert ports.parse_query("eventType=ProductOrderCreateEvent&eventType=ProductOrderDeleteEvent").event_types == (
        ORDER_CREATE,
        "ProductOrderDeleteEvent",
    )
    assert ports.parse_query("").event_types is None
    for bad in ("eventType=TaskStateChangeEvent", "state=completed", "eventType"):
        with pytest.raises(ValidationFailed):
            ports.parse_query(bad)
