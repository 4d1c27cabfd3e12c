"""Browser tests of the workspace and portal (harness.py: the server, Chromium, sign-in, axe, screenshots)."""

from tests.web.harness import browser, page, phone_page, strict_page, web  # noqa: F401
