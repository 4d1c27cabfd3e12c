"""The browser tests' harness: one real `om-graph serve` (embedded: SQLite, in-process workers, the
demo catalog from the installed packs) for the session, Debian's Chromium driven by Playwright
(no browser download), demo sign-in, axe-core checks and screenshots saved as artifacts.

Screenshots go to ``artifacts/screenshots`` (``OM_GRAPH_ARTIFACTS`` overrides the folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests import support

CHROMIUM = os.environ.get("OM_GRAPH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("OM_GRAPH_ARTIFACTS", support.ROOT / "artifacts")) / "screenshots"
# Chromium as root in a container, and no traffic beyond localhost (this machine's network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
ORDER_CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } errors { field code message } } }"""
ORDER_SUBMIT = "mutation($id: ID!) { orderSubmit(input: {id: $id}) { order { state } errors { code message } } }"
FIBRE_CHARACTERISTICS = [{"name": "bandwidth", "value": 500}, {"name": "installationAddress", "value": "12 Harbour Road, Leith"}]


def chromium_path() -> str:
    found = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI requires {message}", pytrace=False)
        pytest.skip(message)
    return found


class Web:
    """The server under test and what the browser tests do with it."""

    def __init__(self, url: str, tokens: dict[str, str]):
        self.url = url
        self.tokens = tokens

    def gql(self, role: str, query: str, variables: dict | None = None) -> dict:
        """A GraphQL call as a demo role (setting up data the way any client could)."""
        return support.GraphQLClient(self.url, self.tokens[role])(query, variables or {})

    def place(self, customer: str, lines: list[dict], *, role: str = "order_agent", submit: bool = True) -> str:
        """An order created (and submitted) through the API, as any client would: its id."""
        created = self.gql(role, ORDER_CREATE, {"input": {"customerId": customer, "lines": lines}})["orderCreate"]
        assert created["errors"] == [], created["errors"]
        order_id = created["order"]["id"]
        if submit:
            submitted = self.gql(role, ORDER_SUBMIT, {"id": order_id})["orderSubmit"]
            assert submitted["errors"] == [] and submitted["order"]["state"] == "ACKNOWLEDGED", submitted
        return order_id

    def open(self, page, path: str = "/", *, role: str | None = None) -> None:
        """Open a screen (``#/orders``), signed in as a demo role (the sign-in screen's buttons)."""
        if role is not None:
            page.goto(f"{self.url}/ui/#/signin")
            page.locator(f'button[data-role="{role}"]').click()
            page.wait_for_selector('main[data-ready="true"]:not([data-view="/signin"])')
        page.goto(f"{self.url}/ui/#{path}")
        wait_ready(page, path=path)


def wait_ready(page, timeout: float = 15_000, path: str | None = None) -> None:
    """Until the screen in <main> has rendered (router.js sets data-ready), the one at ``path``
    (its address after the #) when given: not the screen before it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    selector = 'main[data-ready="true"]' + (f'[data-path="{path}"]' if path else "")
    try:
        page.wait_for_selector(selector, timeout=timeout)
    except PlaywrightTimeout:
        main = page.locator("main")
        state = main.get_attribute("data-ready")
        raise AssertionError(f"the screen did not render (data-ready={state!r}): {main.inner_text()[:2000]}") from None


def render_time(page, view: str) -> float:
    """Milliseconds the router measured for the last render of ``view`` (its route pattern)."""
    return page.evaluate("view => window.omRenderTimes[view]", view)


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def check_accessibility(page, context: str) -> None:
    """axe-core (the axe-playwright-python package's copy) over the page as it is now: no violation
    of WCAG 2 A/AA rules."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    violations = results.response["violations"]
    summary = [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"], "targets": [n["target"] for n in v["nodes"][:5]]}
        for v in violations
    ]
    assert not violations, f"axe-core on {context}:\n" + json.dumps(summary, indent=2)


@pytest.fixture(scope="session")
def web(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("web")
    env = support.base_env(log_dir, OM_GRAPH_DATABASE_URL=f"sqlite:///{log_dir / 'om.db'}")
    server, url = support.start_server(env, log_dir)
    try:
        yield Web(url, support.demo_tokens(log_dir))
    finally:
        server.kill()


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def _page(browser, *, strict: bool = False, **context_options):
    """A fresh browser context (its own session storage: its own sign-in) and its page; script
    errors on the page, and under ``strict`` CSP violations, fail the test."""
    context = browser.new_context(**context_options, bypass_csp=not strict)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    if strict:
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors or CSP violations on the page: {errors}"


@pytest.fixture
def page(browser):
    """A desktop page. It bypasses the pages' Content-Security-Policy, which forbids eval, so that
    Playwright may evaluate scripts in them; ``strict_page`` keeps it."""
    with _page(browser, viewport={"width": 1400, "height": 900}) as p:
        yield p


@pytest.fixture
def strict_page(browser):
    """A page under the server's Content-Security-Policy as sent (Playwright may not evaluate
    scripts in it: selectors only)."""
    with _page(browser, strict=True, viewport={"width": 1400, "height": 900}) as p:
        yield p


@pytest.fixture
def phone_page(browser):
    with _page(browser, viewport=PHONE, is_mobile=True, has_touch=True) as p:
        yield p
