"""The process admin screens: decision tables (list, one table, the draft grid, tests, activation,
read only for other staff), the catalog with its price lists, and the installed packs."""

from __future__ import annotations

import uuid

import pytest

from tests.web.harness import check_accessibility, screenshot, wait_ready

pytestmark = pytest.mark.slow

TABLE = """query($name: String!) { decisionTable(name: $name) {
  activeVersion { number comment rules { index description then { column value } when { column op values } } }
  draft { number } audit(first: 1) { action toVersion reason } } }"""
CREATE = """mutation($input: DecisionTableCreateInput!) { decisionTableCreate(input: $input) {
  table { name draft { number } } errors { field code message } } }"""
ACTIVATE = """mutation($input: DecisionTableActivateInput!) { decisionTableActivate(input: $input) {
  table { activeVersion { number } } errors { field code message } } }"""


def new_table(web) -> str:
    """A table of this test's own (the server is shared by every browser test), active at v1."""
    name = f"webtest.deliveryFee{uuid.uuid4().hex[:8]}"
    created = web.gql(
        "process_admin",
        CREATE,
        {
            "input": {
                "name": name,
                "description": "Delivery fee (browser test)",
                "hitPolicy": "FIRST",
                "inputs": [{"name": "country", "type": "STRING"}, {"name": "weightKg", "type": "NUMBER"}],
                "outputs": [{"name": "fee", "type": "NUMBER", "default": "0"}],
                "rules": [
                    {
                        "when": [
                            {"column": "country", "op": "IN", "values": ["DE", "FR"]},
                            {"column": "weightKg", "op": "RANGE", "maximum": "5"},
                        ],
                        "then": [{"column": "fee", "value": "4.90"}],
                        "description": "light, nearby",
                    },
                    {
                        "when": [{"column": "country", "op": "IN", "values": ["DE", "FR"]}],
                        "then": [{"column": "fee", "value": "9.90"}],
                        "description": "nearby",
                    },
                ],
                "comment": "first cut",
            }
        },
    )["decisionTableCreate"]
    assert created["errors"] == []
    activated = web.gql("process_admin", ACTIVATE, {"input": {"name": name, "version": 1, "reason": "launch"}})
    assert activated["decisionTableActivate"]["errors"] == []
    return name


def test_a_process_admin_edits_tests_and_activates_a_draft(web, page):
    name = new_table(web)
    web.open(page, "/admin/decisions", role="process_admin")
    row = page.locator(f'tr[data-table="{name}"]')
    assert "v1" in row.inner_text() and "no draft" in row.inner_text()
    assert page.locator('tr[data-table="tsm.fibreMonthlyPrice"]').count() == 1
    check_accessibility(page, "decision tables")
    screenshot(page, "decision-tables")

    row.get_by_role("link", name=name).click()
    wait_ready(page)
    assert page.locator("main h1").inner_text() == name
    active = page.locator("table.dt-rules")
    assert "one of DE, FR" in active.inner_text() and "≤ 5" in active.inner_text()

    page.get_by_role("button", name="Start a draft from version 1").click()
    # a wrong value: the server's typed error is shown at the cell it names
    page.get_by_label("Rule 1, when weightKg: test").select_option("EQUALS")
    page.get_by_label("Rule 1, when weightKg: value").fill("heavy")
    page.get_by_role("button", name="Save draft").click()
    cell_error = page.locator('tr:has(th:text-is("1")) .cell-error')
    cell_error.wait_for()
    assert "VALUE_TYPE_MISMATCH" in cell_error.inner_text()
    assert page.get_by_label("Rule 1, when weightKg: value").get_attribute("aria-invalid") == "true"
    assert "Rule 1 · when weightKg · value" in page.locator(".dt-summary").inner_text()
    check_accessibility(page, "the draft grid with errors")

    # fix it, change a cell, add a rule and move it up
    page.get_by_label("Rule 1, when weightKg: test").select_option("RANGE")
    page.get_by_label("Rule 1, when weightKg: maximum (empty: open)").fill("5")
    page.get_by_label("Rule 2, then fee (empty: the default)").fill("7.50")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_label("Rule 3, then fee (empty: the default)").fill("19.00")
    page.get_by_label("Rule 3: description").fill("anywhere else")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_label("Rule 4, when country: test").select_option("EQUALS")
    page.get_by_label("Rule 4, when country: value").fill("CH")
    page.get_by_label("Rule 4, then fee (empty: the default)").fill("12.00")
    page.get_by_role("button", name="Move rule 4 up").click()  # before the catch-all
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("heading", name="Draft version 2").wait_for()
    draft_rules = page.locator("section:has(h2:text-is('Draft version 2')) table.dt-rules").inner_text()
    assert "7.50" in draft_rules and "= CH" in draft_rules and "19.00" in draft_rules
    saved = web.gql("process_admin", TABLE, {"name": name})["decisionTable"]
    assert saved["draft"]["number"] == 2 and saved["activeVersion"]["number"] == 1

    # test the draft with inputs generated from its columns
    test = page.locator("form[aria-label='Test with inputs']")
    test.get_by_label("country (string)").fill("FR")
    test.get_by_label("weightKg (number)").fill("7.5")
    test.get_by_role("button", name="Run test").click()
    hit = page.locator(".dt-results tr[data-hit]")
    hit.wait_for()
    assert hit.count() == 1 and "Rule 2" in hit.inner_text() and "fee = 7.50" in hit.inner_text()
    test.get_by_label("country (string)").fill("CH")
    test.get_by_role("button", name="Run test").click()
    page.locator(".dt-results tr[data-hit='2']").wait_for()
    assert "fee = 12.00" in page.locator(".dt-results").inner_text()
    marked = page.locator("table.dt-rules[data-version='2'] tr.dt-hit")
    assert marked.count() == 1 and "matched" in marked.inner_text() and "= CH" in marked.inner_text()
    check_accessibility(page, "a decision table with its draft and a test result")
    screenshot(page, "decision-table")

    # activate it
    page.get_by_label("Reason (activate version 2)").fill("cheaper abroad")
    page.get_by_role("button", name="Activate version 2").click()
    page.get_by_role("heading", name="Active version 2").wait_for()
    table = web.gql("process_admin", TABLE, {"name": name})["decisionTable"]
    assert table["activeVersion"]["number"] == 2 and table["draft"] is None
    rules = table["activeVersion"]["rules"]
    assert [r["then"] for r in rules] == [
        [{"column": "fee", "value": "4.90"}],
        [{"column": "fee", "value": "7.50"}],
        [{"column": "fee", "value": "12.00"}],
        [{"column": "fee", "value": "19.00"}],
    ]
    assert rules[0]["when"][0] == {"column": "country", "op": "IN", "values": ["DE", "FR"]}
    assert rules[3]["when"] == [] and rules[3]["description"] == "anywhere else"
    assert table["audit"][0] == {"action": "activated", "toVersion": 2, "reason": "cheaper abroad"}

    # and roll back to version 1
    rollback = page.locator("form[aria-label='Roll back']")
    rollback.get_by_label("Make active again").select_option("1")
    rollback.get_by_label("Reason (roll back)").fill("the week is over")
    rollback.get_by_role("button", name="Roll back").click()
    page.get_by_role("heading", name="Active version 1").wait_for()
    table = web.gql("process_admin", TABLE, {"name": name})["decisionTable"]
    assert table["activeVersion"]["number"] == 1
    assert table["audit"][0] == {"action": "rolledBack", "toVersion": 1, "reason": "the week is over"}
    assert "rolledBack" in page.locator("section:has(h2:text-is('Audit trail'))").inner_text()


def test_a_process_admin_creates_a_table_and_sees_its_typed_errors(web, page):
    name = f"webtest.created{uuid.uuid4().hex[:8]}"
    web.open(page, "/admin/decisions", role="process_admin")
    page.locator("details.dt-create > summary").click()
    form = page.locator("form[aria-label='New decision table']")
    form.get_by_label("Name", exact=True).fill("not a name!")
    form.get_by_label("Input column 1: name").fill("segment")
    form.get_by_label("Output column 1: name").fill("discount")
    form.get_by_label("Output column 1: type").select_option("INTEGER")
    form.get_by_label("Output column 1: default").fill("ten")
    form.get_by_role("button", name="Create table").click()
    page.locator(".dt-summary").wait_for()
    assert "INVALID_TABLE_NAME" in page.locator(".dt-summary").inner_text()
    assert form.get_by_label("Name", exact=True).get_attribute("aria-invalid") == "true"
    assert form.get_by_label("Output column 1: default").get_attribute("aria-invalid") == "true"
    assert "Output column 1 · default" in page.locator(".dt-summary").inner_text()
    check_accessibility(page, "the create form with errors")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Output column 1: default").fill("0")
    form.get_by_role("button", name="Add input column").click()
    form.get_by_label("Input column 2: name").fill("quantity")
    form.get_by_label("Input column 2: type").select_option("INTEGER")
    form.get_by_role("button", name="Create table").click()
    page.wait_for_selector('main[data-ready="true"][data-view="/admin/decisions/:name"]')
    page.get_by_role("heading", name="Draft version 1").wait_for()
    created = web.gql(
        "process_admin",
        "query($name: String!) { decisionTable(name: $name) { draft { number inputs { name type } outputs { name type default } } } }",
        {"name": name},
    )["decisionTable"]
    assert created["draft"]["inputs"] == [{"name": "segment", "type": "STRING"}, {"name": "quantity", "type": "INTEGER"}]
    assert created["draft"]["outputs"] == [{"name": "discount", "type": "INTEGER", "default": 0}]


def test_the_admin_screens_run_under_the_content_security_policy(web, strict_page):
    page = strict_page
    web.open(page, "/admin/decisions/order.priority", role="process_admin")
    page.get_by_role("button", name="Start a draft from version 1").click()
    page.get_by_label("Rule 1, when daysToRequested: test").select_option("RANGE")
    page.get_by_role("button", name="Add rule").click()
    for path in ("/admin/decisions", "/admin/catalog", "/admin/packs"):
        web.open(page, path)


def test_a_stale_draft_is_refused_and_shown(web, page):
    name = new_table(web)
    web.open(page, f"/admin/decisions/{name}", role="process_admin")
    page.get_by_role("button", name="Start a draft from version 1").click()
    page.get_by_label("Rule 1, then fee (empty: the default)").fill("5.00")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("heading", name="Draft version 2").wait_for()
    page.get_by_role("button", name="Edit draft 2").click()
    # meanwhile another admin discards draft 2 and opens draft 3
    discard = """mutation($name: String!) { decisionTableDraftDiscard(input: {name: $name, version: 2, reason: "no"}) { errors { code } } }"""
    assert web.gql("process_admin", discard, {"name": name})["decisionTableDraftDiscard"]["errors"] == []
    update = (
        """mutation($input: DecisionTableDraftUpdateInput!) { decisionTableDraftUpdate(input: $input) { errors { code } } }"""
    )
    body = {
        "name": name,
        "hitPolicy": "FIRST",
        "inputs": [{"name": "country", "type": "STRING"}, {"name": "weightKg", "type": "NUMBER"}],
        "outputs": [{"name": "fee", "type": "NUMBER", "default": "0"}],
        "rules": [],
    }
    assert web.gql("process_admin", update, {"input": body})["decisionTableDraftUpdate"]["errors"] == []
    page.get_by_label("Rule 1, then fee (empty: the default)").fill("6.00")
    page.get_by_role("button", name="Save draft").click()
    summary = page.locator(".dt-summary")
    summary.wait_for()
    assert "STALE_DRAFT" in summary.inner_text() and "draft changed" in summary.inner_text()
    page.get_by_role("button", name="Reload the table (your edits are lost)").click()
    page.get_by_role("heading", name="Draft version 3").wait_for()


def test_other_staff_read_a_table_without_edit_controls(web, page):
    web.open(page, "/admin/decisions/tsm.fibreMonthlyPrice", role="order_manager")
    main = page.locator("main")
    assert "read only" in main.inner_text()
    rules = page.locator("table.dt-rules")
    assert "= 500" in rules.inner_text() and "44.95" in rules.inner_text()
    assert "unique" in page.locator("section:has(h2:text-matches('Active version'))").inner_text()
    assert main.locator("button:text-matches('Edit draft|Start a draft')").count() == 0
    assert main.get_by_role("button", name="Save draft").count() == 0
    assert main.get_by_role("heading", name="Test with inputs").count() == 0
    assert main.locator("form").count() == 0 and main.locator("input, select").count() == 0
    assert main.locator("button:text-matches('Activate|Discard|Roll back')").count() == 0
    page.get_by_role("button", name="Show version 1").click()
    page.locator(".dt-version-detail table.dt-rules").wait_for()
    check_accessibility(page, "a decision table, read only")
    web.open(page, "/admin/decisions")
    assert page.locator("details.dt-create").count() == 0  # no create form either


def test_the_catalog_shows_offerings_characteristics_and_prices(web, page):
    web.open(page, "/admin/catalog", role="process_admin")
    fibre = page.locator('details[data-offering="fibre-broadband-500"]')
    assert fibre.get_attribute("open") is None
    page.locator(".cat-keys").get_by_role("link", name="Fibre Broadband 500", exact=True).click()
    assert fibre.get_attribute("open") == ""
    text = fibre.inner_text()
    for expected in (
        "Fibre Broadband 500",
        "tsm.fibre-broadband",
        "bandwidth",
        "installationAddress",
        "contractTermMonths",
        "one of 12, 24, 36",
    ):
        assert expected in text, expected
    assert "Fibre monthly fee" in text and "tsm.fibreMonthlyPrice" in text and "49.00" in text
    assert "month" in text and "tsm-standard-eur" in text
    # a dependent constraint (mobile: a port-in names its number)
    page.get_by_role("button", name="Open all offerings").click()
    assert "when portIn is true" in page.locator("#cat-offerings").inner_text()
    page.get_by_role("button", name="Close all offerings").click()
    page.locator(".cat-keys").get_by_role("link", name="Fibre Broadband 500", exact=True).click()
    lists = page.locator("#cat-price-lists")
    page.get_by_role("button", name="Open all price lists").click()
    tsm = lists.locator('details[data-price-list="tsm-standard-eur"]').inner_text()
    assert "EUR" in tsm and "19 %" in tsm and "exclude tax" in tsm and "everyone" in tsm
    assert "Fibre Broadband 500\tFibre monthly fee" in tsm  # each price with its offering
    check_accessibility(page, "catalog")
    screenshot(page, "catalog")
    fibre.get_by_role("link", name="tsm.fibreMonthlyPrice").click()
    wait_ready(page)
    assert page.locator("main h1").inner_text() == "tsm.fibreMonthlyPrice"


def test_the_catalog_without_price_read_shows_no_price_list(web, page):
    web.open(page, "/admin/catalog", role="order_fulfillment_agent")
    assert page.locator('details[data-offering="fibre-broadband-500"]').count() == 1
    assert page.locator("#cat-price-lists").count() == 0
    assert "price:read" in page.locator("main").inner_text()


def test_the_packs_screen_lists_the_packs_with_their_hooks(web, page):
    web.open(page, "/admin/packs", role="process_admin")
    for pack in ("tsm", "tpsm"):
        article = page.locator(f'article[data-pack="{pack}"]')
        text = article.inner_text()
        assert f"om-graph-{pack}" in text
        for hook in ("om_register_catalog", "om_register_decision_tables", "om_register_task_handlers"):
            assert hook in text, (pack, hook)
    assert "tsm.fibreMonthlyPrice" in page.locator('article[data-pack="tsm"]').inner_text()
    check_accessibility(page, "packs")
    screenshot(page, "packs")
