"""TMF622 productOrder through the REST facade (om_graph/tmf): create (201, Location = href, the
server-set attributes), read, list with fields selection, filters and paging headers, errors in
TMF's shape (400 bad input, 404 unknown and other accounts' ids, 401), idempotent retries by
Idempotency-Key and by externalId."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from om_graph.app import create_app
from tests import support

BASE = "/tmf-api/productOrderingManagement/v4"


@pytest.fixture
def tmf(make_runtime, sqlite_url):
    runtime = make_runtime(sqlite_url)
    with TestClient(create_app(runtime=runtime)) as client:
        client.headers.update(support.bearer(runtime, "service_account"))
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client


def order_body(customer="ACME", external_id=None, **extra):
    body = {
        "description": "fibre for the new office",
        "relatedParty": [{"id": customer, "role": "customer", "@referredType": "Customer"}],
        "productOrderItem": [
            {
                "id": "1",
                "action": "add",
                "quantity": 1,
                "productOffering": {"id": "test-internet"},
                "product": {
                    "productCharacteristic": [
                        {"name": "speed", "value": 100},
                        {"name": "address", "value": "1 Main St"},
                    ]
                },
            }
        ],
        **extra,
    }
    if external_id:
        body["externalId"] = external_id
    return body


def test_a_created_order_answers_201_with_location_and_the_server_set_attributes(tmf):
    answer = tmf.post(f"{BASE}/productOrder", json=order_body(external_id="PO-1"))
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert answer.headers["location"] == order["href"]
    assert order["href"].endswith(f"{BASE}/productOrder/{order['id']}")
    assert order["@type"] == "ProductOrder" and order["state"] == "acknowledged" and order["orderDate"].endswith("Z")
    assert order["externalId"] == "PO-1"
    assert order["relatedParty"] == [{"id": "ACME", "role": "customer", "@type": "RelatedParty", "@referredType": "Customer"}]
    [item] = order["productOrderItem"]
    assert (item["id"], item["action"], item["quantity"], item["productOffering"]["id"]) == ("1", "add", 1, "test-internet")
    characteristics = {c["name"]: c["value"] for c in item["product"]["productCharacteristic"]}
    assert characteristics == {"speed": 100, "address": "1 Main St", "withPhone": False, "links": 1}  # with the defaults
    assert item["itemPrice"] and order["orderTotalPrice"]
    read = tmf.get(f"{BASE}/productOrder/{order['id']}")
    assert read.status_code == 200 and read.json()["id"] == order["id"]


def test_a_v5_draft_stays_a_draft(tmf):
    answer = tmf.post(f"{BASE}/productOrder", json=order_body(state="draft"))
    assert answer.status_code == 201 and answer.json()["state"] == "draft"


def test_fields_selection_keeps_the_server_set_attributes(tmf):
    order_id = tmf.post(f"{BASE}/productOrder", json=order_body()).json()["id"]
    selected = tmf.get(f"{BASE}/productOrder/{order_id}", params={"fields": "description,productOrderItem.id"}).json()
    assert set(selected) == {"id", "href", "@type", "orderDate", "state", "description", "productOrderItem"}
    assert selected["productOrderItem"] == [{"id": "1", "action": "add"}]  # what the document requires


def test_lists_filter_page_and_count(tmf):
    ids = [tmf.post(f"{BASE}/productOrder", json=order_body(external_id=f"E-{n}")).json()["id"] for n in range(3)]
    tmf.post(f"{BASE}/productOrder", json=order_body(customer="GLOBEX"))
    listed = tmf.get(f"{BASE}/productOrder", params={"relatedParty.id": "ACME", "limit": 2, "fields": "externalId"})
    assert listed.status_code == 200
    assert (listed.headers["x-total-count"], listed.headers["x-result-count"]) == ("3", "2")
    assert [o["id"] for o in listed.json()] == [ids[2], ids[1]]  # newest first
    rest = tmf.get(f"{BASE}/productOrder", params={"relatedParty.id": "ACME", "offset": 2}).json()
    assert [o["id"] for o in rest] == [ids[0]]
    both = tmf.get(f"{BASE}/productOrder", params={"externalId": "E-0,E-2", "relatedParty.id": "ACME"}).json()
    assert sorted(o["externalId"] for o in both) == ["E-0", "E-2"]
    assert tmf.get(f"{BASE}/productOrder", params={"externalId": "E-0", "relatedParty.id": "GLOBEX"}).json() == []  # ANDed
    assert tmf.get(f"{BASE}/productOrder", params={"state": "cancelled"}).json() == []
    since = tmf.get(f"{BASE}/productOrder", params={"orderDate.gt": "2000-01-01T00:00:00Z", "relatedParty.id": "GLOBEX"})
    assert since.headers["x-total-count"] == "1"
    refused = tmf.get(f"{BASE}/productOrder", params={"colour": "blue"})
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_QUERY" and "state" in refused.json()["message"]
    assert tmf.get(f"{BASE}/productOrder", params={"limit": "101"}).status_code == 400
    counted = tmf.get(f"{BASE}/productOrder", params={"limit": "0", "relatedParty.id": "ACME"})
    assert counted.json() == [] and counted.headers["x-total-count"] == "3"  # only the count
    assert tmf.get(f"{BASE}/productOrder", params={"orderDate.gt": "yesterday"}).status_code == 400


def test_bad_input_is_a_400_in_tmfs_error_shape_naming_tmf_paths(tmf):
    body = order_body()
    body["productOrderItem"][0]["productOffering"] = {"id": "no-such-offering"}
    body["productOrderItem"][0]["quantity"] = "two"
    answer = tmf.post(f"{BASE}/productOrder", json=body)
    assert answer.status_code == 400
    error = answer.json()
    assert set(error) >= {"code", "reason", "message", "status"} and error["status"] == "400"
    assert "productOrderItem[0].quantity" in error["message"]
    body = order_body()
    body["productOrderItem"][0]["productOffering"] = {"id": "no-such-offering"}
    unknown = tmf.post(f"{BASE}/productOrder", json=body).json()
    assert unknown["status"] == "400" and "productOrderItem[0].productOffering.id" in unknown["message"]
    assert tmf.post(f"{BASE}/productOrder", json={"productOrderItem": []}).status_code == 400
    assert tmf.post(f"{BASE}/productOrder", content=b"[1]", headers={"content-type": "application/json"}).status_code == 400
    assert tmf.post(f"{BASE}/productOrder", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert tmf.post(f"{BASE}/productOrder", content=b"{}", headers={"content-type": "text/plain"}).status_code == 400
    nested = order_body()
    nested["productOrderItem"][0]["productOrderItem"] = [{"id": "1.1", "action": "add"}]
    assert "not supported" in tmf.post(f"{BASE}/productOrder", json=nested).json()["message"]


def test_unknown_and_other_accounts_ids_are_404_and_no_token_401(tmf):
    order_id = tmf.post(f"{BASE}/productOrder", json=order_body()).json()["id"]
    other = support.bearer(tmf.runtime, "customer", account="GLOBEX")
    assert tmf.get(f"{BASE}/productOrder/{order_id}", headers=other).status_code == 404
    assert tmf.get(f"{BASE}/productOrder", headers=other).json() == []
    owner = support.bearer(tmf.runtime, "customer", account="ACME")
    assert tmf.get(f"{BASE}/productOrder/{order_id}", headers=owner).status_code == 200
    assert tmf.get(f"{BASE}/productOrder/999999").status_code == 404
    assert tmf.get(f"{BASE}/productOrder/not-a-number").json()["status"] == "404"
    assert tmf.get(f"{BASE}/productOrder", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert tmf.get(f"{BASE}/noSuchThing").status_code == 404
    assert tmf.put(f"{BASE}/productOrder/{order_id}", json={}).status_code == 405


def test_a_customer_orders_for_their_own_account_without_naming_it(tmf):
    owner = support.bearer(tmf.runtime, "customer", account="ACME")
    body = order_body()
    del body["relatedParty"]
    answer = tmf.post(f"{BASE}/productOrder", json=body, headers=owner)
    assert answer.status_code == 201 and answer.json()["relatedParty"][0]["id"] == "ACME"
    assert tmf.post(f"{BASE}/productOrder", json=body).status_code == 400  # staff name the customer


def test_a_retried_post_returns_the_same_order(tmf):
    first = tmf.post(f"{BASE}/productOrder", json=order_body(), headers={"Idempotency-Key": "k-1"}).json()
    again = tmf.post(f"{BASE}/productOrder", json=order_body(), headers={"Idempotency-Key": "k-1"}).json()
    assert again["id"] == first["id"]
    reused = tmf.post(f"{BASE}/productOrder", json=order_body(description="other"), headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 409
    by_external = [tmf.post(f"{BASE}/productOrder", json=order_body(external_id="IMPORT-7")).json()["id"] for _ in range(2)]
    assert by_external[0] == by_external[1]
    assert tmf.get(f"{BASE}/productOrder", params={"externalId": "IMPORT-7"}).headers["x-total-count"] == "1"


def test_a_draft_is_patched_as_a_merge_patch_then_submitted_and_a_draft_is_deleted(tmf):
    draft = tmf.post(f"{BASE}/productOrder", json=order_body(state="draft")).json()
    url = f"{BASE}/productOrder/{draft['id']}"
    item = {**draft["productOrderItem"][0], "quantity": 2}
    patched = tmf.patch(
        url,
        json={"description": "two lines, please", "productOrderItem": [item]},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["description"], body["state"], body["productOrderItem"][0]["quantity"]) == ("two lines, please", "draft", 2)
    cleared = tmf.patch(url, json={"description": None}).json()  # null removes
    assert "description" not in cleared
    submitted = tmf.patch(url, json={"state": "acknowledged"}).json()
    assert submitted["state"] in ("acknowledged", "inProgress")
    assert tmf.delete(url).status_code == 409  # submitted: cancelled with cancelProductOrder

    other = tmf.post(f"{BASE}/productOrder", json=order_body(state="draft", external_id="GONE")).json()
    gone = f"{BASE}/productOrder/{other['id']}"
    assert tmf.delete(gone).status_code == 204
    assert tmf.get(gone).status_code == 404
    assert tmf.get(f"{BASE}/productOrder", params={"externalId": "GONE"}).json() == []
    assert tmf.delete(gone).status_code == 404


def _running(tmf, order_id):
    def waiting():
        order = tmf.get(f"{BASE}/productOrder/{order_id}").json()
        return order if order["state"] == "inProgress" else None

    return support.wait_for(waiting, 30, message="the order to be in progress")


def test_a_running_order_is_revised_by_a_patch_of_its_items(tmf):
    order = _running(tmf, tmf.post(f"{BASE}/productOrder", json=order_body()).json()["id"])
    url = f"{BASE}/productOrder/{order['id']}"
    revised = tmf.patch(url, json={"productOrderItem": [{"id": "1", "quantity": 2}]})
    assert revised.status_code == 200, revised.text
    assert revised.json()["productOrderItem"][0]["quantity"] == 2
    refused = tmf.patch(url, json={"description": "new words", "state": "completed"})
    assert refused.status_code == 400
    assert "description" in refused.json()["message"] and "state" in refused.json()["message"]
    again = tmf.patch(url, json={"productOrderItem": [{"id": "1", "quantity": 3}]})  # while the first one runs
    assert again.status_code == 409 and again.json()["code"] == "REVISION_IN_PROGRESS"


def test_a_permission_the_token_lacks_is_a_403(tmf):
    viewer = support.bearer(tmf.runtime, "viewer")
    refused = tmf.post(f"{BASE}/productOrder", json=order_body(), headers=viewer)
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN" and refused.json()["status"] == "403"
    assert tmf.get(f"{BASE}/productOrder", headers=viewer).status_code == 200  # it may read


def test_types_and_references_follow_the_conventions(tmf):
    order = tmf.post(f"{BASE}/productOrder", json=order_body(**{"@type": "ProductOrder", "@baseType": "ProductOrder"})).json()
    assert (order["@type"], order["@baseType"]) == ("ProductOrder", "ProductOrder")
    [item] = order["productOrderItem"]
    assert item["@type"] == "ProductOrderItem" and item["productOffering"]["@type"] == "ProductOfferingRef"
    assert item["productOffering"]["href"].endswith("/tmf-api/productCatalogManagement/v4/productOffering/test-internet")
    assert tmf.get(item["productOffering"]["href"]).status_code == 200  # the reference resolves (TMF620)
