"""TMF620 product catalog through the REST facade (om_graph/tmf/tmf620), read-only: offerings,
their product specifications (characteristics with value types, allowed values, defaults,
cardinality) and prices (stable ids, the Pricer's references), lists filtered in memory and paged,
404 for unknown ids, 400 for unknown filters, 405 for writes."""

from __future__ import annotations

from tests import support
from tests.test_tmf_product_order import tmf  # noqa: F401

BASE = "/tmf-api/productCatalogManagement/v4"


def _ids(answer):
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()]


def test_offerings_list_filter_and_read_by_key(tmf):  # noqa: F811
    listed = tmf.get(f"{BASE}/productOffering")
    assert _ids(listed) == ["test-auto", "test-internet", "test-internet-usd", "test-licence"]
    assert (listed.headers["x-total-count"], listed.headers["x-result-count"]) == ("4", "4")
    by_spec = tmf.get(f"{BASE}/productOffering", params={"productSpecification.id": "test.internet"})
    assert _ids(by_spec) == ["test-internet", "test-internet-usd"]
    assert _ids(tmf.get(f"{BASE}/productOffering", params={"name": "Test licence"})) == ["test-licence"]
    assert len(_ids(tmf.get(f"{BASE}/productOffering", params={"lifecycleStatus": "active"}))) == 4  # any case
    assert _ids(tmf.get(f"{BASE}/productOffering", params={"lifecycleStatus": "Retired"})) == []
    both = {"productSpecification.id": "test.internet", "name": "Test licence"}
    assert _ids(tmf.get(f"{BASE}/productOffering", params=both)) == []  # ANDed
    page = tmf.get(f"{BASE}/productOffering", params={"offset": 1, "limit": 2, "fields": "name"})
    assert page.json() == [
        {"id": "test-internet", "href": page.json()[0]["href"], "@type": "ProductOffering", "name": "Test internet"},
        {"id": "test-internet-usd", "href": page.json()[1]["href"], "@type": "ProductOffering", "name": "Test internet (US)"},
    ]
    assert (page.headers["x-total-count"], page.headers["x-result-count"]) == ("4", "2")

    offering = tmf.get(f"{BASE}/productOffering/test-internet").json()
    assert offering["href"].endswith(f"{BASE}/productOffering/test-internet")
    assert (offering["@type"], offering["name"], offering["lifecycleStatus"]) == ("ProductOffering", "Test internet", "Active")
    assert offering["productSpecification"]["id"] == "test.internet"
    assert offering["productSpecification"]["href"].endswith(f"{BASE}/productSpecification/test.internet")
    uses = {c["name"]: c for c in offering["prodSpecCharValueUse"]}
    assert uses["speed"]["minCardinality"] == 1 and [v["value"] for v in uses["speed"]["productSpecCharacteristicValue"]] == [
        100,
        1000,
    ]
    assert offering["productOfferingTerm"][0]["duration"] == {"amount": 12, "units": "month"}
    prices = {p["id"]: p for p in offering["productOfferingPrice"]}
    assert set(prices) == {"list.EUR:test-internet:oneTime:", "list.EUR:test-internet:recurring:"}
    for price_ref in prices.values():
        assert tmf.get(price_ref["href"]).status_code == 200  # the refs resolve
    # TMF622's offering references point here
    ordered = tmf.get(f"{BASE}/productOffering/test-internet", headers=support.bearer(tmf.runtime, "customer", account="ACME"))
    assert ordered.status_code == 200 and ordered.json() == offering
    selected = tmf.get(f"{BASE}/productOffering/test-internet", params={"fields": "productSpecification.id"}).json()
    assert selected == {
        "id": "test-internet",
        "href": offering["href"],
        "@type": "ProductOffering",
        "productSpecification": {"id": "test.internet"},
    }


def test_a_specification_describes_its_characteristics(tmf):  # noqa: F811
    assert _ids(tmf.get(f"{BASE}/productSpecification")) == ["test.auto", "test.internet", "test.licence"]  # products only
    spec = tmf.get(f"{BASE}/productSpecification/test.internet").json()
    assert (spec["@type"], spec["name"], spec["version"], spec["lifecycleStatus"]) == (
        "ProductSpecification",
        "Test internet",
        "1.0",
        "Active",
    )
    chars = {c["name"]: c for c in spec["productSpecCharacteristic"]}
    assert set(chars) == {"speed", "address", "withPhone", "failAt", "flakyAt", "links"}
    speed = chars["speed"]
    assert (speed["valueType"], speed["minCardinality"], speed["maxCardinality"]) == ("integer", 1, 1)
    assert [(v["value"], v["isDefault"]) for v in speed["productSpecCharacteristicValue"]] == [(100, False), (1000, False)]
    assert chars["address"]["minCardinality"] == 1 and chars["address"]["valueType"] == "string"
    assert chars["withPhone"]["minCardinality"] == 0
    assert chars["withPhone"]["productSpecCharacteristicValue"] == [
        {"value": False, "valueType": "boolean", "isDefault": True, "@type": "ProductSpecificationCharacteristicValue"}
    ]
    assert [(v["value"], v["isDefault"]) for v in chars["links"]["productSpecCharacteristicValue"]] == [(1, True)]
    assert spec["serviceSpecification"] == [
        {"id": "test.access-cfs", "@type": "ServiceSpecificationRef", "name": "Access service"}
    ]
    assert _ids(tmf.get(f"{BASE}/productSpecification", params={"name": "Test internet"})) == ["test.internet"]
    assert len(_ids(tmf.get(f"{BASE}/productSpecification", params={"lifecycleStatus": "Active"}))) == 3
    assert tmf.get(f"{BASE}/productSpecification/test.access-cfs").status_code == 404  # a service specification


def test_prices_have_stable_ids_and_filter(tmf):  # noqa: F811
    listed = tmf.get(f"{BASE}/productOfferingPrice")
    ids = _ids(listed)
    assert listed.headers["x-total-count"] == "8"  # two charges of each offering, in list.EUR and list.USD
    assert "list.USD:test-internet-usd:recurring:" in ids and len(set(ids)) == len(ids)
    recurring = tmf.get(f"{BASE}/productOfferingPrice", params={"priceType": "recurring"}).json()
    assert len(recurring) == 4 and {p["priceType"] for p in recurring} == {"recurring"}
    price = tmf.get(f"{BASE}/productOfferingPrice/list.EUR:test-internet:recurring:").json()
    assert price["href"].endswith(f"{BASE}/productOfferingPrice/list.EUR:test-internet:recurring:")
    assert (price["@type"], price["name"], price["priceType"]) == ("ProductOfferingPrice", "Recurring charge", "recurring")
    assert price["price"] == {"unit": "EUR", "value": 29.99}
    assert (price["recurringChargePeriodType"], price["recurringChargePeriodLength"]) == ("month", 1)
    assert price["tax"] == [{"taxRate": 0.0, "@type": "TaxItem"}]
    one_time = tmf.get(f"{BASE}/productOfferingPrice/list.EUR:test-internet:oneTime:").json()
    assert one_time["price"] == {"unit": "EUR", "value": 49.0} and "recurringChargePeriodType" not in one_time
    named = tmf.get(f"{BASE}/productOfferingPrice", params={"name": "One-time charge", "fields": "price"}).json()
    assert len(named) == 4 and all(set(p) == {"id", "href", "@type", "price"} for p in named)
    customer = support.bearer(tmf.runtime, "customer", account="ACME")
    assert tmf.get(f"{BASE}/productOfferingPrice", headers=customer).headers["x-total-count"] == "8"


def test_unknown_ids_bad_filters_and_writes(tmf):  # noqa: F811
    for resource in ("productOffering", "productSpecification", "productOfferingPrice"):
        missing = tmf.get(f"{BASE}/{resource}/no-such-thing")
        assert missing.status_code == 404 and missing.json()["@type"] == "Error"
        refused = tmf.get(f"{BASE}/{resource}", params={"colour": "blue"})
        assert refused.status_code == 400 and refused.json()["code"] == "INVALID_QUERY"
        assert "lifecycleStatus" in refused.json()["message"]
        assert tmf.post(f"{BASE}/{resource}", json={}).status_code == 405
        assert tmf.patch(f"{BASE}/{resource}/x", json={}).status_code == 405
    assert tmf.get(f"{BASE}/productOffering", params={"name.gt": "a"}).status_code == 400
    assert tmf.get(f"{BASE}/productOffering", params={"limit": "101"}).status_code == 400
    assert tmf.get(f"{BASE}/catalog").status_code == 404  # not served
    assert tmf.get(f"{BASE}/productOffering", headers={"Authorization": "Bearer nope"}).status_code == 401
