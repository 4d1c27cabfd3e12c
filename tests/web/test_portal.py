"""The customer portal: shop, configure with constraints checked as the customer types and the
order's preview, placing it (one order for a double click), tracking it live while a fulfilment
agent completes the installation, the product in "My products", suspend and resume requests,
account isolation, and the portal on a phone."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

import pytest

from tests import support
from tests.web.harness import check_accessibility, screenshot

pytestmark = pytest.mark.slow

ACCOUNT_A = "DEMO-CUSTOMER-1"
FIBRE = "fibre-broadband-500"
CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id state } errors { field code message } }
}"""
ORDER_TASKS = """
query($id: ID!) { order(id: $id) { state domainOrders { tasks { id key state } } products { id status } } }"""
COMPLETE = "mutation($id: ID!) { taskComplete(input: {id: $id}) { task { state } errors { code message } } }"
MY_ORDERS = "{ orders(first: 100) { totalCount edges { node { id state lines { action productId } } } } }"
PRODUCT = "query($id: ID!) { node(id: $id) { ... on Product { id status } } }"
PRODUCT_CHARS = "query($id: ID!) { node(id: $id) { ... on Product { characteristics { name value } } } }"


def wait_view(page, view: str, timeout: float = 15_000) -> None:
    page.wait_for_selector(f'main[data-view="{view}"][data-ready="true"]', timeout=timeout)


def complete_installation(web, order_id: str) -> None:
    """As in test_fibre_live.py: find the on-site installation (order_manager) once it is READY,
    complete it as the fulfilment agent."""

    def ready():
        order = web.gql("order_manager", ORDER_TASKS, {"id": order_id})["order"]
        return [
            t
            for d in order["domainOrders"]
            for t in d["tasks"]
            if t["key"] == "tsm.onsite-installation" and t["state"] == "READY"
        ]

    [task] = support.wait_for(ready, 60, message="the on-site installation work order")
    done = web.gql("order_fulfillment_agent", COMPLETE, {"id": task["id"]})["taskComplete"]
    assert done["errors"] == [] and done["task"]["state"] == "COMPLETED"


def order_id_from(page) -> str:
    match = re.search(r"#/my/orders/([^/?]+)$", page.url)
    assert match, page.url
    return unquote(match.group(1))


def test_a_customer_configures_previews_places_and_tracks_a_fibre_order(web, page):
    before = web.gql("customer", MY_ORDERS)["orders"]["totalCount"]
    web.open(page, "/shop", role="customer")
    offering = page.locator(f'[data-offering="{FIBRE}"]')
    assert "Fibre Broadband 500" in offering.inner_text() and "39.95" in offering.inner_text()
    check_accessibility(page, "portal shop")
    screenshot(page, "portal-shop")

    offering.get_by_role("link", name="Configure and order").click()
    wait_view(page, "/shop/:key")
    address = page.get_by_label("Installation Address (required)")
    # No house number: the catalog's pattern refuses it, at once and without a submit.
    address.fill("Harbour Road, Leith")
    page.wait_for_selector('textarea[name="installationAddress"][aria-invalid="true"]')
    error_id = address.get_attribute("aria-describedby").split()[-1]
    error = page.locator(f"#{error_id}")
    assert error.is_visible() and error.inner_text().strip()
    assert page.get_by_role("button", name="Place order").is_disabled()
    # Fixed: the error disappears and the server's preview (orderPreview) comes.
    address.fill("12 Harbour Road, Leith EH6 6LX")
    page.wait_for_selector('textarea[name="installationAddress"]:not([aria-invalid])')
    assert error.is_hidden()
    page.wait_for_selector('[data-total="oneTime"]')
    assert "49.00" in page.locator('[data-total="oneTime"]').inner_text()
    assert "39.95" in page.locator('[data-total="recurring"]').inner_text()
    assert page.locator('[data-task="tsm.onsite-installation"]').is_visible()
    assert page.locator("[data-predicted]").get_attribute("data-predicted")
    place = page.get_by_role("button", name="Place order")
    place.wait_for()
    page.wait_for_function("() => !document.querySelector('.place button').disabled")
    check_accessibility(page, "portal configure with its preview")
    screenshot(page, "portal-configure")

    # A double click places one order (the idempotency key), then the tracking page opens.
    place.dblclick()
    wait_view(page, "/my/orders/:id")
    order_id = order_id_from(page)
    assert web.gql("customer", MY_ORDERS)["orders"]["totalCount"] == before + 1
    page.evaluate("() => { window.portalNoReload = true; }")
    page.wait_for_selector('[data-milestone="received"][data-status="done"]')
    page.wait_for_selector('[data-milestone="scheduled-tsm.onsite-installation"][data-status="done"]', timeout=60_000)
    assert page.locator('[data-milestone="completed"]').get_attribute("data-status") == "upcoming"
    page.wait_for_selector("p.live:not(.off)")

    complete_installation(web, order_id)
    page.wait_for_selector('[data-milestone="done-tsm.onsite-installation"][data-status="done"]', timeout=60_000)
    page.wait_for_selector('[data-milestone="completed"][data-status="done"]', timeout=60_000)
    assert page.locator(".order-status").get_attribute("data-state") == "COMPLETED"
    assert page.evaluate("() => window.portalNoReload") is True  # live: no reload happened
    check_accessibility(page, "portal tracking")
    screenshot(page, "portal-tracking")

    [product] = web.gql("customer", ORDER_TASKS, {"id": order_id})["order"]["products"]
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My products").click()
    wait_view(page, "/my/products")
    card = page.locator(f'[data-product="{product["id"]}"]')
    assert card.get_attribute("data-status") == "ACTIVE"
    assert "Active" in card.inner_text() or "active" in card.inner_text()
    assert card.get_by_role("button", name="Suspend").is_visible()
    assert card.get_by_role("button", name="Resume").count() == 0  # only for a suspended product
    check_accessibility(page, "portal products")
    screenshot(page, "portal-products")

    # A tier change: the faster plan of the same family, priced before it is asked for.
    card.get_by_role("button", name="Change").click()
    card.get_by_label("Plan").select_option("fibre-broadband-1000")
    card.get_by_text("Monthly price").wait_for()
    card.get_by_role("button", name="Request this change").click()
    tier = "query($id: ID!) { node(id: $id) { ... on Product { offeringKey status } } }"
    support.wait_for(
        lambda: web.gql("customer", tier, {"id": product["id"]})["node"]["offeringKey"] == "fibre-broadband-1000",
        60,
        message="the tier change to complete",
    )


def active_saas_product(web) -> str:
    """A SaaS subscription of account A, ordered through the API: its product id once active."""
    chars = [{"name": "companyName", "value": "Portal Test Ltd"}, {"name": "seats", "value": 5}]
    created = web.gql(
        "customer",
        CREATE,
        {
            "input": {
                "customerId": ACCOUNT_A,
                "requestedInitialState": "ACKNOWLEDGED",
                "lines": [{"offering": "saas-analytics-starter", "characteristics": chars}],
            }
        },
    )["orderCreate"]
    assert created["errors"] == []
    order = support.wait_for(
        lambda: (o := web.gql("customer", ORDER_TASKS, {"id": created["order"]["id"]})["order"])["state"] == "COMPLETED" and o,
        60,
        message="the SaaS order to complete",
    )
    [product] = order["products"]
    return product["id"]


def change_orders(web, product_id: str) -> list[str]:
    return [
        line["action"]
        for e in web.gql("customer", MY_ORDERS)["orders"]["edges"]
        for line in e["node"]["lines"]
        if line["productId"] == product_id
    ]


def test_suspend_resume_and_change_a_product_from_my_products(web, page):
    product_id = active_saas_product(web)
    web.open(page, "/my/products", role="customer")
    card = page.locator(f'[data-product="{product_id}"]')
    assert card.get_attribute("data-status") == "ACTIVE"
    assert card.get_by_role("button", name="Resume").count() == 0

    card.get_by_role("button", name="Suspend").click()
    page.wait_for_selector(
        f'[data-product="{product_id}"] [data-request="suspend"], [data-product="{product_id}"][data-status="SUSPENDED"]'
    )
    assert change_orders(web, product_id) == ["SUSPEND"]  # the request: an order with a SUSPEND line
    page.wait_for_selector(f'[data-product="{product_id}"][data-status="SUSPENDED"]', timeout=60_000)
    assert web.gql("customer", PRODUCT, {"id": product_id})["node"]["status"] == "SUSPENDED"
    assert card.get_by_role("button", name="Suspend").count() == 0  # only what the status allows
    check_accessibility(page, "portal products with a suspended product")

    card.get_by_role("button", name="Resume").click()
    page.wait_for_selector(f'[data-product="{product_id}"][data-status="ACTIVE"]', timeout=60_000)
    assert web.gql("customer", PRODUCT, {"id": product_id})["node"]["status"] == "ACTIVE"
    assert sorted(change_orders(web, product_id)) == ["RESUME", "SUSPEND"]

    # A change: the seats, checked against the offering's range as the customer types.
    card.get_by_role("button", name="Change").click()
    seats = card.get_by_label("Seats (required)")
    seats.fill("40")
    page.wait_for_selector(f'[data-product="{product_id}"] input[name="seats"][aria-invalid="true"]')
    assert "at most 25" in card.locator(".field-error:visible").inner_text()
    seats.fill("7")
    page.wait_for_selector(f'[data-product="{product_id}"] input[name="seats"]:not([aria-invalid])')
    send = card.get_by_role("button", name="Request this change")
    page.wait_for_function("id => !document.querySelector(`[data-product='${id}'] form.modify button`).disabled", arg=product_id)
    check_accessibility(page, "portal products, changing a product")
    send.click()
    support.wait_for(
        lambda: (
            {c["name"]: c["value"] for c in web.gql("customer", PRODUCT_CHARS, {"id": product_id})["node"]["characteristics"]}[
                "seats"
            ]
            == 7
        ),
        60,
        message="the seats change",
    )
    assert "MODIFY" in change_orders(web, product_id)

    # Disconnect is destructive: it asks first, and "Keep it" changes nothing.
    page.wait_for_selector(f'[data-product="{product_id}"] [data-action="disconnect"]', timeout=30_000)
    card.get_by_role("button", name="Disconnect").click()
    confirm = card.get_by_role("group", name=re.compile("^Disconnect"))
    assert "cannot be resumed" in confirm.inner_text()
    page.wait_for_selector(f'[data-product="{product_id}"] .confirm :text("charge")')
    check_accessibility(page, "portal products, confirming a disconnection")
    card.get_by_role("button", name="Keep it").click()
    assert card.locator(".confirm").count() == 0
    assert web.gql("customer", PRODUCT, {"id": product_id})["node"]["status"] == "ACTIVE"
    assert "DELETE" not in change_orders(web, product_id)


def test_customer_b_sees_nothing_of_customer_a(web, page):
    created = web.gql(
        "customer",
        CREATE,
        {
            "input": {
                "customerId": ACCOUNT_A,
                "requestedInitialState": "ACKNOWLEDGED",
                "lines": [
                    {"offering": FIBRE, "characteristics": [{"name": "installationAddress", "value": "3 Ocean Drive, Leith"}]}
                ],
            }
        },
    )["orderCreate"]
    assert created["errors"] == []
    order_a = created["order"]["id"]
    a_ids = {e["node"]["id"] for e in web.gql("customer", MY_ORDERS)["orders"]["edges"]}
    a_products = {
        e["node"]["id"] for e in web.gql("customer", "{ products(first: 100) { edges { node { id } } } }")["products"]["edges"]
    }
    assert order_a in a_ids

    web.open(page, "/my/orders", role="customer_b")
    shown = set(page.locator("[data-order]").evaluate_all("els => els.map(e => e.dataset.order)"))
    assert not shown & a_ids
    html = page.content()
    assert all(i not in html and unquote(i) not in html for i in a_ids)
    check_accessibility(page, "portal orders of customer B")

    page.goto(f"{web.url}/ui/#/my/products")
    wait_view(page, "/my/products")
    shown = set(page.locator("[data-product]").evaluate_all("els => els.map(e => e.dataset.product)"))
    assert not shown & a_products
    assert all(i not in page.content() for i in a_products)

    page.goto(f"{web.url}/ui/#/my/orders/{order_a}")
    wait_view(page, "/my/orders/:id")
    assert page.locator("main h1").inner_text() == "Not found"
    assert "3 Ocean Drive" not in page.content()
    number = base64.b64decode(order_a).decode().split(":")[1]
    assert f"Order {number}" not in page.locator("main").inner_text()


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"), page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
    )


def test_the_portal_on_a_phone(web, phone_page):
    page = phone_page
    web.open(page, "/shop", role="customer")
    no_horizontal_scroll(page)
    check_accessibility(page, "portal shop on a phone")

    page.locator(f'[data-offering="{FIBRE}"]').get_by_role("link", name="Configure and order").click()
    wait_view(page, "/shop/:key")
    address = page.get_by_label("Installation Address (required)")
    address.tap()
    address.fill("Harbour Road")
    page.wait_for_selector('textarea[name="installationAddress"][aria-invalid="true"]')
    address.fill("21 Harbour Road, Leith EH6 6LX")
    page.wait_for_selector('textarea[name="installationAddress"]:not([aria-invalid])')
    page.wait_for_selector('[data-total="oneTime"]')
    place = page.get_by_role("button", name="Place order")
    page.wait_for_function("() => !document.querySelector('.place button').disabled")
    box = place.bounding_box()
    assert box["height"] >= 40 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    no_horizontal_scroll(page)
    check_accessibility(page, "portal configure on a phone")
    screenshot(page, "portal-phone")

    place.tap()
    wait_view(page, "/my/orders/:id")
    page.wait_for_selector('[data-milestone="received"][data-status="done"]')
    no_horizontal_scroll(page)
    check_accessibility(page, "portal tracking on a phone")
    screenshot(page, "portal-phone-tracking")

    page.goto(f"{web.url}/ui/#/my/products")
    wait_view(page, "/my/products")
    no_horizontal_scroll(page)
