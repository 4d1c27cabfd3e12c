"""The staff queues in the browser: a fulfilment agent completes the on-site installation from
their work queue (with the values they recorded), an approver approves one order and rejects
another with a reason, and a fallout agent retries a failed task from the fallout dashboard (and
then skips it with the output entered by hand). Each screen is checked with axe and screenshotted."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests import support
from tests.web.harness import check_accessibility, screenshot

pytestmark = pytest.mark.slow

QUEUE = """
query($f: TaskQueueFilterInput) { tasks(filter: $f, first: 50) { edges { node { id key state assignee } } } }"""
RELEASE = "mutation($id: ID!) { taskRelease(input: {id: $id}) { task { assignee } errors { code message } } }"
TASK = "query($id: ID!) { node(id: $id) { ... on Task { id state completedBy attempts } } }"
ORDER = "query($id: ID!) { order(id: $id) { id state stage version } }"
PRODUCTS = "query($o: ID!) { products(orderId: $o) { edges { node { status characteristics { name value } } } } }"
APPROVALS = """
query($id: ID!) { order(id: $id) { id state stage approvals { round level state actor comment } } }"""
FALLOUTS = """
query($id: ID!) { order(id: $id) { fallouts { id state attempt version resolution note taskId } } }"""


def test_a_fulfilment_agent_completes_the_installation_work_order_from_their_queue(web, page):
    chars = [{"name": "bandwidth", "value": 500}, {"name": "installationAddress", "value": "7 Quay Street, Leith"}]
    order_id = web.place("CUST-WEB-TASKS", [{"offering": "fibre-broadband-500", "characteristics": chars}])

    def ready():
        edges = web.gql("order_fulfillment_agent", QUEUE, {"f": {"orderId": order_id, "myGroups": True}})["tasks"]["edges"]
        return [e["node"] for e in edges if e["node"]["key"] == "tsm.onsite-installation" and e["node"]["state"] == "READY"]

    [install] = support.wait_for(ready, 60, message="the on-site installation in the agents' queue")

    web.open(page, f"/tasks?order={quote(order_id)}", role="order_fulfillment_agent")
    row = page.locator('tr[data-key="tsm.onsite-installation"]')
    row.wait_for()
    assert "unassigned" in row.inner_text() and "Due" in page.locator("table.grid thead").inner_text()

    # Claim it: the queue shows it as mine, with Release instead of Claim.
    row.locator('[data-action="claim"]').click()
    row.locator('[data-action="release"]').wait_for()
    assert "me" in row.locator("td").nth(4).inner_text()
    assert (
        web.gql("order_fulfillment_agent", QUEUE, {"f": {"mine": True, "orderId": order_id}})["tasks"]["edges"][0]["node"]["id"]
        == install["id"]
    )
    # Live: released elsewhere (the API), the row says so; then claimed again here.
    released = web.gql("order_fulfillment_agent", RELEASE, {"id": install["id"]})["taskRelease"]
    assert released["errors"] == []
    row.locator('[data-action="claim"]').wait_for(timeout=20_000)
    assert "unassigned" in row.inner_text()
    row.locator('[data-action="claim"]').click()
    row.locator('[data-action="release"]').wait_for()

    # The completion form: the access line's values, a further value the specification refuses
    # (a typed error on the form), then the serial the technician recorded.
    row.locator('[data-action="complete"]').click()
    form = page.get_by_role("form", name="Complete On-site installation: fibre drop, wall outlet, ONT mounting")
    form.wait_for()
    line_id = form.get_by_label("accessLineId", exact=True)
    assert line_id.input_value().startswith("AL-")  # allocated before the visit
    form.get_by_role("button", name="Add a further value").click()
    form.get_by_label("Name (further value 1)").fill("ontSerialTypo")
    form.get_by_label("Value (further value 1)").fill("HWTC0000WEB1")
    form.get_by_role("button", name="Complete task").click()
    alert = form.get_by_role("alert")
    alert.wait_for()
    assert "UNKNOWN_CHARACTERISTIC" in alert.inner_text() and "ontSerialTypo" in alert.inner_text()
    assert form.get_by_label("Value (further value 1)").get_attribute("aria-invalid") == "true"
    assert web.gql("order_fulfillment_agent", TASK, {"id": install["id"]})["node"]["state"] == "READY"  # nothing changed

    form.get_by_label("Name (further value 1)").fill("")
    form.get_by_label("Value (further value 1)").fill("")
    line_id.fill("AL-WEB-PATCHED-7")
    check_accessibility(page, "my tasks, completing a work order")
    screenshot(page, "tasks")
    form.get_by_role("button", name="Complete task").click()
    form.wait_for(state="detached")

    task = support.wait_for(
        lambda: (t := web.gql("order_fulfillment_agent", TASK, {"id": install["id"]})["node"])["state"] == "COMPLETED" and t,
        30,
        message="the task completed",
    )
    assert task["completedBy"] == "token:demo-order_fulfillment_agent"
    support.wait_for(
        lambda: web.gql("order_agent", ORDER, {"id": order_id})["order"]["state"] == "COMPLETED",
        60,
        message="the order completed",
    )
    [product] = web.gql("order_agent", PRODUCTS, {"o": order_id})["products"]["edges"]
    values = {c["name"]: c["value"] for c in product["node"]["characteristics"]}
    assert values["accessLineId"] == "AL-WEB-PATCHED-7"  # what the agent entered
    # Live: the completed task leaves the queue (READY and IN_PROGRESS only).
    row.wait_for(state="detached", timeout=20_000)


def _discounted(web, customer: str) -> str:
    line = {
        "offering": "mobile-plan-20gb",
        "priceAdjustments": [{"kind": "DISCOUNT", "chargeType": "recurring", "percentage": "15", "reason": "retention offer"}],
    }
    return web.place(customer, [line])


def test_an_approver_approves_one_order_and_rejects_another_with_a_reason(web, page):
    def waiting(order_id):
        support.wait_for(
            lambda: web.gql("order_approver", ORDER, {"id": order_id})["order"]["stage"] == "APPROVAL_WAITING",
            30,
            message="approval waiting",
        )

    approve_id = _discounted(web, "CUST-WEB-APPROVE")
    waiting(approve_id)
    web.open(page, "/approvals", role="order_approver")
    page.locator(f'article[data-order="{approve_id}"]').wait_for()
    # Live: an order submitted while the screen is open joins the list.
    reject_id = _discounted(web, "CUST-WEB-REJECT")
    waiting(reject_id)
    approve_card = page.locator(f'article[data-order="{approve_id}"]')
    reject_card = page.locator(f'article[data-order="{reject_id}"]')
    approve_card.wait_for()
    reject_card.wait_for()
    text = approve_card.inner_text()
    assert "over the agent's limit" in text and "15 %" in text and "retention offer" in text
    assert "a manual discount over 10 %" in text  # why it needs approval
    check_accessibility(page, "approvals")
    screenshot(page, "approvals")

    approve_card.get_by_label("Comment, or the reason for a rejection").fill("retention approved")
    approve_card.get_by_role("button", name="Approve").click()
    approve_card.wait_for(state="detached")
    approved = web.gql("order_approver", APPROVALS, {"id": approve_id})["order"]
    assert approved["stage"] != "APPROVAL_WAITING"
    assert [(a["state"], a["comment"]) for a in approved["approvals"]] == [("APPROVED", "retention approved")]

    # A rejection needs a reason: refused here first, then sent back with it.
    reject_card.get_by_role("button", name="Reject").click()
    assert "REQUIRED" in reject_card.get_by_role("alert").inner_text()
    assert web.gql("order_approver", ORDER, {"id": reject_id})["order"]["stage"] == "APPROVAL_WAITING"
    reject_card.get_by_label("Comment, or the reason for a rejection").fill("15 % needs a manager")
    reject_card.get_by_role("button", name="Reject").click()
    reject_card.wait_for(state="detached")
    rejected = web.gql("order_approver", APPROVALS, {"id": reject_id})["order"]
    assert rejected["state"] == "DRAFT"
    assert [(a["state"], a["comment"]) for a in rejected["approvals"]] == [("REJECTED", "15 % needs a manager")]


def test_a_fallout_agent_retries_a_failed_task_from_the_dashboard_then_skips_it(web, page):
    port_in = [
        {"name": "portIn", "value": True},
        {"name": "portInNumber", "value": "1234567"},  # passes the capture pattern, not E.164: the network refuses it
        {"name": "donorOperator", "value": "Odido"},
    ]
    order_id = web.place("CUST-WEB-FALLOUT", [{"offering": "mobile-plan-20gb", "characteristics": port_in}])
    [record] = support.wait_for(
        lambda: [
            f for f in web.gql("order_fallout_agent", FALLOUTS, {"id": order_id})["order"]["fallouts"] if f["state"] == "OPEN"
        ],
        60,
        message="a fallout record",
    )
    before = web.gql("order_fallout_agent", TASK, {"id": record["taskId"]})["node"]["attempts"]

    web.open(page, "/fallout", role="order_fallout_agent")
    row = page.locator(f'tr[data-fallout-row="{record["id"]}"]')
    row.wait_for()
    assert "INVALID_NUMBER" in row.inner_text() and "attempt 1" in row.inner_text()
    assert int(page.locator(".summary").get_attribute("data-total")) >= 1
    by_type = page.locator("table.bars", has_text="By type").locator('tr[data-bar="provisioning"]')
    assert int(by_type.locator(".bar-value").inner_text()) >= 1
    assert int(page.locator("table.bars", has_text="By age").locator('tr[data-bar="lt1h"] .bar-value').inner_text()) >= 1
    # An agent does not manage: no give up, no reassign.
    row.locator('[data-action="open"]').click()
    panel = page.locator(f'[data-fallout-panel="{record["id"]}"]')
    panel.wait_for()
    assert (
        panel.locator('[data-action="give-up"]').count() == 0 and panel.get_by_text("Reassign to a person or group").count() == 0
    )
    check_accessibility(page, "fallout dashboard")
    screenshot(page, "fallout")

    panel.get_by_label("Note", exact=True).fill("retrying after the network's maintenance window")
    panel.locator('[data-action="retry"]').click()

    # The handler runs again (same idempotency key, attempts counting on) and fails again: the
    # record is open once more with the new attempt, and the screen shows it (live).
    again = support.wait_for(
        lambda: [
            f
            for f in web.gql("order_fallout_agent", FALLOUTS, {"id": order_id})["order"]["fallouts"]
            if f["id"] == record["id"] and f["state"] == "OPEN" and f["attempt"] > record["attempt"]
        ],
        30,
        message="the retried attempt",
    )[0]
    assert again["version"] > record["version"]
    assert web.gql("order_fallout_agent", TASK, {"id": record["taskId"]})["node"]["attempts"] > before
    page.locator(f'[data-fallout-panel="{record["id"]}"]', has_text=f"attempt {again['attempt']}").wait_for(timeout=20_000)

    # The customer confirms the right number: the agent skips the allocation with its output.
    panel = page.locator(f'[data-fallout-panel="{record["id"]}"]')
    panel.get_by_text("Skip: complete the task with its outputs entered by hand").click()
    skip = panel.get_by_role("form", name="Skip the task")
    skip.get_by_role("button", name="Add a further value").click()
    skip.get_by_label("Name (further value 1)").fill("msisdn")
    skip.get_by_label("Value (further value 1)").fill("31612345678")
    skip.get_by_role("button", name="Skip with these outputs").click()
    support.wait_for(
        lambda: [
            f
            for f in web.gql("order_fallout_agent", FALLOUTS, {"id": order_id})["order"]["fallouts"]
            if f["id"] == record["id"] and f["state"] == "RESOLVED" and f["resolution"] == "skipped"
        ],
        30,
        message="the record resolved by the skip",
    )
    assert web.gql("order_fallout_agent", TASK, {"id": record["taskId"]})["node"]["state"] == "COMPLETED"
    page.locator(f'[data-fallout-panel="{record["id"]}"]', has_text="skipped").wait_for()
