"""The workspace's orders: the list (filters, keyset paging, live state changes) and one order's
detail with the actions the role may take."""

from __future__ import annotations

import uuid

import pytest

from tests import support
from tests.web.harness import FIBRE_CHARACTERISTICS, ORDER_SUBMIT, check_accessibility, render_time, screenshot, wait_ready

pytestmark = pytest.mark.slow

STATE = "query($id: ID!) { order(id: $id) { state version domainOrders { tasks { id key state } } } }"


def _draft(web, customer: str) -> str:
    return web.place(customer, [{"offering": "fibre-broadband-500", "characteristics": FIBRE_CHARACTERISTICS}], submit=False)


def _state(web, order_id: str) -> dict:
    return web.gql("order_manager", STATE, {"id": order_id})["order"]


def test_the_list_filters_pages_and_follows_state_changes_live(web, page):
    customer = f"WEB-{uuid.uuid4().hex[:8]}"
    drafts = [_draft(web, customer) for _ in range(27)]
    web.open(page, f"/orders?customer={customer}", role="order_manager")
    assert render_time(page, "/orders") < 3000  # the figure that matters is in bench/ui.py
    check_accessibility(page, "the order list")
    screenshot(page, "orders")
    main = page.locator("main")
    assert "27 orders" in main.inner_text()
    assert page.locator("tbody tr").count() == 25
    page.get_by_role("button", name="Next page").click()
    page.wait_for_function("document.querySelectorAll('tbody tr').length === 2")
    page.get_by_role("button", name="Previous page").click()
    page.wait_for_function("document.querySelectorAll('tbody tr').length === 25")

    page.locator(".live:not(.off)").wait_for()
    newest = drafts[-1]
    row = page.locator(f'tr[data-order="{newest}"]')
    assert "draft" in row.inner_text()
    assert web.gql("order_agent", ORDER_SUBMIT, {"id": newest})["orderSubmit"]["errors"] == []
    page.wait_for_function(
        "id => !document.querySelector(`tr[data-order=\"${id}\"]`).innerText.includes('draft')", arg=newest, timeout=20_000
    )

    page.get_by_label("State").select_option(["DRAFT"])
    page.get_by_role("button", name="Apply").click()
    wait_ready(page)
    assert "state=DRAFT" in page.url and "26 orders" in main.inner_text()


def test_the_detail_shows_the_order_and_holds_resumes_and_revises_it(web, page):
    order_id = _draft(web, f"WEB-{uuid.uuid4().hex[:8]}")
    web.open(page, f"/orders/{order_id}", role="order_manager")
    main = page.locator("main")
    for heading in ("Summary", "Price", "Lines", "Versions", "Events"):
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
    page.get_by_role("button", name="Submit").click()
    support.wait_for(
        lambda: (
            (s := _state(web, order_id))
            and any(
                t["key"] == "tsm.onsite-installation" and t["state"] == "READY" for d in s["domainOrders"] for t in d["tasks"]
            )
        ),
        60,
        message="the plan",
    )
    page.wait_for_selector('tr[data-task="tsm.onsite-installation"][data-state="READY"]')  # live, no reload
    assert render_time(page, "/orders/:id") < 3000
    check_accessibility(page, "the order detail")
    screenshot(page, "order-detail")

    page.get_by_label("Hold reason").fill("customer asked to wait")
    page.get_by_role("button", name="Hold", exact=True).click()
    page.wait_for_selector("main .title-row .badge.state-held")
    assert _state(web, order_id)["state"] == "HELD"
    page.get_by_role("button", name="Resume").click()
    page.wait_for_selector("main .title-row .badge:not(.state-held)")
    support.wait_for(lambda: _state(web, order_id)["state"] != "HELD", 20, message="resumed")

    page.locator("main").get_by_label("Characteristic").fill("installationAddress")
    page.locator("main").get_by_label("New value").fill("14 Harbour Road, Leith")
    page.get_by_label("Revision reason").fill("the customer moved next door")
    page.get_by_role("button", name="Revise").click()
    page.get_by_role("heading", name="Revisions").wait_for()
    page.wait_for_function(
        "document.querySelectorAll('#s-versions ~ table tbody tr, section[aria-labelledby=\"s-versions\"] tbody tr').length >= 2",
        timeout=60_000,
    )
    page.get_by_label("From version").select_option("1")
    page.get_by_label("To version").select_option("2")
    page.get_by_role("button", name="Show diff").click()
    page.locator("section[aria-labelledby='s-versions'] table", has_text="installationAddress").wait_for()
    assert "12 Harbour Road" in main.inner_text() or "14 Harbour Road" in main.inner_text()


def test_a_viewer_sees_the_order_without_any_action(web, page):
    order_id = _draft(web, f"WEB-{uuid.uuid4().hex[:8]}")
    web.open(page, f"/orders/{order_id}", role="viewer")
    assert page.get_by_role("heading", name="Lines", exact=True).is_visible()
    assert page.get_by_role("heading", name="Actions").count() == 0
    assert page.get_by_role("button", name="Submit").count() == 0


def test_an_agent_cancels_a_running_order_from_its_detail(web, page):
    order_id = _draft(web, f"WEB-{uuid.uuid4().hex[:8]}")
    assert web.gql("order_agent", ORDER_SUBMIT, {"id": order_id})["orderSubmit"]["errors"] == []
    web.open(page, f"/orders/{order_id}", role="order_agent")
    assert page.get_by_role("button", name="Hold", exact=True).count() == 0  # order:hold is the managers'
    page.get_by_role("button", name="Request cancellation").click()
    assert page.get_by_label("Cancellation reason").evaluate("e => e.validity.valueMissing")  # the form asks first
    page.get_by_label("Cancellation reason").fill("the customer changed their mind")
    page.get_by_label("Reason type").select_option("COMMERCIAL")
    # The order's work goes on meanwhile: live redraws keep what the agent typed.
    page.wait_for_selector('tr[data-task="tsm.onsite-installation"][data-state="READY"]')
    assert page.get_by_label("Cancellation reason").input_value() == "the customer changed their mind"
    page.get_by_role("button", name="Request cancellation").click()
    page.get_by_role("heading", name="Cancellation requests").wait_for()
    support.wait_for(lambda: _state(web, order_id)["state"] == "CANCELLED", 60, message="the cancellation")
    page.wait_for_selector("main .title-row .badge.state-cancelled")  # live
    assert page.get_by_role("button", name="Request cancellation").count() == 0
