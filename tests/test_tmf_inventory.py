"""TMF637 product inventory through the REST facade (om_graph/tmf/tmf637): the product a TMF622
order made, read by id and listed (fields, filters ANDed, paging headers), linked to the order
items that created and last changed it and to the TMF620 catalog; account scoping (another
account's product is a 404, its list empty); errors in TMF's shape."""

from __future__ import annotations

import base64

from tests import support
from tests.test_tmf_product_order import order_body, tmf  # noqa: F401

BASE = "/tmf-api/productInventory/v4"
ORDERING = "/tmf-api/productOrderingManagement/v4"
CATALOG = "/tmf-api/productCatalogManagement/v4"
MANUAL_TASKS = """
query($id: ID!) { order(id: $id) { domainOrders { tasks { id kind state } } } }"""
COMPLETE = """
mutation($id: ID!) {
  taskComplete(input: {id: $id, characteristics: [{name: "ontSerial", value: "ONT-1"}]}) { task { state } errors { code } }
}"""


def _gql(client, query, variables, headers):
    body = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers).json()
    assert "errors" not in body, body
    return body["data"]


def _wait_for_state(client, order_id, state):
    def reached():
        return client.get(f"{ORDERING}/productOrder/{order_id}").json()["state"] == state

    support.wait_for(reached, 60, message=f"order {order_id} {state}")


def completed_order(client, body) -> str:
    """A TMF622 order of ``body``, its manual installation tasks done, run to completion."""
    answer = client.post(f"{ORDERING}/productOrder", json=body)
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["id"]
    staff = support.bearer(client.runtime, "order_manager")
    node = base64.b64encode(f"Order:{order_id}".encode()).decode()

    def manual_ready():
        detail = _gql(client, MANUAL_TASKS, {"id": node}, staff)["order"]
        tasks = [t for d in detail["domainOrders"] for t in d["tasks"] if t["kind"] == "MANUAL" and t["state"] == "READY"]
        return tasks or None

    for task in support.wait_for(manual_ready, 60, message="installation work orders"):
        assert _gql(client, COMPLETE, {"id": task["id"]}, staff)["taskComplete"]["errors"] == []
    _wait_for_state(client, order_id, "completed")
    return order_id


def test_a_completed_orders_product_reads_filters_and_links_to_its_order(tmf):  # noqa: F811
    order_id = completed_order(tmf, order_body())
    listed = tmf.get(f"{BASE}/product", params={"relatedParty.id": "ACME"})
    assert listed.status_code == 200, listed.text
    assert (listed.headers["x-total-count"], listed.headers["x-result-count"]) == ("1", "1")
    [product] = listed.json()
    assert product["@type"] == "Product" and product["href"].endswith(f"{BASE}/product/{product['id']}")
    assert product["status"] == "active" and product["name"] and product["startDate"].endswith("Z")
    assert "terminationDate" not in product
    assert (product["isBundle"], product["isCustomerVisible"]) == (False, True)
    assert product["productOffering"]["id"] == "test-internet"
    assert product["productOffering"]["href"].endswith(f"{CATALOG}/productOffering/test-internet")
    assert product["productSpecification"]["id"] == "test.internet"
    assert product["productSpecification"]["href"].endswith(f"{CATALOG}/productSpecification/test.internet")
    characteristics = {c["name"]: (c["value"], c["valueType"]) for c in product["productCharacteristic"]}
    assert characteristics["speed"] == (100, "integer") and characteristics["address"] == ("1 Main St", "string")
    assert characteristics["ontSerial"] == ("ONT-1", "string")  # not declared by the product's specification
    assert product["relatedParty"] == [{"id": "ACME", "role": "customer", "@type": "RelatedParty", "@referredType": "Customer"}]
    [item] = product["productOrderItem"]
    assert item == {
        "orderItemId": "1",
        "productOrderId": order_id,
        "productOrderHref": item["productOrderHref"],
        "orderItemAction": "add",
        "role": "creation",
        "@type": "RelatedProductOrderItem",
        "@referredType": "ProductOrderItem",
    }
    assert item["productOrderHref"].endswith(f"{ORDERING}/productOrder/{order_id}")
    assert [a["@type"] for a in product.get("agreement", [])] == ["AgreementItemRef"]  # the contract of the order
    assert {p["priceType"] for p in product["productPrice"]} == {"oneTime", "recurring"}  # the core's own
    # the order's item prices name the TMF620 productOfferingPrices they come from
    [ordered] = tmf.get(f"{ORDERING}/productOrder/{order_id}").json()["productOrderItem"]
    for price in ordered["itemPrice"]:
        pop = tmf.get(f"{CATALOG}/productOfferingPrice/{price['productOfferingPrice']['id']}")
        assert pop.status_code == 200 and pop.json()["priceType"] == price["priceType"]

    by_id = tmf.get(f"{BASE}/product/{product['id']}")
    assert by_id.status_code == 200 and by_id.json() == product
    selected = tmf.get(f"{BASE}/product/{product['id']}", params={"fields": "status,productOrderItem.productOrderId"}).json()
    assert selected == {
        "id": product["id"],
        "href": product["href"],
        "@type": "Product",
        "status": "active",
        "productOrderItem": [{"productOrderId": order_id}],
    }

    def count(**params):
        answer = tmf.get(f"{BASE}/product", params=params)
        assert answer.status_code == 200, answer.text
        return int(answer.headers["x-total-count"])

    assert count(status="active") == 1 and count(status="terminated,suspended") == 0
    assert count(**{"productOffering.id": "test-internet", "relatedParty.id": "ACME"}) == 1
    assert count(**{"productOffering.id": "test-internet", "relatedParty.id": "GLOBEX"}) == 0  # ANDed
    assert count(**{"productSpecification.id": "test.internet"}) == 1
    assert count(**{"productSpecification.id": "test.licence"}) == 0
    assert count(name=product["name"]) == 1 and count(name="no such name") == 0
    assert count(**{"startDate.gt": "2000-01-01T00:00:00Z"}) == 1 and count(**{"startDate.lt": "2000-01-01T00:00:00Z"}) == 0
    assert count(**{"terminationDate.lt": "2999-01-01T00:00:00Z"}) == 0  # not terminated
    assert count(**{"productOrderItem.productOrderId": order_id}) == 1
    assert count(status="aborted ") == 0  # TMF637's own spelling is accepted
    fields = tmf.get(f"{BASE}/product", params={"fields": "name", "limit": 1}).json()
    assert fields == [{"id": product["id"], "href": product["href"], "@type": "Product", "name": product["name"]}]
    assert tmf.get(f"{BASE}/product", params={"offset": 1}).json() == []

    other = support.bearer(tmf.runtime, "customer", account="GLOBEX")
    assert tmf.get(f"{BASE}/product/{product['id']}", headers=other).status_code == 404
    assert tmf.get(f"{BASE}/product", headers=other).json() == []
    assert tmf.get(f"{BASE}/product", params={"relatedParty.id": "ACME"}, headers=other).json() == []
    owner = support.bearer(tmf.runtime, "customer", account="ACME")
    assert tmf.get(f"{BASE}/product/{product['id']}", headers=owner).json() == product


def test_a_modified_product_links_to_the_item_that_changed_it_last(tmf):  # noqa: F811
    created = completed_order(tmf, order_body())
    [product] = tmf.get(f"{BASE}/product", params={"productOrderItem.productOrderId": created}).json()
    modify = order_body()
    modify["productOrderItem"][0].update(
        action="modify",
        product={"id": product["id"], "productCharacteristic": [{"name": "speed", "value": 1000}]},
    )
    answer = tmf.post(f"{ORDERING}/productOrder", json=modify)
    assert answer.status_code == 201, answer.text
    changed = answer.json()["id"]
    _wait_for_state(tmf, changed, "completed")
    read = tmf.get(f"{BASE}/product/{product['id']}").json()
    assert {c["name"]: c["value"] for c in read["productCharacteristic"]}["speed"] == 1000
    links = [(i["role"], i["productOrderId"], i["orderItemId"], i["orderItemAction"]) for i in read["productOrderItem"]]
    assert links == [("creation", created, "1", "add"), ("lastChange", changed, "1", "modify")]


def test_unknown_ids_bad_queries_and_other_methods(tmf):  # noqa: F811
    assert tmf.get(f"{BASE}/product/999999").status_code == 404
    missing = tmf.get(f"{BASE}/product/not-a-number")
    assert missing.status_code == 404 and missing.json()["@type"] == "Error"
    refused = tmf.get(f"{BASE}/product", params={"colour": "blue"})
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_QUERY"
    assert "relatedParty.id" in refused.json()["message"]
    assert "not a product status" in tmf.get(f"{BASE}/product", params={"status": "happy"}).json()["message"]
    assert tmf.get(f"{BASE}/product", params={"startDate.gt": "yesterday"}).status_code == 400
    assert tmf.get(f"{BASE}/product", params={"name.gt": "a"}).status_code == 400  # equality only
    assert tmf.get(f"{BASE}/product", params={"limit": "1000"}).status_code == 400
    assert tmf.get(f"{BASE}/product", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert tmf.post(f"{BASE}/product", json={}).status_code == 405
    assert tmf.delete(f"{BASE}/product/1").status_code == 405
    assert tmf.get(f"{BASE}/product", params={"status": "active"}).json() == []
