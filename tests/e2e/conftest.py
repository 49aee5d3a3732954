"""Browser journeys: a Playwright page per persona, logged in through the login form.

Each test module defines ``committed_world`` (the data the live server sees); uploads go to the
test's own directory through the autouse ``_private_files`` fixture of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")

Login = Callable[[str], Any]  # username → a logged-in Playwright page of its own context


@pytest.fixture
def login(live_server, committed_world: World, monkeypatch) -> Iterator[Login]:
    """``login("sec_a")``: a page logged in through the login form, in a fresh browser context."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (make test)"
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # synchronous and safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    contexts = []
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )

        def make(username: str) -> Any:
            context = browser.new_context(
                locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
            )
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.locator("form:has(input[name=password]) [type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            return page

        yield make
        for context in contexts:
            context.close()
        browser.close()
    finally:
        playwright.stop()
