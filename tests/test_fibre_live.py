"""A fibre broadband order through a real server: GraphQL over HTTP, events over a
graphql-transport-ws websocket, the on-site installation completed by a fulfilment agent,
inventory read back. Embedded (SQLite, in-process workers) and scaled (PostgreSQL, Redis,
a separate `om-graph worker` process)."""

from __future__ import annotations

import json
import threading

import pytest
from websockets.sync.client import connect

from tests import support

pytestmark = pytest.mark.slow

CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state lines { characteristics { name value } } } errors { field code message } }
}"""
SUBMIT = "mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { state } errors { code } } }"
DETAIL = """
query($id: ID!) {
  order(id: $id) {
    state
    lines { state characteristics { name value } }
    domainOrders { kind specKey state tasks { id key kind state } }
  }
}"""
COMPLETE = """
mutation($id: ID!) { taskComplete(input: {id: $id}) { task { state completedBy } errors { code message } } }"""
PRODUCTS = """
query($order: ID!) { products(orderId: $order) { edges { node { id status offeringKey characteristics { name value } agreementId } } } }"""
EVENTS = "subscription($id: ID) { orderEvents(orderId: $id) { type entityKind fromState toState orderId } }"


class Subscriber:
    def __init__(self, base_url: str, variables: dict, token: str):
        self.events: list[dict] = []
        self.ws = connect(base_url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"])
        self.ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(self.ws.recv(10))["type"] == "connection_ack"
        self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": variables}}))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for raw in self.ws:
                message = json.loads(raw)
                if message["type"] == "next":
                    self.events.append(message["payload"]["data"]["orderEvents"])
        except Exception:
            pass

    def close(self):
        self.ws.close()


def run_fibre_order(base_url: str, tokens: dict[str, str]) -> None:
    gql = support.GraphQLClient(base_url, tokens["order_agent"])
    installer = support.GraphQLClient(base_url, tokens["order_fulfillment_agent"])
    everything = Subscriber(base_url, {}, tokens["viewer"])
    try:
        chars = [{"name": "bandwidth", "value": 500}, {"name": "installationAddress", "value": "12 Harbour Road, Leith"}]
        created = gql(
            CREATE,
            {"input": {"customerId": "CUST-FIBRE", "lines": [{"offering": "fibre-broadband-500", "characteristics": chars}]}},
        )
        assert created["orderCreate"]["errors"] == []
        order_id = created["orderCreate"]["order"]["id"]
        mine = Subscriber(base_url, {"id": order_id}, tokens["order_manager"])
        assert gql(SUBMIT, {"id": order_id})["orderSubmit"]["order"]["state"] == "ACKNOWLEDGED"

        def installation_ready():
            detail = gql(DETAIL, {"id": order_id})["order"]
            return [
                t
                for d in detail["domainOrders"]
                for t in d["tasks"]
                if t["key"] == "tsm.onsite-installation" and t["state"] == "READY"
            ]

        [installation] = support.wait_for(installation_ready, 60, message="the on-site installation work order")
        done = installer(COMPLETE, {"id": installation["id"]})["taskComplete"]
        assert done["errors"] == [] and done["task"]["state"] == "COMPLETED"
        detail = support.wait_for(
            lambda: (d := gql(DETAIL, {"id": order_id})["order"])["state"] == "COMPLETED" and d, 60, message="completion"
        )

        kinds = {(d["kind"], d["specKey"]) for d in detail["domainOrders"]}
        assert (
            ("PRODUCT", "tsm.fibre-broadband") in kinds
            and ("RESOURCE", "tsm.ont") in kinds
            and ("SERVICE", "tsm.internet-access-cfs") in kinds
        )
        assert ("RESOURCE", "tsm.static-ip") not in kinds  # excluded by the pack's decomposition rule
        assert all(t["state"] == "COMPLETED" for d in detail["domainOrders"] for t in d["tasks"])
        line_values = {c["name"]: c["value"] for c in detail["lines"][0]["characteristics"]}
        assert line_values.get("routerModel")  # set by the pack's enrichment step

        [edge] = gql(PRODUCTS, {"order": order_id})["products"]["edges"]
        product = edge["node"]
        assert product["status"] == "ACTIVE" and product["offeringKey"] == "fibre-broadband-500" and product["agreementId"]
        values = {c["name"]: c["value"] for c in product["characteristics"]}
        assert values["ontSerial"] and values["accessLineId"]  # recorded by fulfilment

        def saw_completion(sub):
            return any(e["entityKind"] == "order" and e["toState"] == "completed" for e in sub.events)

        support.wait_for(
            lambda: saw_completion(mine) and saw_completion(everything), 20, message="completion events on both sockets"
        )
        assert {e["orderId"] for e in mine.events} == {order_id}
        order_states = [
            e["toState"] for e in everything.events if e["entityKind"] == "order" and e["orderId"] == order_id and e["fromState"]
        ]
        assert order_states == ["acknowledged", "inProgress", "completed"]
        task_done = [e for e in mine.events if e["entityKind"] == "task" and e["toState"] == "completed"]
        assert len(task_done) == sum(len(d["tasks"]) for d in detail["domainOrders"])
        mine.close()
    finally:
        everything.close()


def test_fibre_order_embedded(tmp_path):
    env = support.base_env(tmp_path, OM_GRAPH_DATABASE_URL=f"sqlite:///{tmp_path / 'om.db'}")
    server, url = support.start_server(env, tmp_path)
    try:
        run_fibre_order(url, support.demo_tokens(tmp_path))
    finally:
        server.kill()


def test_fibre_order_scaled(tmp_path, postgres_url, redis_server_url, redis_namespace):
    env = support.base_env(
        tmp_path,
        OM_GRAPH_DATABASE_URL=postgres_url,
        OM_GRAPH_REDIS_URL=redis_server_url,
        OM_GRAPH_REDIS_NAMESPACE=redis_namespace,
    )
    server, url = support.start_server(env, tmp_path)
    worker = support.start_worker(env, tmp_path, processes=2, threads=2)
    try:
        run_fibre_order(url, support.demo_tokens(tmp_path))
    finally:
        worker.kill()
        server.kill()
