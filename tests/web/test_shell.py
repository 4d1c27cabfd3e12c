"""The shell: sign-in (token or demo role), navigation by permission, the security headers, and
nothing loaded from elsewhere."""

from __future__ import annotations

import httpx
import pytest

from tests import support
from tests.test_security_modes import idp  # noqa: F401
from tests.web.harness import check_accessibility, screenshot, wait_ready

pytestmark = pytest.mark.slow


def test_the_shell_is_served_with_a_strict_content_security_policy(web):
    home = httpx.get(web.url + "/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/ui/"
    shell = httpx.get(web.url + "/ui/")
    assert shell.status_code == 200 and "js/main.js" in shell.text
    assert "default-src 'self'" in shell.headers["content-security-policy"]
    assert httpx.get(web.url + "/ui/js/main.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))


def test_demo_sign_in_lists_the_roles_and_answers_a_token_per_role(web):
    listed = httpx.get(web.url + "/ui/demo-sign-in").json()
    labels = {r["label"] for r in listed["roles"]}
    assert listed["demo"] and {"order_manager", "customer", "customer_b"} <= labels
    answer = httpx.post(web.url + "/ui/demo-sign-in", json={"label": "order_manager"}).json()
    assert answer["token"] == web.tokens["order_manager"]
    assert httpx.post(web.url + "/ui/demo-sign-in", json={"label": "nobody"}).status_code == 400


def test_sign_in_with_a_token_and_navigation_follow_the_role(web, page):
    page.goto(f"{web.url}/ui/#/signin")
    wait_ready(page)
    check_accessibility(page, "sign-in")
    screenshot(page, "signin")
    page.get_by_label("API token or JWT").fill("not-a-token")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("alert").wait_for()
    page.get_by_label("API token or JWT").fill(web.tokens["order_fulfillment_agent"])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_selector('main[data-ready="true"]:not([data-view="/signin"])')
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="My tasks").is_visible()
    assert nav.get_by_role("link", name="Decision tables").count() == 1  # staff read them
    assert nav.get_by_role("link", name="Approvals").count() == 0  # not an approver


def test_a_customer_gets_the_portal_and_no_workspace_screen(web, page):
    web.open(page, "/shop", role="customer")
    page.goto(f"{web.url}/ui/#/orders")
    page.wait_for_selector('main[data-ready="missing"]')
    assert page.locator("main h1").inner_text() == "Not found"
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Shop").is_visible() and nav.get_by_role("link", name="Orders", exact=True).count() == 0


def test_the_workspace_runs_under_its_policy_and_no_request_leaves_the_server(web, strict_page):
    page = strict_page
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((web.url, web.url.replace("http", "ws"), "data:")) else foreign.append(r.url),
    )
    web.open(page, "/orders", role="order_manager")
    assert foreign == []


def test_sign_in_with_a_jwt_from_the_identity_provider(tmp_path, idp, page):  # noqa: F811
    jwks, sign = idp
    env = support.base_env(
        tmp_path,
        OM_GRAPH_DATABASE_URL=f"sqlite:///{tmp_path / 'om.db'}",
        OM_GRAPH_JWT_ISSUER="https://sso.example.test",
        OM_GRAPH_JWT_AUDIENCE="om-graph",
        OM_GRAPH_JWT_KEYS=jwks,
    )
    server, url = support.start_server(env, tmp_path)
    try:
        page.goto(f"{url}/ui/#/signin")
        wait_ready(page)
        expired = sign({"roles": ["customer"], "account_id": "ACME-SSO", "exp": 1})
        page.get_by_label("API token or JWT").fill(expired)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_role("alert").wait_for()
        page.get_by_label("API token or JWT").fill(sign({"roles": ["customer"], "account_id": "ACME-SSO", "sub": "bob"}))
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_selector('main[data-ready="true"][data-view="/shop"]')
        assert "Account ACME-SSO" in page.locator("#who").inner_text()
    finally:
        server.kill()
