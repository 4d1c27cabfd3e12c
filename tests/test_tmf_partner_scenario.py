"""The partner's journey over the TMF APIs alone, with the telecom pack's real catalog: a listener
registered on the hub, a TMF622 order for a fibre offering (a draft PATCHed, then submitted by a
PATCH of its state), watched through the hub until the installation is done and it completes, the
resulting TMF637 product read back; a second order cancelled through cancelProductOrder; all as
a service account, while another customer's token sees nothing of it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from om_graph.schema.types.common import gid
from tests import support
from tests.test_tmf_hub import FAST, Listener, listener  # noqa: F401

pytestmark = pytest.mark.slow
ORDERING = "/tmf-api/productOrderingManagement/v4"
INVENTORY = "/tmf-api/productInventory/v4"
INSTALL = "tsm.onsite-installation"


def fibre_order(state: str | None = None, external_id: str = "PARTNER-1") -> dict:
    body = {
        "externalId": external_id,
        "relatedParty": [{"id": "CUST-PARTNER", "role": "customer", "@referredType": "Customer"}],
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "productOffering": {"id": "fibre-broadband-500"},
                "product": {
                    "productCharacteristic": [
                        {"name": "bandwidth", "value": 500},
                        {"name": "installationAddress", "value": "12 Harbour Road, Leith"},
                    ]
                },
            }
        ],
    }
    if state:
        body["state"] = state
    return body


def install_when_ready(client: TestClient, order_id: str, headers: dict) -> None:
    """The fulfilment side (not the partner): the on-site installation work order done."""
    query = "query($id: ID!) { order(id: $id) { domainOrders { tasks { id key state } } } }"
    complete = "mutation($id: ID!) { taskComplete(input: {id: $id}) { errors { code } } }"

    def ready():
        data = client.post(
            "/graphql", json={"query": query, "variables": {"id": str(gid("Order", int(order_id)))}}, headers=headers
        )
        tasks = [t for d in data.json()["data"]["order"]["domainOrders"] for t in d["tasks"]]
        return [t for t in tasks if t["key"] == INSTALL and t["state"] == "READY"]

    [task] = support.wait_for(ready, 60, message="the installation work order")
    answer = client.post("/graphql", json={"query": complete, "variables": {"id": task["id"]}}, headers=headers)
    assert answer.json()["data"]["taskComplete"]["errors"] == []


def test_a_partner_orders_watches_changes_cancels_and_reads_the_product(make_runtime, sqlite_url, listener):  # noqa: F811
    runtime = make_runtime(sqlite_url, load_entrypoints=True, extra_plugins=(), **FAST)
    partner = support.bearer(runtime, "service_account")
    installer = support.bearer(runtime, "order_fulfillment_agent")
    stranger = support.bearer(runtime, "customer", account="CUST-OTHER")
    with TestClient(create_app(runtime=runtime), headers=partner) as client:
        hub = client.post(f"{ORDERING}/hub", json={"callback": listener.url})
        assert hub.status_code == 201, hub.text

        draft = client.post(f"{ORDERING}/productOrder", json=fibre_order("draft"))
        assert draft.status_code == 201, draft.text
        order = draft.json()
        url = f"{ORDERING}/productOrder/{order['id']}"
        item = {**order["productOrderItem"][0]}
        characteristics = {c["name"]: c["value"] for c in item["product"]["productCharacteristic"]}
        characteristics["installationAddress"] = "14 Harbour Road, Leith"
        item["product"] = {"productCharacteristic": [{"name": k, "value": v} for k, v in characteristics.items()]}
        patched = client.patch(url, json={"description": "new office", "productOrderItem": [item]})
        assert patched.status_code == 200, patched.text
        submitted = client.patch(url, json={"state": "acknowledged"})
        assert submitted.status_code == 200 and submitted.json()["state"] != "draft"

        install_when_ready(client, order["id"], installer)

        def completed():
            found = client.get(url).json()
            return found if found["state"] == "completed" else None

        support.wait_for(completed, 60, message="the fibre order to complete")

        def states_delivered():
            return [
                e["event"]["productOrder"]["state"]
                for e in listener.delivered()
                if e["eventType"] == "ProductOrderStateChangeEvent" and e["event"]["productOrder"]["id"] == order["id"]
            ]

        states = support.wait_for(lambda: (s := states_delivered()) and s[-1] == "completed" and s, 30, message="hub events")
        assert states[0] == "acknowledged" and "inProgress" in states  # in order, as the order moved

        [product] = client.get(f"{INVENTORY}/product", params={"productOrderItem.productOrderId": order["id"]}).json()
        assert product["status"] == "active" and product["productOffering"]["id"] == "fibre-broadband-500"
        values = {c["name"]: c["value"] for c in product["productCharacteristic"]}
        assert values["installationAddress"] == "14 Harbour Road, Leith"
        assert client.get(f"{INVENTORY}/product/{product['id']}").json()["id"] == product["id"]

        second = client.post(f"{ORDERING}/productOrder", json=fibre_order(external_id="PARTNER-2")).json()
        cancel = client.post(
            f"{ORDERING}/cancelProductOrder",
            json={"productOrder": {"id": second["id"]}, "cancellationReason": "customer withdrew"},
        )
        assert cancel.status_code == 201, cancel.text

        def cancelled():
            return client.get(f"{ORDERING}/productOrder/{second['id']}").json()["state"] == "cancelled"

        support.wait_for(cancelled, 60, message="the cancellation")
        done = client.get(f"{ORDERING}/cancelProductOrder/{cancel.json()['id']}").json()
        assert (done["state"], done["result"]) == ("done", "accepted")

        # Another customer sees nothing of it.
        assert client.get(url, headers=stranger).status_code == 404
        assert client.get(f"{ORDERING}/productOrder", headers=stranger).json() == []
        assert client.get(f"{INVENTORY}/product/{product['id']}", headers=stranger).status_code == 404
        assert client.get(f"{ORDERING}/cancelProductOrder", headers=stranger).json() == []
